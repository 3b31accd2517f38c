// Stand-in backbones for pipeline tests: plain TS with the shape of src/models' Models, no ONNX.
import type { FloatTensor, Models } from '../src/models/loadModels.ts';
import { CLIP_VOCAB_PATH as VOCAB } from './sharedData.ts';

export { VOCAB };
const E = 4, D = 8;

/** A stand-in for the ONNX backbones with deterministic, structured outputs: every prompt point gets three discs of
 *  growing radius around it (logits ±10), so that proposals survive SAM's filters, overlap for NMS, and differ. */
export function standInModels(calls: Record<string, number> = {}): Models {
  const count = (k: string) => (calls[k] = (calls[k] ?? 0) + 1);
  const models = {
    manifest: { files: [{ model: 'clip_text', outputs: [{ name: 'features', dtype: 'float32', shape: ['batch', E] }] }] },
    device: 'cpu', precision: 'fp32', logitScale: 100, vocabPath: VOCAB,
    async samEncoder(): Promise<FloatTensor> {
      count('samEncoder');
      return { data: new Float32Array(4), dims: [1, 1, 2, 2] };
    },
    async samDecoder(_e: FloatTensor, points: FloatTensor) {
      count('samDecoder');
      const p = points.dims[0], S = 256;
      const logits = new Float32Array(p * 3 * S * S), iou = new Float32Array(p * 3).fill(0.95);
      for (let i = 0; i < p; i++) {
        const cx = points.data[2 * i] / 4, cy = points.data[2 * i + 1] / 4;
        for (let k = 0; k < 3; k++) {
          const r = 12 + 10 * k + (i % 5) * 3;
          for (let y = 0; y < S; y++)
            for (let x = 0; x < S; x++) logits[((i * 3 + k) * S + y) * S + x] = (x - cx) ** 2 + (y - cy) ** 2 < r * r ? 10 : -10;
        }
      }
      return { lowResLogits: { data: logits, dims: [p, 3, S, S] }, iouPredictions: { data: iou, dims: [p, 3] } };
    },
    async clipTrunk(images: FloatTensor): Promise<FloatTensor> {
      count('clipTrunk');
      const b = images.dims[0], plane = 3 * 224 * 224, out = new Float32Array(b * 197 * D);
      for (let i = 0; i < b; i++) {
        let s = 0;
        for (let q = 0; q < plane; q += 97) s += images.data[i * plane + q];
        out.fill(s / 1000, i * 197 * D, (i + 1) * 197 * D);
      }
      return { data: out, dims: [b, 197, D] };
    },
    async clipHead(local: FloatTensor, _g: FloatTensor | null, grid: FloatTensor | null): Promise<FloatTensor> {
      count('clipHead');
      const n = local.dims[0], out = new Float32Array(n * E);
      for (let i = 0; i < n; i++) {
        let left = 0, right = 0;
        for (let y = 0; y < 14; y++) for (let x = 0; x < 14; x++) (x < 7 ? (left += grid!.data[i * 196 + y * 14 + x]) : (right += grid!.data[i * 196 + y * 14 + x]));
        out.set([1 + left, 1 + right, local.data[i * 197 * D], 0.5], i * E);
      }
      return { data: out, dims: [n, E] };
    },
    async clipText(ids: { data: Int32Array | BigInt64Array; dims: readonly number[] }): Promise<FloatTensor> {
      count('clipText');
      const n = ids.dims[0], out = new Float32Array(n * E);
      for (let i = 0; i < n; i++)
        for (let t = 0; t < 77; t++) {
          const id = Number(ids.data[i * 77 + t]);
          out[i * E + (id % E)] += ((id * 2654435761) % 1000) / 1000;
        }
      return { data: out, dims: [n, E] };
    },
    async gemVisual(): Promise<FloatTensor> {
      count('gemVisual');
      const out = new Float32Array(784 * E);
      for (let t = 0; t < 784; t++) out.set([(t % 28) / 28, 1 - (t % 28) / 28, Math.floor(t / 28) / 28, 0.3], t * E);
      return { data: out, dims: [1, 784, E] };
    },
    async dispose() {},
  };
  return models as unknown as Models;
}


