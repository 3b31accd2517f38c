// hybridgl: the public API.
export { backendInfo, setDevice } from '../bindings/backend.ts';
export type { BackendInfo } from '../bindings/backend.ts';
export { maskIoU, maskIoUAsync, masksToBoxes, masksToBoxesAsync } from '../bindings/maskOps.ts';
export type { MaskIoUResult, MaskBoxes } from '../bindings/maskOps.ts';
// Models (ONNX backbones through onnxruntime-node)
export { loadModels, ModelLoadError, HEAD_MODELS, cudaProviderInstalled } from './models/loadModels.ts';
export type {
  Models, LoadModelsOptions, Manifest, ManifestFile, FloatTensor, IdTensor, Fusion, Precision, ModelName,
} from './models/loadModels.ts';
