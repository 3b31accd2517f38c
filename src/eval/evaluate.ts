// Spec §0 and §7 (QUIRK sticky-k): the evaluation loop over a REFER split — one JSON line per sentence, resumable,
// shardable by image, with decoding and SAM for the next image overlapping the scoring of the current one.
import { join } from 'node:path';

import { rleDecode, rleFromPolygons } from '../../bindings/rle.ts';
import { annotationMask } from '../data/gtMask.ts';
import { ReferDataset, type ReferDatasetName, type ReferImageGroup } from '../data/refer.ts';
import { filesOfPrecision, ModelLoadError, readManifest, type Fusion, type Manifest, type Precision } from '../models/loadModels.ts';
import { neededModels, SegmentError, type Segmenter } from '../segmenter.ts';
import { checkedImage, loadDataset, runPlannedEval, type EvalRunOptions } from './evalLoop.ts';
import { runConfiguration, type RunConfiguration } from './paperConfig.ts';
import { makePlan, RunPlanError } from './runPlan.ts';
import { inShard } from './shard.ts';
import { resultKey, type RunSummary } from './store.ts';

export interface EvalOptions extends EvalRunOptions {
  dataset: ReferDatasetName;
}

/** The sha256 of every model file (and the vocabulary) a run with this fusion and precision uses. */
function modelIdentity(manifest: Manifest, fusion: Fusion, precision: Precision): Record<string, string> {
  const id: Record<string, string> = {};
  const files = filesOfPrecision(manifest, precision);
  for (const name of neededModels(fusion, true)) id[name] = files.get(name)?.sha256 ?? 'missing';
  if (manifest.vocab?.sha256) id.vocab = manifest.vocab.sha256;
  return id;
}

/** The precision and model identity a run records in its plan, and its configuration against the paper's, read from
 *  the manifest before any model loads. */
export function modelSettings(models: string | Segmenter, precisionOption: Precision | undefined, fusion: Fusion,
  samSettings?: Record<string, unknown>): { precision: Precision; models: Record<string, string>; configuration: RunConfiguration } {
  let manifest: Manifest, precision: Precision;
  if (typeof models === 'string') {
    try {
      manifest = readManifest(models);
    } catch (err) {
      throw err instanceof ModelLoadError ? new SegmentError('models', err.message) : err;
    }
    precision = precisionOption ?? 'fp32';
  } else {
    manifest = models.models.manifest;
    precision = models.models.precision;
  }
  return { precision, models: modelIdentity(manifest, fusion, precision), configuration: runConfiguration(manifest, { fusion, precision, samSettings }) };
}

/**
 * Runs (or resumes) an evaluation; returns the summary written to RUNDIR/summary.json. The run's plan (settings,
 * shard, planned sentences) is checked against an existing run before anything is written: an unknown split, an
 * existing run without `resume` or with other settings is a RunPlanError, unusable models a SegmentError.
 */
export async function runEval(options: EvalOptions): Promise<RunSummary> {
  const ds = loadDataset(() => ReferDataset.load(options.data, options.dataset, { imageRoot: options.imageRoot }));
  const instancesFile = join(options.data, options.dataset, 'instances.json');
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
  const { precision, models, configuration } = modelSettings(options.models, options.precision, fusion);
  const keys = groups.flatMap((g) => g.items.flatMap((it) => it.ref.sentences.map((s) => resultKey({ ref_id: it.ref.ref_id, sent_id: s.sent_id }))));
  const plan = makePlan(
    { dataset: options.dataset, split: options.split, splitBy: ds.splitBy, fusion, precision, models },
    keys, { shard: options.shard, limitImages: options.limitImages, configuration });
  return runPlannedEval(options, plan, groups.map((g) => ({
    imageId: g.image.id, image: checkedImage(ds.imagePath(g.image), g.image.width, g.image.height, `${instancesFile} (image ${g.image.id})`),
    height: g.image.height, width: g.image.width,
    items: g.items.map((it) => ({
      ref_id: it.ref.ref_id, order: it.order, sentences: it.ref.sentences,
      gt: () => annotationMask(it.annotation, it.image, { rleFromPolygons, rleDecode }),
    })),
  })));
}
