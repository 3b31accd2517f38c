// Spatial-coherence maps and scores (spec §7–§8): bilinear map resizes with and without antialias (PyTorch's
// float32 arithmetic), min-max normalisation, the position prior, mean division, and per-mask inside/outside
// means with the coherence c_m = (2 − b)·mean_in − b·mean_out.
import { native } from './native.ts';
import {
  checkElements, checkFinite, checkFloat32, checkInt, checkMaskBatch, checkOptions, describe,
} from './validate.ts';

export type PositionFlag = 'left' | 'right' | 'middle' | 'up' | 'down' | 'none';

export interface ResizeOptions {
  /** PyTorch's antialiased bilinear (interpolate(..., antialias=True)); plain bilinear when false (default). */
  antialias?: boolean;
  /** Planes of height×width stored back to back (default 1). */
  channels?: number;
}

function resizeArgs(map: Float32Array, height: number, width: number, outH: number, outW: number, o: ResizeOptions) {
  const channels = checkInt(checkOptions(o).channels ?? 1, 'channels', 1);
  checkInt(height, 'height', 1);
  checkInt(width, 'width', 1);
  checkInt(outH, 'outHeight', 1);
  checkInt(outW, 'outWidth', 1);
  checkFloat32(map, 'map', checkElements('channels×height×width', [channels, height, width], 4));
  checkElements('channels×outHeight×outWidth', [channels, outH, outW], 4);
  return [map, channels, height, width, outH, outW, o.antialias ?? false] as const;
}

/** Bilinear resize (align_corners=False) of float maps, as torch `interpolate` on CPU in float32. */
export function resizeMap(
  map: Float32Array,
  height: number,
  width: number,
  outHeight: number,
  outWidth: number,
  options: ResizeOptions = {},
): Float32Array {
  return native.resizeMap(...resizeArgs(map, height, width, outHeight, outWidth, options), false);
}

/** resizeMap off the JS thread. */
export async function resizeMapAsync(
  map: Float32Array,
  height: number,
  width: number,
  outHeight: number,
  outWidth: number,
  options: ResizeOptions = {},
): Promise<Float32Array> {
  return native.resizeMap(...resizeArgs(map, height, width, outHeight, outWidth, options), true);
}

const f32 = Math.fround;

/**
 * (x − min)/(max − min) in float32; a constant map gives NaN everywhere, as torch does (the native functions refuse
 * such a map as input: every float they take must be finite).
 */
export function minMaxNormalize(map: Float32Array): Float32Array {
  checkFloat32(map, 'map');
  if (map.length === 0) return new Float32Array(0);
  return native.normalizeMap(map, 1, map.length, true, null, false);
}

/** torch.linspace(start, end, steps) in float32 (its scalar formula: each half computed from its own end). */
function linspace(start: number, end: number, steps: number): Float32Array {
  const out = new Float32Array(steps);
  if (steps === 1) out[0] = start;
  if (steps <= 1) return out;
  const step = f32(f32(end - start) / (steps - 1));
  const half = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) out[i] = i < half ? f32(start + f32(step * i)) : f32(end - f32(step * (steps - 1 - i)));
  return out;
}

/**
 * The position prior G as one row (it is the same on every row): left 1→0, right 0→1, middle 0→1 over the first
 * ⌊W/2⌋ columns then 1→0, up/down/none all ones (the reference's up/down branches are commented out).
 */
export function positionPrior(flag: PositionFlag, width: number): Float32Array {
  checkElements('width', [checkInt(width, 'width', 1)], 4);
  switch (flag) {
    case 'left':
      return linspace(1, 0, width);
    case 'right':
      return linspace(0, 1, width);
    case 'middle': {
      const half = Math.floor(width / 2);
      const out = new Float32Array(width);
      out.set(linspace(0, 1, half), 0);
      out.set(linspace(1, 0, width - half), half);
      return out;
    }
    case 'up':
    case 'down':
    case 'none':
      return new Float32Array(width).fill(1);
    default:
      throw new RangeError(`flag must be left, right, middle, up, down or none, got ${String(flag)}`);
  }
}

/** map × G row by row, then ÷ its mean, in float32 (the mean accumulated in double). */
export function applyPriorAndMean(map: Float32Array, height: number, width: number, flag: PositionFlag): Float32Array {
  checkFloat32(map, 'map', checkInt(height, 'height', 1) * checkInt(width, 'width', 1));
  return native.normalizeMap(map, height, width, false, positionPrior(flag, width), true);
}

/**
 * The coherence map of §7 from a GEM heatmap (heatHeight×heatWidth, 448×448 in the pipeline): resized to the
 * image with antialias, min-max normalised, × the position prior, ÷ its mean.
 */
export function coherenceMap(
  heat: Float32Array,
  heatHeight: number,
  heatWidth: number,
  height: number,
  width: number,
  flag: PositionFlag,
): Float32Array {
  checkInt(heatHeight, 'heatHeight', 1);
  checkInt(heatWidth, 'heatWidth', 1);
  checkInt(height, 'height', 1);
  checkInt(width, 'width', 1);
  checkFloat32(heat, 'heat', checkElements('heatHeight×heatWidth', [heatHeight, heatWidth], 4));
  checkElements('height×width', [height, width], 4);
  const prior = positionPrior(flag, width);
  let resized: Float32Array;
  try {
    resized = resizeMap(heat, heatHeight, heatWidth, height, width, { antialias: true });
  } catch (err) {
    if (err instanceof Error) err.message = err.message.replace(/^map\[/, 'heat[');
    throw err;
  }
  return native.normalizeMap(resized, height, width, true, prior, true);
}

/** b of §7: 1.95 for relation 'big', 1.5 for 'small', else 1.8. */
export function coherenceWeight(relation: string): number {
  return relation === 'big' ? 1.95 : relation === 'small' ? 1.5 : 1.8;
}

export interface HeatmapScoreOptions {
  /** b in c = (2 − b)·mean_in − b·mean_out; 1.8 by default (see coherenceWeight). */
  weight?: number;
  /**
   * The mean reported for an empty side (mean_in of an empty mask, mean_out of a full one). NaN by default: the
   * reference divides 0 by 0 there, so its score is NaN; pass e.g. 0 to get a finite score instead.
   */
  emptyValue?: number;
}

export interface HeatmapScores {
  meanInside: Float64Array;
  meanOutside: Float64Array;
  /** (2 − b)·mean_in − b·mean_out per mask. */
  coherence: Float64Array;
  /** |m| per mask. */
  area: Float64Array;
}

function scoreArgs(map: Float32Array, masks: Uint8Array, n: number, height: number, width: number) {
  checkMaskBatch(masks, height, width, 'masks', n);
  checkFloat32(map, 'map', height * width);
  return [map, masks, n, height, width] as const;
}

function toScores(
  sums: { sumInside: Float64Array; countInside: Float64Array; total: number },
  pixels: number,
  options: HeatmapScoreOptions,
): HeatmapScores {
  const b = checkFinite(checkOptions(options).weight ?? 1.8, 'weight');
  const empty = options.emptyValue ?? NaN; // any number: NaN (the default) and ±Infinity are allowed
  if (typeof empty !== 'number') throw new TypeError(`emptyValue must be a number, got ${describe(empty)}`);
  const n = sums.sumInside.length;
  const meanInside = new Float64Array(n), meanOutside = new Float64Array(n), coherence = new Float64Array(n);
  for (let m = 0; m < n; m++) {
    const inCount = sums.countInside[m], outCount = pixels - inCount;
    meanInside[m] = inCount > 0 ? sums.sumInside[m] / inCount : empty;
    meanOutside[m] = outCount > 0 ? (sums.total - sums.sumInside[m]) / outCount : empty;
    coherence[m] = (2 - b) * meanInside[m] - b * meanOutside[m];
  }
  return { meanInside, meanOutside, coherence, area: sums.countInside };
}

/** Mean of an H×W float map inside and outside each of n masks, and the coherence score (spec §7). */
export function heatmapMaskScores(
  map: Float32Array,
  masks: Uint8Array,
  n: number,
  height: number,
  width: number,
  options: HeatmapScoreOptions = {},
): HeatmapScores {
  return toScores(native.maskMapSums(...scoreArgs(map, masks, n, height, width), false), height * width, options);
}

/** heatmapMaskScores off the JS thread. */
export async function heatmapMaskScoresAsync(
  map: Float32Array,
  masks: Uint8Array,
  n: number,
  height: number,
  width: number,
  options: HeatmapScoreOptions = {},
): Promise<HeatmapScores> {
  const sums = await native.maskMapSums(...scoreArgs(map, masks, n, height, width), true);
  return toScores(sums, height * width, options);
}
