// Spec §0: the dataset-independent part of the eval loop — per image, SAM and features once (one image ahead), then
// every pending sentence of every item scored against the item's GT, one JSON line each.
import { maskIoU } from '../../bindings/maskOps.ts';
import type { AllocatorTuning, Fusion, Precision } from '../models/loadModels.ts';
import { DatasetError } from '../data/datasetFiles.ts';
import { PickleError } from '../data/pickle.ts';
import { loadImage, type ImageInput } from '../pipeline/image.ts';
import type { AmgProgress } from '../pipeline/samCrops.ts';
import {
  createSegmenter, SegmentError, type ExpressionResult, type PreparedImage, type Segmenter, type SegmenterOptions,
} from '../segmenter.ts';
import { isBlank, printable } from '../text/printable.ts';
import { stickyKVariants } from './metrics.ts';
import type { RunPlan } from './runPlan.ts';
import type { Shard } from './shard.ts';
import { ResultStore, type PredictionRecord, type RunSummary, type SentenceResult } from './store.ts';

/** What every eval run takes, whatever the dataset (REFER: EvalOptions; PhraseCut: PhraseCutEvalOptions). */
export interface EvalRunOptions {
  /** The dataset's directory. */
  data: string;
  split: string;
  /** Model directory, or a segmenter already made (tests, benchmarks). */
  models: string | Segmenter;
  out: string;
  resume?: boolean;
  shard?: Shard;
  fusion?: Fusion;
  device?: SegmenterOptions['device'];
  precision?: Precision;
  imageRoot?: string;
  vocabPath?: string;
  /** The largest image accepted, in pixels (SegmenterOptions.maxPixels). */
  maxPixels?: number;
  /** Stop after this many images (a quick look at a split). */
  limitImages?: number;
  /** glibc's allocator around the model calls (LoadModelsOptions.allocator; default: left alone). */
  allocator?: AllocatorTuning;
  /** Called after each image with the sentences done so far and the total, and within an image after each batch
   *  of SAM points when the full generator runs (PhraseCut). */
  onProgress?: EvalProgress;
}

/** Where the SAM generator is in the image being prepared (one ahead of the one being scored). */
export interface ImageProgress {
  /** the image (1-based, among those this run still has to do) and how many there are. */
  image: number;
  images: number;
  sam: AmgProgress;
  /** since the image's SAM began. */
  elapsedMs: number;
}

export type EvalProgress = (done: number, total: number, within?: ImageProgress) => void;

/** One item: a REFER ref or a PhraseCut task — one GT, one or more sentences. */
export interface EvalItem {
  ref_id: number;
  /** the item's position in the reference's iteration order (QUIRK sticky-k). */
  order: number;
  sentences: Array<{ sent_id: number; raw: string }>;
  /** The GT mask, row-major H×W 0/1, built when the item is scored. */
  gt: () => Uint8Array;
  /** Fields added to each of the item's lines (e.g. PhraseCut's task_id). */
  extra?: Record<string, unknown>;
}

export interface EvalGroup {
  imageId: number;
  /** The image: a path, or a loader (e.g. one that checks the size against the dataset's). */
  image: string | (() => Promise<ImageInput>);
  height: number;
  width: number;
  items: EvalItem[];
}

/** Reads a dataset: a file it cannot use (DatasetError, PickleError: each names the file and item) is bad input
 *  (CLI exit 3), as an unreadable image is. */
export function loadDataset<T>(load: () => T): T {
  try {
    return load();
  } catch (err) {
    if (err instanceof DatasetError || err instanceof PickleError) throw new SegmentError('badInput', err.message);
    throw err;
  }
}

/**
 * The image of a group, refused (SegmentError badInput, naming the image and the file that lists it) when its decoded
 * size is not the size the dataset lists: the GT would be drawn at one size and the masks predicted at another.
 */
export function checkedImage(path: string, width: number, height: number, listedIn: string): () => Promise<ImageInput> {
  return async () => {
    const rgb = await loadImage(path);
    if (rgb.width !== width || rgb.height !== height)
      throw new SegmentError('badInput', `${path} is ${rgb.width}×${rgb.height} but ${listedIn} lists ${width}×${height}`);
    return rgb;
  };
}

/** Why a sentence cannot be scored, or null: blank text has nothing to look for. */
function unusable(raw: string): string | null {
  return isBlank(raw) ? 'blank (nothing visible in the sentence)' : null;
}

/** I, U and IoU of every proposal against the ground truth, in one batched call; record(i, score) reads them. */
function proposalCounts(masks: Uint8Array, gt: Uint8Array, height: number, width: number) {
  const { intersection, union, iou } = maskIoU(masks, gt, height, width);
  return (index: number, score: number): PredictionRecord => ({
    intersection: intersection[index], union: union[index], iou: iou[index], index, score,
  });
}

/** The sentences of the groups in total, and those already in the store. */
export function countSentences(groups: EvalGroup[], store: ResultStore): { total: number; done: number } {
  let total = 0, done = 0;
  for (const g of groups)
    for (const it of g.items)
      for (const s of it.sentences) {
        total++;
        if (store.has(it.ref_id, s.sent_id)) done++;
      }
  return { total, done };
}

/** Scores every sentence not yet in the store; calls onProgress(done, total) after each image, and with the image's
 *  SAM progress after each batch of points of the full generator. */
export async function runEvalLoop(
  groups: EvalGroup[],
  segmenter: Segmenter,
  store: ResultStore,
  onProgress?: EvalProgress,
): Promise<void> {
  let { total, done } = countSentences(groups, store);
  const pending = groups.filter((g) => g.items.some((it) => it.sentences.some((s) => !store.has(it.ref_id, s.sent_id))));
  const samProgress = (index: number) => {
    let started: number | undefined;
    return (sam: AmgProgress) => {
      const now = performance.now();
      started ??= now;
      onProgress?.(done, total, { image: index + 1, images: pending.length, sam, elapsedMs: now - started });
    };
  };
  // One image ahead: its decoding, SAM and features run while the current image's sentences are scored.
  const prepare = (g: EvalGroup, index: number) =>
    (typeof g.image === 'string' ? Promise.resolve(g.image) : g.image())
      .then((input) => segmenter.prepare(input, onProgress ? { onSamProgress: samProgress(index) } : {})).then(
      (p) => ({ prepared: p as PreparedImage | null, error: null as SegmentError | null }),
      (err) => {
        if (err instanceof SegmentError && err.kind === 'noProposal') return { prepared: null, error: err };
        throw err;
      },
    );
  // The next image's promise is marked handled now: a failure surfaces when it is awaited, not as an unhandled rejection.
  const ahead = (g: EvalGroup, index: number) => {
    const p = prepare(g, index);
    p.catch(() => {});
    return p;
  };
  let next = pending.length > 0 ? ahead(pending[0], 0) : null;
  // The count before any work: the rate and ETA then cover the first image too (and, resumed, only this run's work).
  onProgress?.(done, total);
  for (let gi = 0; gi < pending.length; gi++) {
    const group = pending[gi];
    const current = await next!;
    next = gi + 1 < pending.length ? ahead(pending[gi + 1], gi + 1) : null;
    const { height, width } = group;
    for (const item of group.items) {
      const todo = item.sentences.filter((s) => !store.has(item.ref_id, s.sent_id));
      if (todo.length === 0) continue;
      const base = { ref_id: item.ref_id, image_id: group.imageId, order: item.order, ...item.extra };
      const skip = (s: { sent_id: number; raw: string }, reason: string) => {
        store.append({ ...base, sent_id: s.sent_id, sentence: s.raw, skipped: reason });
        done++;
      };
      const sentences = todo.filter((s) => {
        const why = unusable(s.raw);
        if (why) skip(s, why);
        return !why;
      });
      if (sentences.length === 0) continue;
      const gt = item.gt();
      if (!current.prepared) {
        // The reference crashes here; we count an empty prediction (I = 0, U = |gt|) and say why.
        const empty = { ...proposalCounts(new Uint8Array(height * width), gt, height, width)(0, NaN), index: -1 };
        for (const s of sentences) {
          store.append({ ...base, sent_id: s.sent_id, sentence: s.raw, proposals: 0, hybrid: empty, guided: empty, noProposal: true });
        }
        done += sentences.length;
        continue;
      }
      const p = current.prepared;
      const n = p.proposals.count;
      const record = proposalCounts(p.proposals.masks, gt, height, width);
      const variants = stickyKVariants(n);
      const results = await scoreSentences(segmenter, p, sentences, variants);
      for (const [j, r] of results.entries()) {
        if (typeof r === 'string') {
          skip(sentences[j], r);
          continue;
        }
        const guidedByK: Record<string, PredictionRecord> = {};
        for (const [key, g] of Object.entries(r.guidedByK ?? {})) guidedByK[key] = record(g.proposal, g.score);
        const line: SentenceResult = {
          ...base, sent_id: sentences[j].sent_id, sentence: sentences[j].raw, proposals: n,
          hybrid: { ...record(r.hybrid.proposal, r.hybrid.score), rle: p.proposalRle(r.hybrid.proposal) },
          guided: { ...record(r.proposal, r.score), rle: r.mask },
          guidedByK,
          parse: r.parse,
        };
        store.append(line);
      }
      done += results.filter((r) => typeof r !== 'string').length;
    }
    onProgress?.(done, total);
  }
}

/**
 * A planned run from start to summary: the plan checked against RUNDIR before any model loads, a segmenter made from
 * options.models (a given one is used and left open) with the dataset's `proposals` and `localImage`, the store
 * opened, every pending sentence scored. Returns the summary written to RUNDIR/summary.json.
 */
export async function runPlannedEval(options: EvalRunOptions, plan: RunPlan, groups: EvalGroup[],
  dataset: Pick<SegmenterOptions, 'proposals' | 'localImage'> = {}): Promise<RunSummary> {
  const given = options.models;
  if (typeof given !== 'string' && dataset.localImage && given.localImage !== dataset.localImage) {
    // The run would record the dataset's local image while the segmenter scores with another one.
    throw new RangeError(`the segmenter given as models has localImage '${given.localImage}'; this dataset's loop needs ` +
      `'${dataset.localImage}': createSegmenter({ ..., localImage: '${dataset.localImage}' })`);
  }
  ResultStore.check(options.out, { resume: options.resume, plan });
  const owned = typeof options.models === 'string';
  const segmenter = typeof options.models === 'string'
    ? await createSegmenter({
      models: options.models, device: options.device, precision: options.precision, fusion: options.fusion ?? 'G2L',
      vocabPath: options.vocabPath, maxPixels: options.maxPixels, ...dataset,
      load: { allocator: options.allocator },
    })
    : options.models;
  let store: ResultStore;
  try {
    store = ResultStore.open(options.out, { resume: options.resume, plan });
  } catch (err) {
    if (owned) await segmenter.dispose();
    throw err;
  }
  try {
    await runEvalLoop(groups, segmenter, store, options.onProgress);
  } finally {
    if (owned) await segmenter.dispose();
  }
  return store.writeSummary();
}

/** The sentences' results in one batch; when the segmenter refuses the batch as bad input (one sentence it cannot
 *  use), each sentence alone: a refused one gives its reason instead of a result, and the others are scored. */
async function scoreSentences(segmenter: Segmenter, prepared: PreparedImage, sentences: Array<{ raw: string }>,
  kVariants: ReturnType<typeof stickyKVariants>): Promise<Array<ExpressionResult | string>> {
  const texts = sentences.map((s) => s.raw.toLowerCase());
  try {
    return await segmenter.segmentPrepared(prepared, texts, { kVariants });
  } catch (err) {
    if (!(err instanceof SegmentError && err.kind === 'badInput') || texts.length === 1) {
      if (err instanceof SegmentError && err.kind === 'badInput') return [printable(err.message.replace(/^expressions\[0\] /, ''))];
      throw err;
    }
  }
  const out: Array<ExpressionResult | string> = [];
  for (const text of texts) out.push(...await scoreSentences(segmenter, prepared, [{ raw: text }], kVariants));
  return out;
}
