// Spec §5: CLIP scores of the hybrid visual features against a text feature, and the pure-HybridGL choice.

/**
 * score_i = logitScale · cos(v_i, text) for n visual features (n×dim, row-major). A zero text vector gives NaN
 * scores, as in the reference (where such scores are never used).
 */
export function clipScores(visual: Float32Array, n: number, text: Float32Array, logitScale: number): Float64Array {
  const dim = text.length;
  if (visual.length !== n * dim) {
    throw new RangeError(`visual has length ${visual.length}, expected n×dim = ${n}×${dim}`);
  }
  let tn = 0;
  for (let d = 0; d < dim; d++) tn += text[d] * text[d];
  tn = Math.sqrt(tn);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let dot = 0, vn = 0;
    for (let d = 0; d < dim; d++) {
      const v = visual[i * dim + d];
      dot += v * text[d];
      vn += v * v;
    }
    out[i] = (logitScale * dot) / (Math.sqrt(vn) * tn);
  }
  return out;
}

/** Index of the first maximum as torch.argmax picks it: a NaN counts as the largest value. -1 when empty. */
export function argmax(values: ArrayLike<number>): number {
  let best = -1;
  for (let i = 0; i < values.length; i++) {
    if (Number.isNaN(values[i])) return i;
    if (best < 0 || values[i] > values[best]) best = i;
  }
  return best;
}

/** Softmax over all entries (max-shifted; NaN in, NaN out). */
export function softmax(values: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) max = Math.max(max, values[i]);
  const out = new Float64Array(values.length);
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += out[i] = Math.exp(values[i] - max);
  for (let i = 0; i < values.length; i++) out[i] /= sum;
  return out;
}

/**
 * Indices of the k largest values in descending order, NaN counting as largest (as torch.topk); equal values keep
 * ascending index order (a stable choice: torch.topk leaves tie order unspecified).
 */
export function topK(values: ArrayLike<number>, k: number): number[] {
  const key = (i: number) => (Number.isNaN(values[i]) ? Infinity : values[i]);
  const idx = Array.from({ length: values.length }, (_, i) => i);
  idx.sort((a, b) => {
    const nanA = Number.isNaN(values[a]), nanB = Number.isNaN(values[b]);
    if (nanA !== nanB) return nanA ? -1 : 1;
    return key(b) === key(a) ? a - b : key(b) > key(a) ? 1 : -1;
  });
  return idx.slice(0, Math.max(0, Math.min(k, values.length)));
}
