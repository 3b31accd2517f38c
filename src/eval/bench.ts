// `hybridgl bench`: each pipeline stage timed per image and per expression after warm-up (p50/p90/p99, throughput).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { backendInfo } from '../../bindings/backend.ts';
import { PACKAGE_ROOT } from '../../bindings/packageRoot.ts';
import { UsageError } from '../cliErrors.ts';
import { modelFlags, type ModelFlags } from '../modelFlags.ts';
import { commandAllocatorTuning } from '../models/allocatorTuning.ts';
import { HEAD_MODELS, loadModels, type Fusion, type ModelName, type Models } from '../models/loadModels.ts';
import { setStageObserver } from '../pipeline/timing.ts';
import { createSegmenter } from '../segmenter.ts';
import { readOrtProfile, type OrtEvent } from './ortProfile.ts';
import { describeConfiguration, runConfiguration } from './paperConfig.ts';
import { withSyntheticProposals } from './syntheticProposals.ts';
import { modelCost, ortClockOrigin, ortTrackEvents, startTrace, type TraceEvent } from './trace.ts';

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export interface StageStats {
  stage: string;
  per: 'image' | 'expression';
  samples: number;
  p50: number;
  p90: number;
  p99: number;
  mean: number;
}

export function stageStats(samples: Map<string, number[]>, per: 'image' | 'expression'): StageStats[] {
  return [...samples.entries()].map(([stage, values]) => {
    const s = [...values].sort((a, b) => a - b);
    return { stage, per, samples: s.length, p50: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99), mean: s.reduce((a, b) => a + b, 0) / s.length };
  });
}

function table(rows: StageStats[]): string {
  const head = ['stage', 'per', 'n', 'p50 ms', 'p90 ms', 'p99 ms', 'mean ms'];
  const cells = [head, ...rows.map((r) => [r.stage, r.per, String(r.samples), ...[r.p50, r.p90, r.p99, r.mean].map((v) => v.toFixed(1))])];
  const w = head.map((_, i) => Math.max(...cells.map((c) => c[i].length)));
  return cells.map((c, k) => c.map((x, i) => (i < 2 ? x.padEnd(w[i]) : x.padStart(w[i]))).join('  ') + (k === 0 ? '\n' + w.map((n) => '-'.repeat(n)).join('  ') : '')).join('\n');
}

export async function runBenchCommand(args: string[], log: (m: string) => void): Promise<number> {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true,
    options: {
      models: { type: 'string' }, iterations: { type: 'string' }, warmup: { type: 'string' }, json: { type: 'string' },
      fusion: { type: 'string' }, device: { type: 'string' }, precision: { type: 'string' }, vocab: { type: 'string' },
      expression: { type: 'string', multiple: true }, kernels: { type: 'boolean' },
      proposals: { type: 'string' }, trace: { type: 'string' }, 'text-cache': { type: 'string' },
    },
  });
  if (values.kernels) {
    // The kernel benchmarks are TypeScript in a clone's bench/ (not in the package), run through tsx.
    const benchMain = join(PACKAGE_ROOT, 'bench', 'index.ts');
    if (!existsSync(benchMain)) throw new UsageError('bench --kernels runs in a clone of the repository (npm run bench): the package has no bench/');
    const tsx = createRequire(import.meta.url).resolve('tsx/cli');
    const r = spawnSync(process.execPath, [tsx, benchMain, ...positionals], { stdio: 'inherit' });
    return r.status ?? 1;
  }
  if (!values.models) throw new UsageError('bench needs --models DIR (or --kernels for the native micro-benchmarks)');
  if (positionals.length === 0) throw new UsageError('bench needs at least one image');
  const iterations = Number(values.iterations ?? 5), warmup = Number(values.warmup ?? 1);
  if (!(Number.isInteger(iterations) && iterations > 0)) throw new UsageError('--iterations must be a positive integer');
  if (!(Number.isInteger(warmup) && warmup >= 0)) throw new UsageError('--warmup must be a non-negative integer');
  const expressions = values.expression ?? ['the object on the left', 'the big thing in the middle'];
  const textCacheLimit = values['text-cache'] === undefined ? undefined : Number(values['text-cache']);
  if (textCacheLimit !== undefined && !(Number.isInteger(textCacheLimit) && textCacheLimit >= 0))
    throw new UsageError('--text-cache must be a non-negative integer');
  const flags = modelFlags(values);
  if (values.proposals !== undefined || values.trace !== undefined)
    return detailedBench(values, flags, positionals, expressions, iterations, warmup, textCacheLimit, log);
  const segmenter = await createSegmenter({ models: values.models, vocabPath: values.vocab, ...flags, textCacheLimit, load: { allocator: commandAllocatorTuning() } });
  const perImage = new Map<string, number[]>(), perExpr = new Map<string, number[]>();
  const push = (m: Map<string, number[]>, t: Record<string, number>) => {
    for (const [k, v] of Object.entries(t)) m.set(k, [...(m.get(k) ?? []), v]);
  };
  let images = 0, exprs = 0, wall = 0;
  try {
    for (let it = 0; it < warmup + iterations; it++) {
      for (const path of positionals) {
        const t0 = performance.now();
        const r = await segmenter.segment(path, expressions);
        const dt = performance.now() - t0;
        if (it < warmup) continue;
        wall += dt;
        images++;
        exprs += r.results.length;
        push(perImage, { ...r.timings, total: dt });
        for (const e of r.results) push(perExpr, e.timings);
      }
      log(`iteration ${it + 1}/${warmup + iterations}${it < warmup ? ' (warm-up)' : ''}`);
    }
  } finally {
    await segmenter.dispose();
  }
  const configuration = runConfiguration(segmenter.models.manifest, { fusion: flags.fusion ?? 'G2L', precision: segmenter.models.precision });
  const rows = [...stageStats(perImage, 'image'), ...stageStats(perExpr, 'expression')];
  const throughput = { imagesPerSecond: (1000 * images) / wall, expressionsPerSecond: (1000 * exprs) / wall };
  console.log(table(rows));
  console.log(`\n${throughput.imagesPerSecond.toFixed(2)} images/s, ${throughput.expressionsPerSecond.toFixed(2)} expressions/s ` +
    `(${expressions.length} expressions per image; models on ${segmenter.models.device}, kernels ${backendInfo().cuda ? 'CUDA' : 'CPU'}; ` +
    'wall-clock stage times: ONNX Runtime calls include their host transfers)');
  console.log(describeConfiguration(configuration));
  if (values.json) writeFileSync(values.json, JSON.stringify({ stages: rows, throughput, iterations, warmup, images: positionals, expressions, configuration }, null, 2) + '\n');
  return 0;
}

/** The stage each session serves (its ONNX Runtime time is inside that stage's wall time). */
const STAGE_OF: Partial<Record<ModelName, string>> = {
  sam_encoder: 'samEncoder', sam_decoder: 'samDecoder', clip_trunk: 'clipTrunk', clip_text: 'text', gem_visual: 'gem',
};

interface DetailedRow { stage: string; ms: number; gflop: number | null; gflops: number | null; gbMoved: number | null; peakRssMiB: number | null }

function peakRss(): number | null {
  try {
    return Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;
  } catch {
    return null;
  }
}
function resetPeakRss(): void {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
  } catch { /* not Linux: peaks are the process's */ }
}

interface BenchWindow {
  n: number | null;
  from: number;
  to: number;
  samples: Map<string, number[]>;
  peaks: Map<string, number>;
  wall: number;
  images: number;
}

/** Runs every image through the segmenter `warmup + iterations` times for each proposal count; per count: the stage
 *  samples after the warm-up, each stage's peak RSS, and the window's clock span. */
async function runWindows(models: Models, counts: Array<number | null>, images: string[], expressions: string[],
  iterations: number, warmup: number, segmenterOptions: { fusion: Fusion; vocabPath?: string; textCacheLimit?: number },
  log: (m: string) => void): Promise<BenchWindow[]> {
  const stagePeaks = new Map<string, number>();
  const previous = setStageObserver({
    start: (name) => {
      resetPeakRss();
      previous?.start(name);
    },
    end: (name, t0, t1) => {
      const p = peakRss();
      if (p !== null) stagePeaks.set(name, Math.max(stagePeaks.get(name) ?? 0, p));
      previous?.end(name, t0, t1);
    },
  });
  const windows: BenchWindow[] = [];
  try {
    for (const n of counts) {
      const segmenter = await createSegmenter({ models: n === null ? models : withSyntheticProposals(models, n), ...segmenterOptions });
      const samples = new Map<string, number[]>();
      let wall = 0, done = 0, from = performance.now();
      stagePeaks.clear();
      for (let it = 0; it < warmup + iterations; it++) {
        if (it === warmup) {
          from = performance.now();
          stagePeaks.clear();
        }
        for (const path of images) {
          const t0 = performance.now();
          const r = await segmenter.segment(path, expressions);
          const dt = performance.now() - t0;
          if (it < warmup) continue;
          wall += dt;
          done++;
          const text: Record<string, number> = {};
          for (const e of r.results) for (const [k, v] of Object.entries(e.timings)) text[k] = (text[k] ?? 0) + v;
          for (const [k, v] of Object.entries({ ...r.timings, ...text, total: dt })) samples.set(k, [...(samples.get(k) ?? []), v]);
        }
        log(`proposals ${n ?? 'as SAM gives'}: iteration ${it + 1}/${warmup + iterations}${it < warmup ? ' (warm-up)' : ''}`);
      }
      windows.push({ n, from, to: performance.now(), samples, peaks: new Map(stagePeaks), wall, images: done });
    }
  } finally {
    setStageObserver(previous);
  }
  return windows;
}

/** `--proposals N[,N…]` (synthetic masks: exactly N proposals reach the CLIP stages) and/or `--trace FILE`: per stage
 *  time (p50), FLOPs and bytes from ONNX Runtime's profile shapes, achieved GFLOP/s, peak RSS during the stage.
 *  Times and peaks come from unprofiled sessions; FLOPs, bytes and the trace from a second pass, one iteration on
 *  profiled sessions (profiling slows the small nodes and changes how the heap is used). */
async function detailedBench(values: Record<string, string | string[] | boolean | undefined>, flags: ModelFlags, images: string[],
  expressions: string[], iterations: number, warmup: number, textCacheLimit: number | undefined, log: (m: string) => void): Promise<number> {
  const counts = values.proposals === undefined ? [null] : String(values.proposals).split(',').map((v) => {
    const n = Number(v);
    if (!(Number.isInteger(n) && n >= 1 && n <= 192)) throw new UsageError(`--proposals takes integers 1..192 (comma-separated), got ${v}`);
    return n;
  });
  const fusion = flags.fusion ?? 'G2L';
  const used: ModelName[] = ['sam_encoder', 'sam_decoder', 'clip_trunk', HEAD_MODELS[fusion], 'clip_text', 'gem_visual'];
  const load = { device: flags.device, precision: flags.precision, vocabPath: values.vocab as string | undefined, models: used, allocator: commandAllocatorTuning() };
  const segmenterOptions = { fusion, vocabPath: values.vocab as string | undefined, textCacheLimit };
  const timed = await loadModels(String(values.models), load);
  const configuration = runConfiguration(timed.manifest, { fusion, precision: timed.precision });
  let windows: BenchWindow[];
  try {
    windows = await runWindows(timed, counts, images, expressions, iterations, warmup, segmenterOptions, log);
  } finally {
    await timed.dispose();
  }
  // With the text cache on, the timed iterations found their texts cached: so does the counted one, after a warm-up.
  const countWarmup = textCacheLimit === 0 ? 0 : Math.min(warmup, 1);
  log('counting FLOPs and bytes: one more iteration on profiled sessions');
  const profiled = await loadModels(String(values.models), { ...load, profile: true, warmup: false });
  const trace = values.trace ? startTrace() : null;
  let counted: BenchWindow[];
  try {
    counted = await runWindows(profiled, counts, images, expressions, 1, countWarmup, segmenterOptions, log);
  } finally {
    trace?.stop();
  }
  const profiles = await profiled.endProfiling();
  await profiled.dispose();
  const profileEvents = profiles.map((p) => {
    const events = readOrtProfile(p.path);
    return { ...p, events, origin: ortClockOrigin(events, p.readyAt) };
  });
  const report = windows.map((w, k) => {
    const c = counted[k];
    const rows: DetailedRow[] = [...w.samples.entries()].map(([stage, v]) => {
      const ms = percentile([...v].sort((a, b) => a - b), 50);
      let gflop: number | null = null, gb: number | null = null;
      for (const p of profileEvents) {
        const stageOf = STAGE_OF[p.model] ?? (p.model.startsWith('clip_head_') ? 'clipHead' : null);
        if (stageOf !== stage) continue;
        const inWindow = p.events.filter((e: OrtEvent) => p.origin + e.ts / 1000 >= c.from && p.origin + e.ts / 1000 <= c.to);
        // Per image: a stage's calls may be split into several runs (rowsPerCall).
        const cost = modelCost(p.model, inWindow);
        gflop = (gflop ?? 0) + cost.flops / c.images / 1e9;
        gb = (gb ?? 0) + cost.bytes / c.images / 1e9;
      }
      return { stage, ms, gflop, gflops: gflop === null ? null : gflop / (ms / 1000), gbMoved: gb, peakRssMiB: w.peaks.get(stage) ?? null };
    });
    return { proposals: w.n, imagesPerSecond: (1000 * w.images) / w.wall, stages: rows };
  });
  const fmt = (v: number | null, d: number) => (v === null ? '-' : v.toFixed(d));
  for (const r of report) {
    console.log(`proposals ${r.proposals ?? 'as SAM gives'} (${r.imagesPerSecond.toFixed(3)} images/s)`);
    const cells = [['stage', 'p50 ms', 'GFLOP', 'GFLOP/s', 'GB moved', 'peak RSS MiB'],
      ...r.stages.map((s) => [s.stage, s.ms.toFixed(1), fmt(s.gflop, 2), fmt(s.gflops, 1), fmt(s.gbMoved, 2), fmt(s.peakRssMiB, 0)])];
    const w = cells[0].map((_, i) => Math.max(...cells.map((c) => c[i].length)));
    console.log(cells.map((c) => c.map((x, i) => (i === 0 ? x.padEnd(w[i]) : x.padStart(w[i]))).join('  ')).join('\n') + '\n');
  }
  console.log('FLOPs: matrix products and convolutions (2 per multiply-add) from the shapes in ONNX Runtime\'s profile; ' +
    'bytes: every node\'s inputs and outputs, per image, from one iteration on profiled sessions; times and peak RSS ' +
    'from the iterations on unprofiled sessions.');
  console.log(describeConfiguration(configuration));
  if (values.json) writeFileSync(String(values.json), JSON.stringify({ report, iterations, warmup, images, expressions, fusion, configuration }, null, 2) + '\n');
  if (trace) {
    const events: TraceEvent[] = [...trace.events];
    // A profile holds any number of events: appended one by one (a spread of that many arguments overflows the stack).
    profileEvents.forEach((p, i) => {
      for (const e of ortTrackEvents(p.model, p.path, p.readyAt, 10 + i)) events.push(e);
    });
    writeFileSync(String(values.trace), JSON.stringify({ traceEvents: events, displayTimeUnit: 'ms' }) + '\n');
    log(`wrote ${values.trace} (${events.length} events; open it in https://ui.perfetto.dev or chrome://tracing)`);
  }
  return 0;
}
