// Spec §0 (shards by image): `eval --workers N` — N worker processes on one machine, each a shard of the run
// (nested in the node's own shard), writing RUNDIR/workers/<w>-of-<N>, merged into RUNDIR when all are done.
import { spawn } from 'node:child_process';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import { completeness, makePlan } from './runPlan.ts';
import {
  readRun, resultKey, RESULTS_FILE, RUN_FILE, summarizeResults, SUMMARY_FILE, writeSummary, type RunSummary, type ResultLine,
} from './store.ts';
import type { Shard } from './shard.ts';

/**
 * Worker w (0-based) of n inside the node shard a/b: shard (a − 1) + b·w + 1 of b·n. An image's shard id mod b·n
 * then lies in the node's shard (id mod b = a − 1) and the n workers partition it.
 */
export function workerShard(node: Shard | undefined, w: number, n: number): Shard {
  const a = node?.index ?? 1, b = node?.count ?? 1;
  return { index: a - 1 + b * w + 1, count: b * n };
}

export const workerDir = (out: string, w: number, n: number) => join(out, 'workers', `${w + 1}-of-${n}`);

export interface WorkersOptions {
  /** The `hybridgl eval` arguments of one worker, without --out, --shard, --workers, --devices. */
  args: string[];
  out: string;
  workers: number;
  /** One CUDA device per worker (CUDA_VISIBLE_DEVICES of the worker: ONNX Runtime's device 0 and the kernels'). */
  devices?: string[];
  shard?: Shard;
  log: (m: string) => void;
  /** The program to start (default: this process's node and script). */
  command?: [string, ...string[]];
}

/** Runs the workers, each its own process; merges their runs into out. A failed worker fails the run (resumable). */
export async function runWorkers(o: WorkersOptions): Promise<RunSummary> {
  if (o.devices && o.devices.length !== o.workers) throw new RangeError(`--devices lists ${o.devices.length} devices for ${o.workers} workers`);
  const own = join(o.out, 'results.jsonl');
  if (existsSync(own) && statSync(own).size > 0 && !existsSync(join(o.out, 'workers'))) {
    throw new Error(`${o.out} holds the results of a run without --workers; continue it the same way, or use another --out`);
  }
  const [exe, ...pre] = o.command ?? [process.execPath, process.argv[1]];
  const threads = process.env.HYBRIDGL_THREADS ?? String(Math.max(1, Math.floor(availableParallelism() / o.workers)));
  const dirs = Array.from({ length: o.workers }, (_, w) => workerDir(o.out, w, o.workers));
  const exits = await Promise.all(dirs.map((dir, w) => {
    const s = workerShard(o.shard, w, o.workers);
    const env: NodeJS.ProcessEnv = { ...process.env, HYBRIDGL_THREADS: threads };
    const device = o.devices?.[w];
    if (device !== undefined) Object.assign(env, { CUDA_VISIBLE_DEVICES: device, HYBRIDGL_DEVICE: 'cuda' });
    const args = [...pre, 'eval', ...o.args, '--out', dir, '--shard', `${s.index}/${s.count}`, ...(device !== undefined ? ['--device', 'cuda'] : [])];
    const child = spawn(exe, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    const tag = `[worker ${w + 1}/${o.workers}${device !== undefined ? ` cuda:${device}` : ''}]`;
    createInterface({ input: child.stderr }).on('line', (line) => o.log(`${tag} ${line.replace(/^hybridgl: /, '')}`));
    return new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) => resolve(code));
    });
  }));
  const failed = exits.map((c, w) => [c, w] as const).filter(([c]) => c !== 0);
  if (failed.length > 0) {
    throw new Error(`eval --workers: worker(s) ${failed.map(([c, w]) => `${w + 1} (exit ${c})`).join(', ')} failed; ` +
      'their finished sentences are kept: rerun with --resume');
  }
  return mergeWorkers(dirs, o.out, o.shard);
}

/**
 * Joins the worker runs into out: each worker's shard is one of b·N, so mergeRuns' check that all b·N are present
 * does not apply; the N workers of this node are checked instead. run.json is the node's (its shard, if any).
 */
function mergeWorkers(dirs: string[], out: string, shard: Shard | undefined): RunSummary {
  const runs = dirs.map((dir) => ({ dir, ...readRun(dir) }));
  const strip = (meta: Record<string, unknown>) => {
    const { shard: _s, ...rest } = meta;
    return rest;
  };
  const common = strip(runs[0].meta);
  const all = new Map<string, ResultLine>();
  for (const run of runs) {
    if (JSON.stringify(strip(run.meta)) !== JSON.stringify(common)) throw new Error(`eval --workers: ${run.dir} is a different run`);
    for (const r of run.results) {
      if (all.has(resultKey(r))) throw new Error(`eval --workers: ref ${r.ref_id} sentence ${r.sent_id} is in two workers' runs`);
      all.set(resultKey(r), r);
    }
  }
  const merged = [...all.values()].sort((a, b) => a.ref_id - b.ref_id || a.sent_id - b.sent_id);
  writeFileSync(join(out, RESULTS_FILE), merged.map((r) => JSON.stringify(r) + '\n').join(''));
  const plans = runs.map((r) => r.plan);
  if (plans.every((p) => p === null)) {  // runs without a plan keep their run.json as they were
    writeFileSync(join(out, RUN_FILE), JSON.stringify(shard ? { ...common, shard } : common, null, 2) + '\n');
    const summary = summarizeResults(merged);
    writeFileSync(join(out, SUMMARY_FILE), JSON.stringify(summary, null, 2) + '\n');
    return summary;
  }
  // The node's plan is what one worker would have planned: every worker must have done all of its own plan.
  runs.forEach((run, w) => {
    if (!run.plan) throw new Error(`eval --workers: ${run.dir} has no run plan`);
    const c = completeness(run.plan, run.results.map(resultKey));
    if (!c.complete) throw new Error(`eval --workers: worker ${w + 1} (${run.dir}) is incomplete (${c.done} of ${c.planned} planned items)`);
  });
  const plan = makePlan(runs[0].plan!.settings, [...all.keys()],
    { shard, limitImages: runs[0].plan!.limitImages, configuration: runs[0].plan!.configuration });
  writeFileSync(join(out, RUN_FILE), JSON.stringify(plan, null, 2) + '\n');
  return writeSummary(out, merged, plan);
}
