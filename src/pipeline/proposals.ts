// Spec §2: SAM automatic mask generation with the reference parameters (8×8 points, one batch, multimask).
import {
  postprocessSamMasksAsync, samPointGrid, samTransformCoords, type SamPostOptions, type SamPostResult,
} from '../../bindings/samPost.ts';
import type { Models } from '../models/loadModels.ts';
import { generateAmgMasks, modelCropOpener, type AmgOptions, type AmgProgress } from './samCrops.ts';
import { prepareSamInput, SAM_IMAGE_SIZE, type RgbImage } from './preprocess.ts';
import { timed, type Timings } from './timing.ts';

export interface ProposalOptions {
  /** Points per side of the prompt grid (the reference: 8). */
  pointsPerSide?: number;
  /** Thresholds of the post-processing; the defaults are the reference's. */
  post?: SamPostOptions;
  /** The full generator (crop layers, batches; spec §10): when given, it replaces pointsPerSide and post. */
  amg?: AmgOptions;
}

export type Proposals = SamPostResult & { height: number; width: number };

/** Runs SAM's encoder once, the decoder on the whole point grid in one batch, then the post-processing; with
 *  `options.amg`, the full generator, reporting its progress after each batch of points. */
export async function generateProposals(image: RgbImage, models: Models, options: ProposalOptions = {}, timings?: Timings,
  onProgress?: (progress: AmgProgress) => void): Promise<Proposals> {
  const { height, width } = image;
  if (options.amg) return generateAmgMasks(height, width, modelCropOpener(image, models, timings), options.amg, onProgress);
  const perSide = options.pointsPerSide ?? 8;
  const sam = await timed(timings, 'samPreprocess', () => prepareSamInput(image));
  const embeddings = await timed(timings, 'samEncoder', () =>
    models.samEncoder({ data: sam.pixels, dims: [1, 3, SAM_IMAGE_SIZE, SAM_IMAGE_SIZE] }));
  const grid = samPointGrid(height, width, perSide);
  const points = perSide * perSide;
  const inFrame = samTransformCoords(grid, height, width, SAM_IMAGE_SIZE);
  const decoded = await timed(timings, 'samDecoder', () => models.samDecoder(
    embeddings,
    { data: Float32Array.from(inFrame), dims: [points, 1, 2] },
    { data: new Float32Array(points).fill(1), dims: [points, 1] },
  ));
  const post = await timed(timings, 'samPostprocess', () => postprocessSamMasksAsync({
    lowResLogits: decoded.lowResLogits.data,
    iouPredictions: decoded.iouPredictions.data,
    points,
    height,
    width,
    pointCoords: grid,
    options: options.post,
  }));
  return { ...post, height, width };
}
