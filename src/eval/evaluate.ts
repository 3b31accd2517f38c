// Spec §0 and §7 (QUIRK sticky-k): the evaluation loop over a REFER split — one JSON line per sentence, resumable,
// shardable by image, with decoding and SAM for the next image overlapping the scoring of the current one.
import { rleDecode, rleFromPolygons } from '../../bindings/rle.ts';
import { annotationMask } from '../data/gtMask.ts';
import { ReferDataset, type ReferDatasetName, type ReferImageGroup } from '../data/refer.ts';
import type { Fusion } from '../models/loadModels.ts';
import { createSegmenter, type Segmenter } from '../segmenter.ts';
import { runEvalLoop } from './evalLoop.ts';
import { inShard, ResultStore, type RunSummary, type Shard } from './store.ts';

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
  /** Stop after this many images (a quick look at a split). */
  limitImages?: number;
  /** Called after each image with the sentences done so far and the total. */
  onProgress?: (done: number, total: number) => void;
}

/** Runs (or resumes) an evaluation; returns the summary written to RUNDIR/summary.json. */
export async function runEval(options: EvalOptions): Promise<RunSummary> {
  const ds = ReferDataset.load(options.data, options.dataset, { imageRoot: options.imageRoot });
  const fusion = options.fusion ?? 'G2L';
  const store = ResultStore.open(options.out, {
    resume: options.resume,
    meta: { dataset: options.dataset, split: options.split, splitBy: ds.splitBy, fusion, ...(options.shard ? { shard: options.shard } : {}) },
  });
  let groups: ReferImageGroup[] = ds.byImage(options.split).filter((g) => inShard(g.image.id, options.shard));
  if (options.limitImages !== undefined) groups = groups.slice(0, options.limitImages);
  const segmenter = typeof options.models === 'string'
    ? await createSegmenter({ models: options.models, device: options.device, precision: options.precision, fusion, vocabPath: options.vocabPath })
    : options.models;
  try {
    await runEvalLoop(groups.map((g) => ({
      imageId: g.image.id, image: ds.imagePath(g.image), height: g.image.height, width: g.image.width,
      items: g.items.map((it) => ({
        ref_id: it.ref.ref_id, order: it.order, sentences: it.ref.sentences,
        gt: () => annotationMask(it.annotation, it.image, { rleFromPolygons, rleDecode }),
      })),
    })), segmenter, store, options.onProgress);
  } finally {
    if (typeof options.models === 'string') await segmenter.dispose();
  }
  return store.writeSummary();
}
