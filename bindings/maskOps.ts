// Dense binary masks: IoU with exact integer counts, and tight boxes. Masks are row-major H×W Uint8Array
// (non-zero = set); a batch is n masks back to back.
import { native } from './native.ts';
import { checkElements, checkMaskBatch } from './validate.ts';

export interface MaskIoUResult {
  /** IoU per pair (0 where the union is empty), row-major n×m. */
  iou: Float64Array;
  /** |a ∧ b| per pair, exact integers. */
  intersection: Float64Array;
  /** |a ∨ b| per pair, exact integers. */
  union: Float64Array;
}

function toIoU(counts: { intersection: Float64Array; union: Float64Array }): MaskIoUResult {
  const iou = new Float64Array(counts.intersection.length);
  for (let i = 0; i < iou.length; i++) iou[i] = counts.union[i] > 0 ? counts.intersection[i] / counts.union[i] : 0;
  return { iou, intersection: counts.intersection, union: counts.union };
}

function pairArgs(masks: Uint8Array, others: Uint8Array, height: number, width: number) {
  const n = checkMaskBatch(masks, height, width, 'masks');
  const m = checkMaskBatch(others, height, width, 'others');
  checkElements('masks×others (pair counts)', [n, m], 8);
  return [masks, n, others, m, height, width] as const;
}

/**
 * IoU of every mask in `masks` against every mask in `others` (N×M, row-major). Pass a single mask as `others`
 * for N candidates against one ground truth.
 */
export function maskIoU(masks: Uint8Array, others: Uint8Array, height: number, width: number): MaskIoUResult {
  return toIoU(native.pairwiseMaskCounts(...pairArgs(masks, others, height, width), false));
}

/** maskIoU off the JS thread. */
export async function maskIoUAsync(
  masks: Uint8Array,
  others: Uint8Array,
  height: number,
  width: number,
): Promise<MaskIoUResult> {
  return toIoU(await native.pairwiseMaskCounts(...pairArgs(masks, others, height, width), true));
}

export interface MaskBoxes {
  /** Inclusive XYXY per mask (x2 = last set column), n×4; an empty mask gives zeros. */
  xyxy: Int32Array;
  /** XYWH per mask as SAM derives it from the inclusive box: w = x2 − x1, h = y2 − y1. */
  xywh: Int32Array;
}

function toBoxes(xyxy: Int32Array): MaskBoxes {
  const xywh = new Int32Array(xyxy.length);
  for (let i = 0; i < xyxy.length; i += 4) {
    xywh[i] = xyxy[i];
    xywh[i + 1] = xyxy[i + 1];
    xywh[i + 2] = xyxy[i + 2] - xyxy[i];
    xywh[i + 3] = xyxy[i + 3] - xyxy[i + 1];
  }
  return { xyxy, xywh };
}

/** Tight boxes of n masks. */
export function masksToBoxes(masks: Uint8Array, height: number, width: number): MaskBoxes {
  const n = checkMaskBatch(masks, height, width);
  return toBoxes(native.masksToBoxes(masks, n, height, width, false));
}

/** masksToBoxes off the JS thread. */
export async function masksToBoxesAsync(masks: Uint8Array, height: number, width: number): Promise<MaskBoxes> {
  const n = checkMaskBatch(masks, height, width);
  return toBoxes(await native.masksToBoxes(masks, n, height, width, true));
}
