// SAM automatic-mask-generator post-processing (spec §2 steps 3–10): from the decoder's low-res logits and predicted
// IoUs to the kept proposals, in segment-anything's order and with its thresholds deciding identically.
import type { SamMasks } from './addon.ts';
import { native } from './native.ts';
import {
  checkElements, checkFinite, checkFiniteArray, checkFloat32, checkInt, checkOptions, checkUint8, describe,
} from './validate.ts';

export interface SamPostOptions {
  /** Keep predicted IoU > this (strict); 0 disables. Default 0.7. */
  predIouThresh?: number;
  /** Keep stability score >= this; 0 disables. Default 0.7. */
  stabilityScoreThresh?: number;
  /** Stability = |logits > t + offset| / |logits > t − offset|. Default 1.0. */
  stabilityScoreOffset?: number;
  /** IoU threshold of the box NMS. Default 0.7 (the second NMS uses max(this, 0.7) as the reference does). */
  boxNmsThresh?: number;
  /** Holes and islands smaller than this are filled/removed; 0 skips the step and the second NMS. Default 800. */
  minMaskRegionArea?: number;
  /** Binary mask = logits > this. Default 0. */
  maskThreshold?: number;
  /** Side of the low-res logits. Default 256. */
  lowResSize?: number;
  /** Side of SAM's padded input (the longest side is resized to it). Default 1024. */
  imageSize?: number;
}

export interface SamPostInput {
  /** points × masksPerPoint × lowResSize² logits, point-major (point 0's masks first). */
  lowResLogits: Float32Array;
  /** points × masksPerPoint predicted IoUs. */
  iouPredictions: Float32Array;
  /** Number of prompt points. */
  points: number;
  /** Original image size. */
  height: number;
  width: number;
  /** points × 2 (x, y) in the original frame; default the §2.3 grid of √points per side. */
  pointCoords?: Float64Array;
  options?: SamPostOptions;
}

export interface SamPostResult {
  /** Number of kept proposals (0 when none survives). */
  count: number;
  /** count × height × width, 0/1. */
  masks: Uint8Array;
  /** count × 4 inclusive XYXY. */
  boxesXYXY: Int32Array;
  /** count × 4 (x1, y1, x2 − x1, y2 − y1), as segment-anything's bbox. */
  boxesXYWH: Int32Array;
  predictedIoU: Float32Array;
  stabilityScore: Float32Array;
  /** count × 2 (x, y): the prompt point of each proposal. */
  pointCoords: Float64Array;
  /** Index of each proposal in the flattened input (point × masksPerPoint + mask). */
  proposalIndex: Int32Array;
}

const DEFAULTS: Required<SamPostOptions> = {
  predIouThresh: 0.7,
  stabilityScoreThresh: 0.7,
  stabilityScoreOffset: 1.0,
  boxNmsThresh: 0.7,
  minMaskRegionArea: 800,
  maskThreshold: 0,
  lowResSize: 256,
  imageSize: 1024,
};

/**
 * The prompt grid of segment-anything's build_point_grid scaled to the image: pointsPerSide² (x, y) pairs, x
 * fastest, at (k + 0.5) / n of width and height (numpy.linspace arithmetic).
 */
export function samPointGrid(height: number, width: number, pointsPerSide = 8): Float64Array {
  checkInt(height, 'height', 1);
  checkInt(width, 'width', 1);
  const n = checkInt(pointsPerSide, 'pointsPerSide', 1, 4096);
  const start = 1 / (2 * n), stop = 1 - start;
  const side = new Float64Array(n);
  const step = n > 1 ? (stop - start) / (n - 1) : 0;
  for (let k = 0; k < n; k++) side[k] = k * step + start;
  if (n > 1) side[n - 1] = stop;
  const out = new Float64Array(2 * n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      out[2 * (i * n + j)] = side[j] * width;
      out[2 * (i * n + j) + 1] = side[i] * height;
    }
  return out;
}

/** SAM's resize rule: [int(h·s + 0.5), int(w·s + 0.5)] with s = longSide / max(h, w). */
export function samResizeShape(height: number, width: number, longSide = 1024): [number, number] {
  const h = checkInt(height, 'height', 1), w = checkInt(width, 'width', 1);
  return native.samResizeShape(h, w, checkInt(longSide, 'longSide', 1));
}

/** Points (x, y pairs, original frame) mapped to the resized frame, as ResizeLongestSide.apply_coords. */
export function samTransformCoords(coords: Float64Array, height: number, width: number, longSide = 1024): Float64Array {
  if (!(coords instanceof Float64Array) || coords.length % 2 !== 0) {
    throw new TypeError(`coords must be a Float64Array of (x, y) pairs, got ${describe(coords)}`);
  }
  const [nh, nw] = samResizeShape(height, width, longSide);
  checkFiniteArray(coords, 'coords');
  const out = new Float64Array(coords.length);
  for (let i = 0; i < coords.length; i += 2) {
    out[i] = coords[i] * (nw / width);
    out[i + 1] = coords[i + 1] * (nh / height);
  }
  return out;
}

function prepare(input: SamPostInput) {
  if (typeof input !== 'object' || input === null) {
    throw new TypeError(`input must be an object, got ${describe(input)}`);
  }
  const height = checkInt(input.height, 'height', 1, 32767);
  const width = checkInt(input.width, 'width', 1, 32767);
  const points = checkInt(input.points, 'points');
  const opt = { ...DEFAULTS, ...checkOptions(input.options ?? {}) };
  for (const k of Object.keys(opt) as Array<keyof SamPostOptions>) {
    if (!(k in DEFAULTS)) throw new TypeError(`options.${k} is not a known option`);
  }
  const low = checkInt(opt.lowResSize, 'options.lowResSize', 1, 4096);
  const padded = checkInt(opt.imageSize, 'options.imageSize', 1, 16384);
  const iou = checkFloat32(input.iouPredictions, 'iouPredictions');
  if (points === 0 ? iou.length !== 0 : iou.length % points !== 0) {
    throw new RangeError(`iouPredictions has length ${iou.length}, not a multiple of points = ${points}`);
  }
  const proposals = iou.length;
  checkFloat32(input.lowResLogits, 'lowResLogits', checkElements('proposals×lowResSize²', [proposals, low, low], 4));
  checkElements('proposals×height×width (candidate masks)', [proposals, height, width]);
  let coords = input.pointCoords;
  if (coords === undefined) {
    const side = Math.round(Math.sqrt(points));
    if (side * side !== points) throw new RangeError(`pointCoords is required when points (${points}) is not a square`);
    coords = points > 0 ? samPointGrid(height, width, side) : new Float64Array(0);
  } else if (!(coords instanceof Float64Array) || coords.length !== 2 * points) {
    throw new RangeError(
      `pointCoords must be a Float64Array of length 2×points = ${2 * points}, got ${describe(coords)}`,
    );
  } else {
    checkFiniteArray(coords, 'pointCoords');
  }
  const args = [
    input.lowResLogits, iou, proposals, low, padded, height, width,
    checkFinite(opt.predIouThresh, 'options.predIouThresh'),
    checkFinite(opt.stabilityScoreThresh, 'options.stabilityScoreThresh'),
    checkFinite(opt.stabilityScoreOffset, 'options.stabilityScoreOffset'),
    checkFinite(opt.boxNmsThresh, 'options.boxNmsThresh'),
    checkInt(opt.minMaskRegionArea, 'options.minMaskRegionArea'),
    checkFinite(opt.maskThreshold, 'options.maskThreshold'),
  ] as const;
  const perPoint = points > 0 ? proposals / points : 1;
  return { args, coords, perPoint };
}

function finish(r: SamMasks, coords: Float64Array, perPoint: number): SamPostResult {
  const xywh = new Int32Array(r.boxes.length);
  for (let i = 0; i < r.boxes.length; i += 4) {
    xywh[i] = r.boxes[i];
    xywh[i + 1] = r.boxes[i + 1];
    xywh[i + 2] = r.boxes[i + 2] - r.boxes[i];
    xywh[i + 3] = r.boxes[i + 3] - r.boxes[i + 1];
  }
  const pts = new Float64Array(2 * r.count);
  for (let k = 0; k < r.count; k++) {
    const p = Math.floor(r.proposal[k] / perPoint);
    pts[2 * k] = coords[2 * p];
    pts[2 * k + 1] = coords[2 * p + 1];
  }
  return {
    count: r.count,
    masks: r.masks,
    boxesXYXY: r.boxes,
    boxesXYWH: xywh,
    predictedIoU: r.predictedIoU,
    stabilityScore: r.stability,
    pointCoords: pts,
    proposalIndex: r.proposal,
  };
}

/**
 * segment-anything's SamAutomaticMaskGenerator after the decoder (crop_n_layers 0, binary masks): upscale, IoU
 * and stability filters, threshold, boxes, NMS, small-region clean-up, second NMS. Returns the kept proposals in
 * the reference's order; count 0 when none survives.
 */
export function postprocessSamMasks(input: SamPostInput): SamPostResult {
  const { args, coords, perPoint } = prepare(input);
  return finish(native.samPostprocess(...args, false), coords, perPoint);
}

/** postprocessSamMasks off the JS thread. */
export async function postprocessSamMasksAsync(input: SamPostInput): Promise<SamPostResult> {
  const { args, coords, perPoint } = prepare(input);
  return finish(await native.samPostprocess(...args, true), coords, perPoint);
}

/**
 * The upscaled logits of `count` low-res maps (count × lowResSize²): bilinear to imageSize², crop to the resized
 * size, bilinear to height×width, with PyTorch's float32 CPU rounding. For inspection and checks; the
 * post-processing never materialises them.
 */
export function samUpscaleLogits(
  lowResLogits: Float32Array,
  height: number,
  width: number,
  lowResSize = 256,
  imageSize = 1024,
): Float32Array {
  const low = checkInt(lowResSize, 'lowResSize', 1, 4096);
  const arr = checkFloat32(lowResLogits, 'lowResLogits');
  if (arr.length % (low * low) !== 0) {
    throw new RangeError(`lowResLogits has length ${arr.length}, not a multiple of lowResSize² = ${low * low}`);
  }
  return native.samUpscaleLogits(arr, arr.length / (low * low), low, checkInt(imageSize, 'imageSize', 1, 16384),
    checkInt(height, 'height', 1, 32767), checkInt(width, 'width', 1, 32767));
}

/** torchvision's nms on XYXY boxes: kept indices by descending score, ties in index order. */
export function samNms(boxesXYXY: Float32Array, scores: Float32Array, iouThreshold: number): Int32Array {
  checkFloat32(scores, 'scores');
  checkFloat32(boxesXYXY, 'boxes', 4 * scores.length);
  return native.samNms(boxesXYXY, scores, checkFinite(iouThreshold, 'iouThreshold'));
}

/** segment-anything's remove_small_regions (8-connectivity) on one mask; returns a new 0/1 mask and its flag. */
export function samRemoveSmallRegions(
  mask: Uint8Array,
  height: number,
  width: number,
  minArea: number,
  mode: 'holes' | 'islands',
): { mask: Uint8Array; changed: boolean } {
  checkInt(height, 'height', 1);
  checkInt(width, 'width', 1);
  checkUint8(mask, 'mask', height * width);
  if (mode !== 'holes' && mode !== 'islands') {
    throw new TypeError(`mode must be 'holes' or 'islands', got ${describe(mode)}`);
  }
  return native.samRemoveSmallRegions(mask, height, width, checkInt(minArea, 'minArea'), mode === 'holes');
}
