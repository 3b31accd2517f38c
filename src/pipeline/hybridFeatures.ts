// Spec §3–§4: per-proposal CLIP inputs (global and local images), the 14×14 mask grid, and the hybrid features.
import { buildClipInputsAsync } from '../../bindings/clipInputs.ts';
import { gaussianBlurAsync } from '../../bindings/gaussianBlur.ts';
import { poolMasksToGridAsync } from '../../bindings/maskGrid.ts';
import type { Fusion, Models } from '../models/loadModels.ts';
import type { RgbImage } from './preprocess.ts';
import { timed, type Timings } from './timing.ts';

export const CLIP_IMAGE_SIZE = 224;
export const CLIP_GRID = 14;

export interface HybridFeatures {
  /** n × dim features, one row per proposal. */
  features: Float32Array;
  n: number;
  dim: number;
  /** n × 14 × 14 mask values at patch resolution (QUIRK aliased-pool: bilinear point samples). */
  maskGrid: Float32Array;
}

export interface HybridFeatureOptions {
  fusion?: Fusion;
  /** How masks reach the 14×14 patch grid: 'bilinear' point samples as the reference (QUIRK aliased-pool) or
   *  exact 'area' fractions. */
  maskGrid?: 'bilinear' | 'area';
  /** Also return the CLIP inputs (n × 3 × 224 × 224 each), for inspection and parity tests. */
  keepInputs?: boolean;
  /** 3×H×W float32 composited into the local image in place of the ImageNet-normalised photo (PhraseCut's loop:
   *  phraseCutLocalSource). */
  localSource?: Float32Array;
}

/**
 * Builds the global (sharp inside, blurred outside) and local (masked, CLIP-mean fill) images of every proposal,
 * runs the CLIP trunk on both at once and the hybrid head of the chosen fusion.
 */
export async function computeHybridFeatures(
  image: RgbImage,
  masks: Uint8Array,
  n: number,
  models: Models,
  options: HybridFeatureOptions = {},
  timings?: Timings,
): Promise<HybridFeatures & { inputs?: { global: Float32Array; local: Float32Array } }> {
  const { rgb, height, width } = image;
  const fusion = options.fusion ?? 'G2L';
  const [inputs, maskGrid] = await timed(timings, 'clipInputs', async () => {
    const blurred = await gaussianBlurAsync(rgb, height, width);
    return Promise.all([
      buildClipInputsAsync(rgb, blurred, masks, n, height, width,
        { size: CLIP_IMAGE_SIZE, ...(options.localSource ? { localSource: options.localSource } : {}) }),
      poolMasksToGridAsync(masks, n, height, width, CLIP_GRID, { mode: options.maskGrid ?? 'bilinear' }),
    ]);
  });
  const local = inputs.local as Float32Array, global = inputs.global as Float32Array;
  const plane = 3 * CLIP_IMAGE_SIZE * CLIP_IMAGE_SIZE;
  const needsGlobal = fusion === 'G2L' || fusion === 'L2G' || fusion === 'G2L&L2G';
  // Local and global images go through the trunk in one batch, as the reference's blocks 0–8 do.
  const batch = new Float32Array((needsGlobal ? 2 : 1) * n * plane);
  batch.set(local, 0);
  if (needsGlobal) batch.set(global, n * plane);
  const tokens = await timed(timings, 'clipTrunk', () =>
    models.clipTrunk({ data: batch, dims: [(needsGlobal ? 2 : 1) * n, 3, CLIP_IMAGE_SIZE, CLIP_IMAGE_SIZE] }));
  const [, seq, width2] = tokens.dims;
  const per = n * seq * width2;
  const localTokens = { data: tokens.data.subarray(0, per), dims: [n, seq, width2] };
  const globalTokens = needsGlobal ? { data: tokens.data.subarray(per, 2 * per), dims: [n, seq, width2] } : null;
  const grid = { data: maskGrid, dims: [n, CLIP_GRID, CLIP_GRID] };
  const out = await timed(timings, 'clipHead', () =>
    models.clipHead(localTokens, globalTokens, fusion === 'crop' ? null : grid, fusion));
  return {
    features: out.data,
    n,
    dim: out.dims[1],
    maskGrid,
    ...(options.keepInputs ? { inputs: { global, local } } : {}),
  };
}
