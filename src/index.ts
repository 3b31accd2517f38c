// hybridgl: the public API.
export { backendInfo, setDevice } from '../bindings/backend.ts';
export type { BackendInfo } from '../bindings/backend.ts';
export { maskIoU, maskIoUAsync, masksToBoxes, masksToBoxesAsync } from '../bindings/maskOps.ts';
export type { MaskIoUResult, MaskBoxes } from '../bindings/maskOps.ts';
// COCO RLE (pycocotools 2.0.8).
export {
  rleArea,
  rleAreaBatch,
  rleDecode,
  rleDecodeBatch,
  rleDecodeBatchAsync,
  rleEncode,
  rleEncodeBatch,
  rleEncodeBatchAsync,
  rleFromBoxes,
  rleFromCounts,
  rleFromPolygons,
  rleFromPolygonsAsync,
  rleIoU,
  rleIoUAsync,
  rleMerge,
  rleToBbox,
  rleToBboxBatch,
  rleToCounts,
} from '../bindings/rle.ts';
export type { Rle } from '../bindings/rle.ts';
