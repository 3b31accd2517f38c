// hybridgl: the public API.
export { backendInfo, setDevice } from '../bindings/backend.ts';
export type { BackendInfo } from '../bindings/backend.ts';
export { maskIoU, maskIoUAsync, masksToBoxes, masksToBoxesAsync } from '../bindings/maskOps.ts';
export type { MaskIoUResult, MaskBoxes } from '../bindings/maskOps.ts';
// Per-pixel kernels: blur, CLIP inputs, mask grid, heatmap scores (spec §3, §4, §7–§8).
export { gaussianBlur, gaussianBlurAsync } from '../bindings/gaussianBlur.ts';
export { buildClipInputs, buildClipInputsAsync } from '../bindings/clipInputs.ts';
export type { ClipInputs, ClipInputsOptions } from '../bindings/clipInputs.ts';
export { poolMasksToGrid, poolMasksToGridAsync } from '../bindings/maskGrid.ts';
export type { PoolOptions } from '../bindings/maskGrid.ts';
export {
  applyPriorAndMean,
  coherenceMap,
  coherenceWeight,
  heatmapMaskScores,
  heatmapMaskScoresAsync,
  minMaxNormalize,
  positionPrior,
  resizeMap,
  resizeMapAsync,
} from '../bindings/heatmap.ts';
export type { HeatmapScoreOptions, HeatmapScores, PositionFlag, ResizeOptions } from '../bindings/heatmap.ts';
