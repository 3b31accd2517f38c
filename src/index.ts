// hybridgl: the public API.
export { backendInfo, setDevice } from '../bindings/backend.ts';
export type { BackendInfo } from '../bindings/backend.ts';
export { maskIoU, maskIoUAsync, masksToBoxes, masksToBoxesAsync } from '../bindings/maskOps.ts';
export type { MaskIoUResult, MaskBoxes } from '../bindings/maskOps.ts';
// SAM automatic-mask-generator post-processing (spec §2).
export {
  postprocessSamMasks,
  postprocessSamMasksAsync,
  samPointGrid,
  samResizeShape,
  samTransformCoords,
  samUpscaleLogits,
  samNms,
  samRemoveSmallRegions,
} from '../bindings/samPost.ts';
export type { SamPostInput, SamPostOptions, SamPostResult } from '../bindings/samPost.ts';
