// Models: the derived tensors of export.py's graphs, rebuilt from checkpoint tensors as the templates' recipes say
// (models/hybridgl_export/templates.py): a tensor as stored, its transpose or another order of its axes, a
// concatenation along dim 0, GEM's antialiased-bicubic positional-embedding resample (Spec §8), the fp16
// rounding of the fp16 graphs and the per-column int8 quantisation of the int8 graphs.

export interface RecipePart {
  key: string;
  /** The checkpoint tensor's shape, as the template was made for. */
  shape: number[];
  transpose?: boolean;
  /** The tensor's axes in this order (torch's permute; SAM's ConvTranspose weights enter the decoder as (0, 2, 3, 1)). */
  permute?: number[];
  /** GEM: the [1 + g², D] positional embedding resampled to [1 + resample², D] with these per-axis taps. */
  resample?: number;
  taps?: Array<[number, number[]]>;
  /** int8 graphs: the slot holds this part of the [K, N] weight's per-column quantisation (quantizeInt8PerColumn). */
  int8?: 'values' | 'scales';
}

export function transpose2d(values: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c];
  return out;
}

/** values of `shape`, its axes put in the order `axes` (output axis i is input axis axes[i]), row-major. */
export function permuteAxes(values: Float32Array, shape: number[], axes: number[]): Float32Array {
  const n = shape.length;
  if (axes.length !== n || [...axes].sort((a, b) => a - b).some((a, i) => a !== i))
    throw new RangeError(`permute ${JSON.stringify(axes)} is not an order of the ${n} axes of [${shape.join(', ')}]`);
  const inStrides = new Array<number>(n);
  for (let i = n - 1, s = 1; i >= 0; s *= shape[i], i--) inStrides[i] = s;
  const outShape = axes.map((a) => shape[a]), strides = axes.map((a) => inStrides[a]);
  const out = new Float32Array(values.length);
  const index = new Array<number>(n).fill(0);
  let from = 0;
  for (let o = 0; o < out.length; o++) {
    out[o] = values[from];
    // Odometer over the output index, moving `from` by the input stride of each output axis.
    for (let d = n - 1; d >= 0; d--) {
      if (++index[d] < outShape[d]) {
        from += strides[d];
        break;
      }
      index[d] = 0;
      from -= strides[d] * (outShape[d] - 1);
    }
  }
  return out;
}

/** One axis of PyTorch's separable antialiased resample: out = Σ_k in[x0 + k]·w_k, accumulated as float32 fused
 *  multiply-adds (t = fma(x, w, t)), the order its CPU kernel uses. `at(i, j)`/`put(o, j, v)` address the other
 *  axes through j. */
function resampleAxis(taps: Array<[number, number[]]>, count: number, at: (i: number, j: number) => number,
  put: (o: number, j: number, v: number) => void) {
  const f = Math.fround;
  for (const [o, [x0, weights]] of taps.entries()) {
    const w = weights.map(f);
    for (let j = 0; j < count; j++) {
      let t = f(at(x0, j) * w[0]);
      for (let k = 1; k < w.length; k++) t = f(t + at(x0 + k, j) * w[k]);
      put(o, j, t);
    }
  }
}

/** [1 + g², D] → [1 + n², D]: class row kept, the g×g grid resampled along W, then H (as resample_positional_embedding). */
export function resamplePositional(pos: Float32Array, width: number, taps: Array<[number, number[]]>): Float32Array {
  const g = Math.round(Math.sqrt(pos.length / width - 1)), n = taps.length;
  const grid = pos.subarray(width);
  const mid = new Float32Array(g * n * width); // [h, x, d]
  resampleAxis(taps, g * width, (i, j) => grid[(Math.floor(j / width) * g + i) * width + (j % width)],
    (o, j, v) => (mid[(Math.floor(j / width) * n + o) * width + (j % width)] = v));
  const out = new Float32Array((1 + n * n) * width);
  out.set(pos.subarray(0, width));
  const body = out.subarray(width); // [y, x, d]
  resampleAxis(taps, n * width, (i, j) => mid[i * n * width + j], (o, j, v) => (body[o * n * width + j] = v));
  return out;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 → IEEE half bits, round to nearest even (numpy's astype(float16)), subnormals and overflow included. */
export function floatToHalfBits(x: number): number {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000, exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return mant ? sign | 0x7e00 | (mant >>> 13) : sign | 0x7c00;
  if (exp > 142) return sign | 0x7c00;
  if (exp < 102) return sign;
  if (exp < 113) {
    mant |= 0x800000;
    const s = 126 - exp;
    let h = mant >>> s;
    const rem = mant & ((1 << s) - 1), half = 1 << (s - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = ((exp - 112) << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}

export function toFloat16Bytes(values: Float32Array): Uint8Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = floatToHalfBits(values[i]);
  return new Uint8Array(out.buffer);
}

/** round half to even, as numpy's rint. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** A row-major float32 [K, N] weight quantised per column as models/hybridgl_export/int8.py does, bit for bit:
 *  scale = max |w| over K / 127 (1 for an all-zero column), value = rint(w / scale) clipped to ±127, in float32
 *  arithmetic (a float32 quotient is the double quotient rounded once: the double carries enough bits). */
export function quantizeInt8PerColumn(w: Float32Array, columns: number): { values: Int8Array; scales: Float32Array } {
  if (!(columns > 0) || w.length % columns !== 0)
    throw new RangeError(`a weight of ${w.length} values is not a matrix of ${columns} columns`);
  const f = Math.fround, rows = w.length / columns;
  const scales = new Float32Array(columns);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < columns; c++) scales[c] = Math.max(scales[c], Math.abs(w[r * columns + c]));
  for (let c = 0; c < columns; c++) scales[c] = scales[c] > 0 ? f(scales[c] / 127) : 1;
  const values = new Int8Array(w.length);
  for (let i = 0; i < w.length; i++) values[i] = Math.max(-127, Math.min(127, roundHalfEven(f(w[i] / scales[i % columns]))));
  return { values, scales };
}
