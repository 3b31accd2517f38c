// Spec §7 (coherence) and §8 (GEM heatmap): the text-conditioned heatmap and each proposal's coherence score.
import { coherenceMap, coherenceWeight, heatmapMaskScoresAsync, minMaxNormalize, resizeMap, type PositionFlag }
  from '../../bindings/heatmap.ts';
import { GEM_IMAGE_SIZE } from './preprocess.ts';

export const GEM_GRID = 28;

/**
 * GEM's heatmap at 448×448: patch features (28×28 × dim, L2-normalised) · the L2-normalised prompt feature, bilinear
 * (no antialias) up to 448×448, then min-max normalised.
 */
export function gemHeatmap(patchFeatures: Float32Array, textFeature: Float32Array): Float32Array {
  const dim = textFeature.length;
  const tokens = GEM_GRID * GEM_GRID;
  if (patchFeatures.length !== tokens * dim) {
    throw new RangeError(`patchFeatures has length ${patchFeatures.length}, expected ${tokens}×${dim}`);
  }
  let norm = 0;
  for (let d = 0; d < dim; d++) norm += textFeature[d] * textFeature[d];
  norm = Math.sqrt(norm);
  const logits = new Float32Array(tokens);
  for (let t = 0; t < tokens; t++) {
    let dot = 0;
    for (let d = 0; d < dim; d++) dot += patchFeatures[t * dim + d] * textFeature[d];
    logits[t] = dot / norm;
  }
  return minMaxNormalize(resizeMap(logits, GEM_GRID, GEM_GRID, GEM_IMAGE_SIZE, GEM_IMAGE_SIZE));
}

export interface CoherenceResult {
  /** c_m per proposal: (2 − b)·mean(map inside m) − b·mean(map outside m). */
  coherence: Float64Array;
  /** b: 1.95 for relation big, 1.5 for small, else 1.8. */
  weight: number;
}

/**
 * Resizes the 448×448 heatmap to the image (bilinear with antialias), min-max normalises it, applies the position
 * prior, divides by the mean, and scores each proposal mask against it. `emptyValue` is the mean of an empty side
 * (empty or full mask): NaN as the reference's 0/0.
 */
export async function coherenceScores(
  heat448: Float32Array,
  masks: Uint8Array,
  n: number,
  height: number,
  width: number,
  position: PositionFlag,
  relation: string,
  emptyValue = NaN,
): Promise<CoherenceResult & { map: Float32Array }> {
  const map = coherenceMap(heat448, GEM_IMAGE_SIZE, GEM_IMAGE_SIZE, height, width, position);
  const weight = coherenceWeight(relation);
  const scores = await heatmapMaskScoresAsync(map, masks, n, height, width, { weight, emptyValue });
  return { coherence: scores.coherence, weight, map };
}
