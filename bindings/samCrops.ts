// The per-pixel stages of SAM's automatic mask generator with crops and batches (spec §2, §10): one decoder batch
// up to the boxes, and the small-region clean-up of many masks, both off the JS thread.
import type { SamMasks, SamSmallRegions } from './addon.ts';
import { native } from './native.ts';
import { checkFloat32, checkInt, checkMaskBatch, describe } from './validate.ts';

export type { SamMasks as SamBatchMasks, SamSmallRegions } from './addon.ts';

export interface SamBatchOptions {
  /** Keep predicted IoU > this (strict); 0 disables. */
  predIouThresh: number;
  /** Keep stability score >= this; 0 disables. */
  stabilityScoreThresh: number;
  stabilityScoreOffset: number;
  /** Binary mask = logits > this. */
  maskThreshold: number;
  /** Side of the low-res logits. Default 256. */
  lowResSize?: number;
  /** Side of SAM's padded input. Default 1024. */
  imageSize?: number;
}

function finite(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TypeError(`${name} must be a finite number, got ${describe(value)}`);
  }
  return value;
}

/**
 * segment-anything's _process_batch up to the boxes, for one batch upscaled to height×width (the crop's size):
 * IoU filter, stability filter, threshold, tight boxes. Survivors in input order.
 */
export async function samBatchMasksAsync(
  lowResLogits: Float32Array,
  iouPredictions: Float32Array,
  height: number,
  width: number,
  options: SamBatchOptions,
): Promise<SamMasks> {
  if (typeof options !== 'object' || options === null) throw new TypeError(`options must be an object, got ${describe(options)}`);
  const low = checkInt(options.lowResSize ?? 256, 'options.lowResSize', 1, 4096);
  const iou = checkFloat32(iouPredictions, 'iouPredictions');
  checkFloat32(lowResLogits, 'lowResLogits', iou.length * low * low);
  return native.samBatchMasks(
    lowResLogits, iou, iou.length, low, checkInt(options.imageSize ?? 1024, 'options.imageSize', 1, 16384),
    checkInt(height, 'height', 1, 32767), checkInt(width, 'width', 1, 32767),
    finite(options.predIouThresh, 'options.predIouThresh'),
    finite(options.stabilityScoreThresh, 'options.stabilityScoreThresh'),
    finite(options.stabilityScoreOffset, 'options.stabilityScoreOffset'),
    finite(options.maskThreshold, 'options.maskThreshold'), true,
  );
}

/** postprocess_small_regions' per-mask part: fill holes, then remove islands smaller than minArea (8-connected). */
export async function samSmallRegionsAsync(
  masks: Uint8Array,
  height: number,
  width: number,
  minArea: number,
): Promise<SamSmallRegions> {
  const n = checkMaskBatch(masks, checkInt(height, 'height', 1, 32767), checkInt(width, 'width', 1, 32767));
  return native.samSmallRegions(masks, n, height, width, checkInt(minArea, 'minArea'), true);
}
