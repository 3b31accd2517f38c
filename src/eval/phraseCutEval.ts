// Spec §10: the reference's PhraseCut loop (Hybridgl_main_PhraseCut.py) — one item per task, its GT the union of its
// instances' Pillow polygons, SAM with crops and a 64×64 grid, the local CLIP image from the photo resized to 800 and
// back; the same results, resume and shards as §0.
import { join } from 'node:path';

import { PhraseCutDataset, phraseCutGtMask } from '../data/phraseCut.ts';
import { PHRASECUT_AMG, type AmgOptions } from '../pipeline/samCrops.ts';
import type { LocalImage } from '../segmenterOptions.ts';
import { checkedImage, loadDataset, runPlannedEval, type EvalGroup, type EvalRunOptions } from './evalLoop.ts';
import { modelSettings } from './evaluate.ts';
import { makePlan } from './runPlan.ts';
import { inShard, type Shard } from './shard.ts';
import { resultKey, type RunSummary } from './store.ts';

/** The loop's local CLIP image (QUIRK phrasecut-local-resize); a segmenter given as `models` should be made with it. */
export const PHRASECUT_LOCAL_IMAGE: LocalImage = 'resized-800';

export interface PhraseCutEvalOptions extends EvalRunOptions {
  /** Changes to the reference's SAM generator (PHRASECUT_AMG); recorded in run.json. Default none. */
  amg?: AmgOptions;
}

/** The eval groups of a PhraseCut split: images by ascending id, tasks in file order, ref_id = task position. */
export function phraseCutGroups(ds: PhraseCutDataset, shard?: Shard): EvalGroup[] {
  let order = 0;
  const groups: EvalGroup[] = [];
  for (const { image, tasks } of ds.byImage()) {
    const items = tasks.map((task) => {
      const position = order++;
      return {
        ref_id: position, order: position, sentences: [{ sent_id: 0, raw: task.phrase }],
        gt: () => phraseCutGtMask(task, image.width, image.height), extra: { task_id: task.task_id },
      };
    });
    if (!inShard(image.image_id, shard)) continue;
    groups.push({
      imageId: image.image_id, height: image.height, width: image.width, items,
      // The reference cv2.resizes sam_img to the listed size: a no-op on VGPhraseCut_v0, where the sizes agree; a
      // differing image is refused (resizing to the listed size is not implemented).
      image: checkedImage(ds.imagePath(image), image.width, image.height, `${join(ds.root, 'image_data_split.json')} (image_id ${image.image_id})`),
    });
  }
  return groups;
}

/** Runs (or resumes) a PhraseCut evaluation; returns the summary written to RUNDIR/summary.json. */
export async function runPhraseCutEval(options: PhraseCutEvalOptions): Promise<RunSummary> {
  const ds = loadDataset(() => PhraseCutDataset.load(options.data, options.split, { imageRoot: options.imageRoot }));
  const fusion = options.fusion ?? 'G2L';
  const amg = { ...PHRASECUT_AMG, ...options.amg };
  let groups = phraseCutGroups(ds, options.shard);
  if (options.limitImages !== undefined) groups = groups.slice(0, options.limitImages);
  const { precision, models, configuration } = modelSettings(options.models, options.precision, fusion, { ...options.amg });
  const keys = groups.flatMap((g) => g.items.flatMap((it) => it.sentences.map((s) => resultKey({ ref_id: it.ref_id, sent_id: s.sent_id }))));
  // localImage is a setting so that a run directory from before it (the photo) is not resumed with it.
  const plan = makePlan({
    dataset: 'phrasecut', split: options.split, fusion, precision, models, localImage: PHRASECUT_LOCAL_IMAGE,
    ...(options.amg && Object.keys(options.amg).length > 0 ? { sam: options.amg } : {}),
  }, keys, { shard: options.shard, limitImages: options.limitImages, configuration });
  return runPlannedEval(options, plan, groups, { proposals: { amg }, localImage: PHRASECUT_LOCAL_IMAGE });
}
