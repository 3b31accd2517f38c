// ONNX Runtime's own profile (session option enableProfiling): a Chrome-trace JSON array of events; node kernel
// runs are category "Node" named "<node>_kernel_time" with args.op_name. Read here for summaries and the bench trace.
import { readFileSync } from 'node:fs';

export interface OrtEvent {
  cat: string; name: string; ph: string; ts: number; dur: number; pid: number; tid: number;
  args?: Record<string, unknown>;
}

export function readOrtProfile(path: string): OrtEvent[] {
  const parsed = JSON.parse(readFileSync(path, 'utf8'));
  const events = Array.isArray(parsed) ? parsed : parsed?.traceEvents;
  if (!Array.isArray(events)) throw new TypeError(`${path} is not an ONNX Runtime profile (no event array)`);
  return events as OrtEvent[];
}

export interface OpTotal { op: string; calls: number; us: number }

/** Kernel time per operator type, largest first (us summed over the profile's runs). */
export function opTotals(events: OrtEvent[]): OpTotal[] {
  const by = new Map<string, OpTotal>();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const op = String(e.args?.op_name ?? '?');
    const t = by.get(op) ?? { op, calls: 0, us: 0 };
    t.calls++;
    t.us += e.dur;
    by.set(op, t);
  }
  return [...by.values()].sort((a, b) => b.us - a.us);
}
