// Benchmarks at a chosen proposal count (spec §2 shapes): SAM's encoder and decoder run as usual, then the decoder's
// logits are replaced by n disjoint rectangles so that exactly n proposals survive the post-processing and reach
// the CLIP stages (random-weight models keep few or none; the work and memory of every stage stay real).
import type { FloatTensor, Models } from '../models/loadModels.ts';

const LOW = 256; // SAM's low-res mask side
const SAM_SIZE = 1024;

/** Logits [P,3,256,256] with n rectangles (inside +20, outside −20) in the first n (prompt, mask) slots, on a grid
 *  inside the image's part of the padded frame (usedH × usedW low-res pixels); IoU predictions 0.95 for them and 0
 *  for the rest (filtered). */
export function syntheticDecoderOutput(n: number, prompts: number, usedH: number, usedW: number):
  { lowResLogits: FloatTensor; iouPredictions: FloatTensor } {
  if (!(Number.isInteger(n) && n >= 1 && n <= 3 * prompts)) throw new RangeError(`proposals must be an integer in 1..${3 * prompts}, got ${n}`);
  const cols = Math.ceil(Math.sqrt((n * usedW) / usedH)), rows = Math.ceil(n / cols);
  const cellH = Math.floor(usedH / rows), cellW = Math.floor(usedW / cols);
  if (cellH < 4 || cellW < 4) throw new RangeError(`proposals: ${n} rectangles do not fit the image`);
  const plane = LOW * LOW;
  const logits = new Float32Array(prompts * 3 * plane).fill(-20);
  const iou = new Float32Array(prompts * 3);
  for (let i = 0; i < n; i++) {
    const y0 = Math.floor(i / cols) * cellH + 1, x0 = (i % cols) * cellW + 1;
    const out = logits.subarray(i * plane, (i + 1) * plane);
    for (let y = y0; y < y0 + cellH - 2; y++) out.fill(20, y * LOW + x0, y * LOW + x0 + cellW - 2);
    iou[i] = 0.95;
  }
  return { lowResLogits: { data: logits, dims: [prompts, 3, LOW, LOW] }, iouPredictions: { data: iou, dims: [prompts, 3] } };
}

/** The models with SAM's decoder output replaced by `syntheticDecoderOutput` (its session still runs). The image's
 *  extent in the padded frame comes from the point grid: s points per side sit at (2i+1)/(2s) of each side. */
export function withSyntheticProposals(models: Models, n: number): Models {
  return {
    ...models,
    samDecoder: async (embeddings, points, labels) => {
      await models.samDecoder(embeddings, points, labels);
      const prompts = points.dims[0], perSide = Math.round(Math.sqrt(prompts));
      let maxX = 0, maxY = 0;
      for (let i = 0; i < points.data.length; i += 2) {
        maxX = Math.max(maxX, points.data[i]);
        maxY = Math.max(maxY, points.data[i + 1]);
      }
      const extent = (max: number) => Math.floor(((max * 2 * perSide) / (2 * perSide - 1)) * (LOW / SAM_SIZE)) - 1;
      return syntheticDecoderOutput(n, prompts, extent(maxY), extent(maxX));
    },
  };
}
