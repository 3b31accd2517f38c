// Spec §0: the eval run's results on disk — one JSON line per sentence, resume, merge, summary.
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { IoUAccumulator, stickyKInOrder, type IoUCounts, type MetricSummary } from './metrics.ts';
import type { RunConfiguration } from './paperConfig.ts';
import { checkResumable, completeness, mergePlans, readPlan, RunPlanError, type RunPlan } from './runPlan.ts';

/** One prediction of one sentence (the pure-hybrid or the guided one). */
export interface PredictionRecord extends IoUCounts {
  /** IoU = I/U (0 when U = 0). */
  iou: number;
  /** the chosen proposal's index, its score and mask (COCO RLE) where the caller records them. */
  index?: number;
  score?: number;
  rle?: { size: [number, number]; counts: string };
}

/** One line of results.jsonl. Further fields (scores, timings, flags) are kept as they are. */
export interface SentenceResult {
  ref_id: number;
  sent_id: number;
  image_id: number;
  sentence?: string;
  hybrid: PredictionRecord;
  /** the guided prediction with k1 = min(3, N), k2 = min(6, N) for this image alone. */
  guided: PredictionRecord;
  /** for QUIRK sticky-k: the ref's position in the split (reference order), the image's proposal count N, and the
   *  guided prediction for every pair of stickyKVariants(N), keyed "k1,k2". */
  order?: number;
  proposals?: number;
  guidedByK?: Record<string, PredictionRecord>;
  [extra: string]: unknown;
}

/** A line of results.jsonl for a sentence that could not be scored (e.g. blank): why, and no predictions. */
export interface SkippedSentence {
  ref_id: number;
  sent_id: number;
  image_id: number;
  sentence?: string;
  skipped: string;
  [extra: string]: unknown;
}

/** One line of results.jsonl: a scored sentence, or one skipped with its reason. */
export type ResultLine = SentenceResult | SkippedSentence;

export const isSkipped = (r: ResultLine): r is SkippedSentence => typeof r.skipped === 'string';
export const scoredResults = (lines: ResultLine[]): SentenceResult[] => lines.filter((r): r is SentenceResult => !isSkipped(r));

export interface RunSummary {
  /** Sentences scored (the metrics' denominator). */
  sentences: number;
  /** Sentences skipped (blank or otherwise unusable), each with its reason; not in the metrics. */
  skipped: number;
  skippedSentences: Array<{ ref_id: number; sent_id: number; reason: string }>;
  hybrid: MetricSummary;
  guided: MetricSummary;
  /** whether `guided` applies QUIRK sticky-k over the reference order (needs order, proposals and guidedByK on
   *  every line); false: each line's own `guided`. */
  stickyK: boolean;
  /** Written with a run plan (summary.json): whether every planned sentence has its result and no other… */
  complete?: boolean;
  /** … how many were planned … */
  planned?: number;
  /** … and whether the plan is the whole split (no shard, no --limit-images). */
  wholeSplit?: boolean;
  /** What ran and whether it is the paper's configuration (from the run plan). */
  configuration?: RunConfiguration;
}

export const RESULTS_FILE = 'results.jsonl';
export const SUMMARY_FILE = 'summary.json';
export const RUN_FILE = 'run.json';

export const resultKey = (r: { ref_id: number; sent_id: number }) => `${r.ref_id}/${r.sent_id}`;

function checkResult(r: unknown, where: string): ResultLine {
  const o = r as SentenceResult;
  const isPred = (p: unknown) =>
    typeof p === 'object' && p !== null &&
    Number.isSafeInteger((p as IoUCounts).intersection) && Number.isSafeInteger((p as IoUCounts).union);
  if (typeof o !== 'object' || o === null || !Number.isFinite(o.ref_id) || !Number.isFinite(o.sent_id) ||
      (typeof o.skipped !== 'string' && (!isPred(o.hybrid) || !isPred(o.guided))))
    throw new Error(`${where}: not a sentence result (needs ref_id, sent_id, and hybrid and guided I/U counts or skipped)`);
  return o;
}

/**
 * Parses results.jsonl text. Text after the last newline is what a kill in the middle of a write leaves: it is
 * reported as `truncated` and left out of `cleanText`; a bad line elsewhere, or a sentence twice, is an error.
 */
export function parseResults(text: string, file: string): { results: ResultLine[]; truncated: boolean; cleanText: string } {
  const end = text.lastIndexOf('\n') + 1;
  const lines = end === 0 ? [] : text.slice(0, end - 1).split('\n');
  const results: ResultLine[] = [];
  const seen = new Set<string>();
  lines.forEach((line, i) => {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new Error(`${file}: line ${i + 1} is not valid JSON`);
    }
    const r = checkResult(value, `${file}: line ${i + 1}`);
    const key = resultKey(r);
    if (seen.has(key)) throw new Error(`${file}: line ${i + 1} repeats ref ${r.ref_id} sentence ${r.sent_id}`);
    seen.add(key);
    results.push(r);
  });
  return { results, truncated: end < text.length, cleanText: text.slice(0, end) };
}

/** Sorted by (ref_id, sent_id), so that every way of producing the same sentences sums them in the same order. */
function canonicalOrder<T extends ResultLine>(results: T[]): T[] {
  return [...results].sort((a, b) => a.ref_id - b.ref_id || a.sent_id - b.sent_id);
}

/**
 * The summary of a set of sentences; independent of the order they were run in. With `stickyK` (default true)
 * and the sticky-k fields on every line, the guided result of each sentence is the one for the k the reference's
 * sequential loop would have used (exact only over a whole split: merge shards first).
 */
export function summarizeResults(lines: ResultLine[], options: { stickyK?: boolean } = {}): RunSummary {
  const skipped = canonicalOrder(lines.filter(isSkipped)).map((r) => ({ ref_id: r.ref_id, sent_id: r.sent_id, reason: r.skipped }));
  const results = scoredResults(lines);
  const ordered = canonicalOrder(results);
  // A line with no proposal (the reference would crash there) keeps its own result and does not lower k.
  const ranked = (r: SentenceResult) => (r.proposals ?? 0) > 0;
  const sticky = (options.stickyK ?? true) && ordered.some(ranked) &&
    ordered.every((r) => Number.isInteger(r.order) && Number.isInteger(r.proposals) && (!ranked(r) || r.guidedByK));
  const rankedLines = ordered.filter(ranked) as Array<SentenceResult & { order: number; proposals: number }>;
  const ks = new Map(sticky ? stickyKInOrder(rankedLines).map((k, i) => [rankedLines[i], k] as const) : []);
  const hybrid = new IoUAccumulator(), guided = new IoUAccumulator();
  for (const r of ordered) {
    hybrid.add(r.hybrid);
    const k = ks.get(r as (typeof rankedLines)[number]);
    if (!k) {
      guided.add(r.guided);
      continue;
    }
    const key = `${k.k1},${k.k2}`, g = r.guidedByK![key];
    if (!g) throw new Error(`ref ${r.ref_id} sentence ${r.sent_id}: guidedByK has no entry for k = ${key}`);
    guided.add(g);
  }
  return { sentences: results.length, skipped: skipped.length, skippedSentences: skipped, hybrid: hybrid.summary(),
    guided: guided.summary(), stickyK: sticky };
}

export interface OpenRunOptions {
  /** continue a run: keep its finished sentences (a cut last line is dropped and the file rewritten cleanly). */
  resume?: boolean;
  /** what the run sets out to do (settings, shard, items): stored in run.json before any result; a resumed run must
   *  have the same settings and shard (its items may differ, e.g. another --limit-images). */
  plan?: RunPlan;
  /** without a plan: what the run is, stored in run.json as it is; a resumed run must match it. */
  meta?: Record<string, unknown>;
}

/** A run directory being written: results.jsonl (appended and flushed one line per sentence), run.json. */
export class ResultStore {
  private readonly done = new Map<string, ResultLine>();
  readonly resultsPath: string;
  /** how many sentences a resume found finished, and whether it dropped a cut last line. */
  readonly resumed: { sentences: number; droppedTruncatedLine: boolean };

  private readonly plan?: RunPlan;

  /** The checks of open() that need no file written: an existing run without resume, or with other settings, is
   *  a RunPlanError. Nothing is created. */
  static check(runDir: string, options: OpenRunOptions = {}): void {
    const resultsPath = join(runDir, RESULTS_FILE);
    if (!(existsSync(resultsPath) && readFileSync(resultsPath).length > 0)) return;
    if (!options.resume)
      throw new RunPlanError(`${resultsPath} already has results: pass --resume to continue, or use another --out`);
    if (options.plan) {
      checkResumable(runDir, readPlan(runDir, RUN_FILE), options.plan);
      return;
    }
    const runFile = join(runDir, RUN_FILE);
    if (existsSync(runFile)) {
      const before = JSON.stringify(JSON.parse(readFileSync(runFile, 'utf8')));
      if (before !== JSON.stringify(options.meta ?? {}))
        throw new RunPlanError(`${runDir} holds a different run (${before}); cannot resume it as ${JSON.stringify(options.meta ?? {})}`);
    }
  }

  private constructor(readonly runDir: string, options: OpenRunOptions) {
    this.resultsPath = join(runDir, RESULTS_FILE);
    ResultStore.check(runDir, options);
    mkdirSync(runDir, { recursive: true });
    const runFile = join(runDir, RUN_FILE);
    const meta = options.plan ?? options.meta ?? {};
    this.plan = options.plan;
    let dropped = false;
    if (existsSync(this.resultsPath) && readFileSync(this.resultsPath).length > 0) {
      const parsed = parseResults(readFileSync(this.resultsPath, 'utf8'), this.resultsPath);
      for (const r of parsed.results) this.done.set(resultKey(r), r);
      if (parsed.truncated) {
        // Rewrite without the cut line (atomically), so that the next append starts on a fresh line.
        const tmp = `${this.resultsPath}.tmp`;
        writeFileSync(tmp, parsed.cleanText);
        renameSync(tmp, this.resultsPath);
        dropped = true;
      }
    } else {
      writeFileSync(this.resultsPath, '');
    }
    writeFileSync(runFile, JSON.stringify(meta, null, 2) + '\n');
    this.resumed = { sentences: this.done.size, droppedTruncatedLine: dropped };
  }

  static open(runDir: string, options: OpenRunOptions = {}): ResultStore {
    return new ResultStore(runDir, options);
  }

  /** Whether this sentence is already finished (skip it on resume). */
  has(refId: number, sentId: number): boolean {
    return this.done.has(`${refId}/${sentId}`);
  }

  get size(): number {
    return this.done.size;
  }

  /** Appends one sentence's result as one line and flushes it to the file before returning. */
  append(result: ResultLine): void {
    checkResult(result, 'ResultStore.append');
    const key = resultKey(result);
    if (this.done.has(key)) throw new Error(`ResultStore.append: ref ${result.ref_id} sentence ${result.sent_id} is already stored`);
    appendFileSync(this.resultsPath, JSON.stringify(result) + '\n');
    this.done.set(key, result);
  }

  results(): ResultLine[] {
    return [...this.done.values()];
  }

  /** Writes summary.json from the stored lines and returns it (with the plan: whether the run is complete). */
  writeSummary(): RunSummary {
    return writeSummary(this.runDir, this.results(), this.plan);
  }
}

export function writeSummary(runDir: string, results: ResultLine[], plan?: RunPlan): RunSummary {
  const summary = summarizeResults(results);
  if (plan) {
    const c = completeness(plan, results.map(resultKey));
    Object.assign(summary, { complete: c.complete, planned: c.planned, wholeSplit: !plan.shard && plan.limitImages === undefined },
      plan.configuration ? { configuration: plan.configuration } : {});
  }
  writeFileSync(join(runDir, SUMMARY_FILE), JSON.stringify(summary, null, 2) + '\n');
  return summary;
}

/** Reads a finished run directory's results (a cut last line is an error here: resume that run first). `meta` is
 *  the plan's settings and shard (or a run.json without a plan as it is); `plan` is null without one. */
export function readRun(runDir: string): { meta: Record<string, unknown>; plan: RunPlan | null; results: ResultLine[] } {
  const file = join(runDir, RESULTS_FILE);
  if (!existsSync(file)) throw new Error(`${runDir}: no ${RESULTS_FILE}`);
  const parsed = parseResults(readFileSync(file, 'utf8'), file);
  if (parsed.truncated) throw new Error(`${file}: the last line was cut (the run was killed); resume it first`);
  const plan = readPlan(runDir, RUN_FILE);
  if (plan) {
    const meta = { ...plan.settings, ...(plan.shard ? { shard: plan.shard } : {}), ...(plan.configuration ? { configuration: plan.configuration } : {}) };
    return { meta, plan, results: parsed.results };
  }
  const runFile = join(runDir, RUN_FILE);
  const meta = existsSync(runFile) ? (JSON.parse(readFileSync(runFile, 'utf8')) as Record<string, unknown>) : {};
  return { meta, plan: null, results: parsed.results };
}

/**
 * Joins shard run directories into outDir (results.jsonl in canonical order, run.json with the merged plan,
 * summary.json). Each shard must have its run plan and be complete; shards of other settings, a shard missing or
 * given twice, or a sentence in two shards are RunPlanErrors naming the shard directory. Nothing is written then.
 */
export function mergeRuns(shardDirs: string[], outDir: string): RunSummary {
  if (shardDirs.length === 0) throw new RunPlanError('merge: no shard directories given');
  const runs = shardDirs.map((d) => ({ dir: d, ...readRun(d) }));
  const plan = mergePlans(runs.map((r) => ({ dir: r.dir, plan: r.plan, keys: r.results.map(resultKey) })));
  const merged = canonicalOrder(runs.flatMap((r) => r.results));
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, RESULTS_FILE), merged.map((r) => JSON.stringify(r) + '\n').join(''));
  writeFileSync(join(outDir, RUN_FILE), JSON.stringify(plan, null, 2) + '\n');
  return writeSummary(outDir, merged, plan);
}
