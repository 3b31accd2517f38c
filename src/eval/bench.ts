// Benchmarks (`hybridgl bench`): each pipeline stage timed per image and per expression after warm-up (p50/p90/p99,
// throughput); with synthetic proposal counts or a trace, per stage FLOPs, bytes and peak RSS from ONNX Runtime's
// profile. Data in, data out: the command line prints the tables and writes the files.
import { readFileSync, writeFileSync } from 'node:fs';

import { HEAD_MODELS, loadModels, type AllocatorTuning, type Fusion, type ModelName, type Models, type Precision } from '../models/loadModels.ts';
import { setStageObserver } from '../pipeline/timing.ts';
import { createSegmenter, type SegmenterOptions } from '../segmenter.ts';
import { readOrtProfile, type OrtEvent } from './ortProfile.ts';
import { runConfiguration, type RunConfiguration } from './paperConfig.ts';
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

/** What a benchmark runs: the models and how, the images and expressions, how many times. */
export interface BenchOptions {
  models: string;
  images: string[];
  expressions: string[];
  /** Timed passes over the images, after `warmup` untimed ones. */
  iterations: number;
  warmup: number;
  fusion?: Fusion;
  device?: SegmenterOptions['device'];
  precision?: Precision;
  maxPixels?: number;
  vocabPath?: string;
  /** Text features kept across images (the segmenter's default when absent; 0: encoded afresh each time). */
  textCacheLimit?: number;
  /** glibc's allocator around the model calls (LoadModelsOptions.allocator; default: left alone). */
  allocator?: AllocatorTuning;
  /** Told each iteration as it ends. */
  log?: (m: string) => void;
}

export interface StageBench {
  stages: StageStats[];
  throughput: { imagesPerSecond: number; expressionsPerSecond: number };
  /** Where the models ran. */
  device: 'cpu' | 'cuda';
  configuration: RunConfiguration;
}

/** Every stage's wall time per image and per expression over the timed iterations, and the throughput. */
export async function benchStages(options: BenchOptions): Promise<StageBench> {
  const { images: paths, expressions, iterations, warmup, log = () => {} } = options;
  const segmenter = await createSegmenter({ models: options.models, vocabPath: options.vocabPath, fusion: options.fusion,
    device: options.device, precision: options.precision, maxPixels: options.maxPixels, textCacheLimit: options.textCacheLimit,
    load: { allocator: options.allocator } });
  const perImage = new Map<string, number[]>(), perExpr = new Map<string, number[]>();
  const push = (m: Map<string, number[]>, t: Record<string, number>) => {
    for (const [k, v] of Object.entries(t)) m.set(k, [...(m.get(k) ?? []), v]);
  };
  let images = 0, exprs = 0, wall = 0;
  try {
    for (let it = 0; it < warmup + iterations; it++) {
      for (const path of paths) {
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
  return {
    stages: [...stageStats(perImage, 'image'), ...stageStats(perExpr, 'expression')],
    throughput: { imagesPerSecond: (1000 * images) / wall, expressionsPerSecond: (1000 * exprs) / wall },
    device: segmenter.models.device,
    configuration: runConfiguration(segmenter.models.manifest, { fusion: options.fusion ?? 'G2L', precision: segmenter.models.precision }),
  };
}

/** The stage each session serves (its ONNX Runtime time is inside that stage's wall time). */
const STAGE_OF: Partial<Record<ModelName, string>> = {
  sam_encoder: 'samEncoder', sam_decoder: 'samDecoder', clip_trunk: 'clipTrunk', clip_text: 'text', gem_visual: 'gem',
};

export interface DetailedRow { stage: string; ms: number; gflop: number | null; gflops: number | null; gbMoved: number | null; peakRssMiB: number | null }

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

export interface DetailedBenchOptions extends BenchOptions {
  /** Each a window of its own: exactly N (synthetic) proposals reach the CLIP stages; null: as SAM gives. */
  proposals: Array<number | null>;
  /** Also a Chrome trace: stages, native kernels, ONNX Runtime nodes. */
  trace: boolean;
}

export interface DetailedBench {
  report: Array<{ proposals: number | null; imagesPerSecond: number; stages: DetailedRow[] }>;
  fusion: Fusion;
  configuration: RunConfiguration;
  /** The trace's events (for Perfetto), when asked for. */
  traceEvents: TraceEvent[] | null;
}

/** Per proposal count, per stage: time (p50), FLOPs and bytes from ONNX Runtime's profile shapes, achieved GFLOP/s,
 *  peak RSS during the stage. Times and peaks come from unprofiled sessions; FLOPs, bytes and the trace from a second
 *  pass, one iteration on profiled sessions (profiling slows the small nodes and changes how the heap is used). */
export async function benchDetailed(options: DetailedBenchOptions): Promise<DetailedBench> {
  const { images, expressions, iterations, warmup, textCacheLimit, log = () => {} } = options;
  const counts = options.proposals;
  const fusion = options.fusion ?? 'G2L';
  const used: ModelName[] = ['sam_encoder', 'sam_decoder', 'clip_trunk', HEAD_MODELS[fusion], 'clip_text', 'gem_visual'];
  const load = { device: options.device, precision: options.precision, vocabPath: options.vocabPath, models: used, allocator: options.allocator };
  const segmenterOptions = { fusion, vocabPath: options.vocabPath, textCacheLimit };
  const timed = await loadModels(options.models, load);
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
  const profiled = await loadModels(options.models, { ...load, profile: true, warmup: false });
  const trace = options.trace ? startTrace() : null;
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
  return { report, fusion, configuration, traceEvents: trace ? withOrtTracks([...trace.events], profileEvents) : null };
}

/** The trace's events followed by a track of ONNX Runtime nodes per profiled session. */
function withOrtTracks(events: TraceEvent[], profiles: Array<{ model: ModelName; path: string; readyAt: number }>): TraceEvent[] {
  // A profile holds any number of events: appended one by one (a spread of that many arguments overflows the stack).
  profiles.forEach((p, i) => {
    for (const e of ortTrackEvents(p.model, p.path, p.readyAt, 10 + i)) events.push(e);
  });
  return events;
}
