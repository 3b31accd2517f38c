// Spec §0 and §7 (QUIRK sticky-k): the evaluation loop over a REFER split — one JSON line per sentence, resumable,
// shardable by image, with decoding and SAM for the next image overlapping the scoring of the current one.
import { maskIoU } from '../../bindings/maskOps.ts';
import { rleDecode, rleFromPolygons } from '../../bindings/rle.ts';
import { annotationMask } from '../data/gtMask.ts';
import { ReferDataset, type ReferDatasetName, type ReferImageGroup } from '../data/refer.ts';
import { ModelLoadError, readManifest, type Fusion, type Manifest } from '../models/loadModels.ts';
import { createSegmenter, neededModels, SegmentError, type PreparedImage, type Segmenter } from '../segmenter.ts';
import { stickyKVariants } from './metrics.ts';
import { makePlan, RunPlanError } from './runPlan.ts';
import { inShard, ResultStore, resultKey, type PredictionRecord, type RunSummary, type SentenceResult, type Shard } from './store.ts';

export interface EvalOptions {
  data: string;
  dataset: ReferDatasetName;
  split: string;
  /** Model directory, or a segmenter already made (tests, benchmarks). */
  models: string | Segmenter;
  out: string;
  resume?: boolean;
  shard?: Shard;
  fusion?: Fusion;
  device?: 'auto' | 'cpu' | 'cuda';
  precision?: 'fp32' | 'fp16';
  imageRoot?: string;
  vocabPath?: string;
  /** The largest image accepted, in pixels (SegmenterOptions.maxPixels). */
  maxPixels?: number;
  /** Stop after this many images (a quick look at a split). */
  limitImages?: number;
  /** Called after each image with the sentences done so far and the total. */
  onProgress?: (done: number, total: number) => void;
}

/** I, U and IoU of every proposal against the ground truth, in one batched call; record(i, score) reads them. */
function proposalCounts(masks: Uint8Array, gt: Uint8Array, height: number, width: number) {
  const { intersection, union, iou } = maskIoU(masks, gt, height, width);
  return (index: number, score: number): PredictionRecord => ({
    intersection: intersection[index], union: union[index], iou: iou[index], index, score,
  });
}

/** The sha256 of every model file (and the vocabulary) a run with this fusion and precision uses. */
function modelIdentity(manifest: Manifest, fusion: Fusion, precision: string): Record<string, string> {
  const id: Record<string, string> = {};
  for (const name of neededModels(fusion, true)) {
    const file = manifest.files.find((f) => f.model === name && f.precision === precision);
    id[name] = file?.sha256 ?? 'missing';
  }
  if (manifest.vocab?.sha256) id.vocab = manifest.vocab.sha256;
  return id;
}

/**
 * Runs (or resumes) an evaluation; returns the summary written to RUNDIR/summary.json. The run's plan (settings,
 * shard, planned sentences) is checked against an existing run before anything is written: an unknown split, an
 * existing run without `resume` or with other settings is a RunPlanError, unusable models a SegmentError.
 */
export async function runEval(options: EvalOptions): Promise<RunSummary> {
  const ds = ReferDataset.load(options.data, options.dataset, { imageRoot: options.imageRoot });
  const fusion = options.fusion ?? 'G2L';
  let groups: ReferImageGroup[];
  try {
    groups = ds.byImage(options.split);
  } catch (err) {
    throw err instanceof RangeError ? new RunPlanError(`--split: ${err.message}`) : err;
  }
  if (groups.length === 0) throw new RunPlanError(`${options.dataset} (${ds.splitBy}) has no refs in split '${options.split}'`);
  groups = groups.filter((g) => inShard(g.image.id, options.shard));
  if (options.limitImages !== undefined) groups = groups.slice(0, options.limitImages);
  let manifest: Manifest, precision: string;
  if (typeof options.models === 'string') {
    try {
      manifest = readManifest(options.models);
    } catch (err) {
      throw err instanceof ModelLoadError ? new SegmentError('models', err.message) : err;
    }
    precision = options.precision ?? 'fp32';
  } else {
    manifest = options.models.models.manifest;
    precision = options.models.models.precision;
  }
  const keys = groups.flatMap((g) => g.items.flatMap((it) => it.ref.sentences.map((s) => resultKey({ ref_id: it.ref.ref_id, sent_id: s.sent_id }))));
  const plan = makePlan(
    { dataset: options.dataset, split: options.split, splitBy: ds.splitBy, fusion, precision, models: modelIdentity(manifest, fusion, precision) },
    keys, { shard: options.shard, limitImages: options.limitImages });
  ResultStore.check(options.out, { resume: options.resume, plan });
  const segmenter = typeof options.models === 'string'
    ? await createSegmenter({ models: options.models, device: options.device, precision: options.precision, fusion, vocabPath: options.vocabPath, maxPixels: options.maxPixels })
    : options.models;
  let store: ResultStore;
  try {
    store = ResultStore.open(options.out, { resume: options.resume, plan });
  } catch (err) {
    if (typeof options.models === 'string') await segmenter.dispose();
    throw err;
  }
  const total = groups.reduce((s, g) => s + g.items.reduce((t, it) => t + it.ref.sentences.length, 0), 0);
  const pending = groups.filter((g) => g.items.some((it) => it.ref.sentences.some((s) => !store.has(it.ref.ref_id, s.sent_id))));
  let done = total - pending.reduce((s, g) => s + g.items.reduce((t, it) => t + it.ref.sentences.filter((x) => !store.has(it.ref.ref_id, x.sent_id)).length, 0), 0);
  // One image ahead: its decoding, SAM and features run while the current image's sentences are scored.
  const prepare = (g: ReferImageGroup) =>
    segmenter.prepare(ds.imagePath(g.image)).then(
      (p) => ({ prepared: p as PreparedImage | null, error: null as SegmentError | null }),
      (err) => {
        if (err instanceof SegmentError && err.kind === 'noProposal') return { prepared: null, error: err };
        throw err;
      },
    );
  try {
    let next = pending.length > 0 ? prepare(pending[0]) : null;
    for (let gi = 0; gi < pending.length; gi++) {
      const group = pending[gi];
      const current = await next!;
      next = gi + 1 < pending.length ? prepare(pending[gi + 1]) : null;
      const { height, width } = group.image;
      for (const item of group.items) {
        const gt = annotationMask(item.annotation, item.image, { rleFromPolygons, rleDecode });
        const sentences = item.ref.sentences.filter((s) => !store.has(item.ref.ref_id, s.sent_id));
        if (sentences.length === 0) continue;
        const base = { ref_id: item.ref.ref_id, image_id: group.image.id, order: item.order };
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
        const results = await segmenter.segmentPrepared(p, sentences.map((s) => s.raw.toLowerCase()), { kVariants: variants });
        for (const [j, r] of results.entries()) {
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
        done += sentences.length;
      }
      options.onProgress?.(done, total);
    }
  } finally {
    if (typeof options.models === 'string') await segmenter.dispose();
  }
  return store.writeSummary();
}
