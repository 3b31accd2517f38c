// `hybridgl bench --trace`: a Chrome trace (Perfetto, chrome://tracing) of the pipeline — one track per stage, one
// for the native kernel calls (argument sizes, GB/s), and ONNX Runtime's per-node profile of each session merged
// in — and the per-model FLOP and byte counts read from the shapes in that profile.
import { readFileSync } from 'node:fs';

import { setKernelTraceHook } from '../../bindings/kernelTrace.ts';
import { setStageObserver } from '../pipeline/timing.ts';
import type { OrtEvent } from './ortProfile.ts';

export interface TraceEvent {
  name: string; ph: 'X' | 'M'; pid: number; tid: number; ts: number; dur?: number; cat?: string;
  args?: Record<string, unknown>;
}

const PIPELINE_PID = 1, KERNEL_TID = 1000;

/** Records stages and native calls from now until stop(); events carry performance.now() times in µs. */
export function startTrace(): { events: TraceEvent[]; stop(): void } {
  const events: TraceEvent[] = [];
  const tids = new Map<string, number>();
  const tidOf = (stage: string) => {
    let t = tids.get(stage);
    if (t === undefined) {
      tids.set(stage, (t = tids.size + 1));
      events.push({ name: 'thread_name', ph: 'M', pid: PIPELINE_PID, tid: t, ts: 0, args: { name: `stage ${stage}` } });
    }
    return t;
  };
  events.push({ name: 'process_name', ph: 'M', pid: PIPELINE_PID, tid: 0, ts: 0, args: { name: 'hybridgl pipeline' } });
  events.push({ name: 'thread_name', ph: 'M', pid: PIPELINE_PID, tid: KERNEL_TID, ts: 0, args: { name: 'native kernels' } });
  const previous = setStageObserver({
    start: () => {},
    end: (name, t0, t1) => events.push({ name, ph: 'X', cat: 'stage', pid: PIPELINE_PID, tid: tidOf(name), ts: t0 * 1000, dur: (t1 - t0) * 1000 }),
  });
  const previousHook = setKernelTraceHook(({ name, sizes, bytes, startMs, endMs }) => {
    events.push({ name, ph: 'X', cat: 'kernel', pid: PIPELINE_PID, tid: KERNEL_TID, ts: startMs * 1000,
      dur: (endMs - startMs) * 1000, args: { sizes, bytes, 'GB/s': endMs > startMs ? bytes / ((endMs - startMs) * 1e6) : null } });
  });
  return {
    events,
    stop() {
      setStageObserver(previous);
      setKernelTraceHook(previousHook);
    },
  };
}

/** Where a profile's time 0 sits on the process's performance.now() clock (ms): its session_initialization
 *  event ends when the session's creation returned (`readyAt`). */
export function ortClockOrigin(events: OrtEvent[], readyAtMs: number): number {
  const init = events.find((e) => e.cat === 'Session' && e.name === 'session_initialization');
  return readyAtMs - (init ? (init.ts + init.dur) / 1000 : 0);
}

/** An ORT node's kernel event named for people: operator, where in the model (the node's module path without the
 *  exporter's instance name) and its first output's shape ('scalar' for none), e.g. `MatMul blocks.0/attn 1×4096×768`. ORT's own name
 *  stays in args.node. */
export function readableNodeName(e: OrtEvent): string {
  const node = e.name.replace(/_kernel_time$/, '');
  const parts = node.split('/').filter(Boolean);
  const where = parts.slice(0, -1).join('/');
  const out = shapes(e.args?.output_type_shape)[0];
  const shape = out === undefined ? '' : out.length === 0 ? 'scalar' : out.join('×');
  return [String(e.args?.op_name ?? parts.at(-1) ?? node), where, shape].filter(Boolean).join(' ');
}

/** ONNX Runtime's events of one session, moved onto the pipeline's clock (µs) as process `pid`; node kernels named
 *  by readableNodeName. */
export function ortTrackEvents(model: string, path: string, readyAtMs: number, pid: number): TraceEvent[] {
  const raw = JSON.parse(readFileSync(path, 'utf8')) as OrtEvent[];
  const startedAtMs = ortClockOrigin(raw, readyAtMs);
  const out: TraceEvent[] = [{ name: 'process_name', ph: 'M', pid, tid: 0, ts: 0, args: { name: `onnxruntime ${model}` } }];
  for (const e of raw)
    if (e.ph === 'X') {
      const kernel = e.cat === 'Node' && e.name.endsWith('_kernel_time');
      out.push({ name: kernel ? readableNodeName(e) : e.name, ph: 'X', cat: e.cat, pid, tid: e.tid, ts: startedAtMs * 1000 + e.ts,
        dur: e.dur, args: kernel ? { ...e.args, node: e.name } : e.args });
    }
  return out;
}

type Shape = number[];
function shapes(list: unknown): Shape[] {
  return Array.isArray(list) ? list.map((o) => (Object.values(o as Record<string, Shape>)[0] ?? [])) : [];
}
const prod = (s: Shape) => s.reduce((a, b) => a * b, 1);
const ELEMENT_BYTES: Record<string, number> = { float: 4, float16: 2, bfloat16: 2, int64: 8, int32: 4, int8: 1, uint8: 1, bool: 1, double: 8 };

/** Multiply-add FLOPs (2 per multiply-add) of the matrix-product and convolution nodes, from their shapes. ORT lists
 *  only non-constant inputs, so the inner size comes from the first input (transposed when its last size is the
 *  output's rows) and a convolution whose weights are constants is counted as kernel = stride (SAM's and CLIP's patch
 *  embeddings, SAM's 2×2 up-scaling), the kernel read off the size ratio. */
export function nodeFlops(op: string, inputs: Shape[], outputs: Shape[]): number {
  const [a, b] = inputs, y = outputs[0];
  if (!a || !y || a.length < 2 || y.length < 2) return 0;
  if (op === 'MatMul' || op === 'FusedMatMul' || op === 'MatMulInteger' || op === 'DynamicQuantizeMatMul') {
    const rows = y[y.length - 2], last = a[a.length - 1], before = a[a.length - 2];
    return 2 * prod(y) * (last === rows && before !== rows ? before : last);
  }
  if (op === 'Gemm' || op === 'FusedGemm') return 2 * prod(y) * (prod(a) / y[0]);
  if ((op === 'Conv' || op === 'FusedConv' || op === 'NchwcConv') && a.length === 4 && y.length === 4)
    return b ? 2 * prod(y) * (prod(b) / b[0]) : 2 * prod(y) * a[1] * (a[2] / y[2]) * (a[3] / y[3]);
  if (op === 'ConvTranspose' && a.length === 4 && y.length === 4)
    return b ? 2 * prod(a) * (prod(b) / b[0]) : 2 * prod(a) * y[1] * (y[2] / a[2]) * (y[3] / a[3]);
  return 0;
}

export interface ModelCost { model: string; runs: number; flops: number; bytes: number; kernelMs: number }

/** Over the given events of a session: its runs, FLOPs and bytes read + written by its nodes (from the profile's
 *  shapes), kernel time. */
export function modelCost(model: string, events: OrtEvent[]): ModelCost {
  let runs = 0, flops = 0, bytes = 0, us = 0;
  for (const e of events) {
    if (e.cat === 'Session' && e.name === 'model_run') runs++;
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const args = e.args ?? {};
    const ins = shapes(args.input_type_shape), outs = shapes(args.output_type_shape);
    flops += nodeFlops(String(args.op_name), ins, outs);
    const typed = [...(args.input_type_shape as unknown[] ?? []), ...(args.output_type_shape as unknown[] ?? [])];
    for (const t of typed) for (const [type, s] of Object.entries(t as Record<string, Shape>)) bytes += prod(s) * (ELEMENT_BYTES[type] ?? 4);
    us += e.dur;
  }
  return { model, runs, flops, bytes, kernelMs: us / 1000 };
}
