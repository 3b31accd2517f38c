// The raw addon's interface: every function native/napi/ exports, with its arguments in the glue's order
// (native/napi/*.cc) and what it returns, so that the wrappers in bindings/ are type-checked against it. The glue
// checks every argument again at run time.

/** A call that runs on the JS thread when its last argument is false, or on the thread pool when it is true. */
interface Offloadable<A extends unknown[], R> {
  (...args: [...A, async: false]): R;
  (...args: [...A, async: true]): Promise<R>;
}

export const KERNEL_FAMILIES = ['rle', 'mask_ops', 'mask_grid', 'gaussian_blur', 'image_prep', 'heatmap',
  'clip_inputs', 'sam_post'] as const;
export type KernelFamily = (typeof KERNEL_FAMILIES)[number];

export interface FamilyStatus {
  family: KernelFamily;
  /** Where this family's kernels run. */
  backend: 'cuda' | 'cpu';
  /** pass; mismatch or error (then routed to the CPU); skipped (HYBRIDGL_SELFTEST=0); cpu (no GPU in use). */
  result: 'pass' | 'mismatch' | 'error' | 'skipped' | 'cpu';
  /** What differed, the error, or why no GPU is in use. */
  detail?: string;
  /** Time of the family's self-test in milliseconds. */
  ms: number;
}

export interface BackendInfo {
  /** A GPU is in use (by every family that passed its self-test). */
  cuda: boolean;
  /** The CUDA kernels are compiled into this build. */
  cudaCompiled: boolean;
  /** The GPU's name, when cuda is true. */
  device?: string;
  /** Why the CPU is used, when it is. */
  reason?: string;
  families: FamilyStatus[];
}

/** The survivors of SAM's per-batch filters (samPostprocess: also of its NMS and clean-up). */
export interface SamMasks {
  count: number;
  /** count × height × width, 0/1. */
  masks: Uint8Array;
  /** count × 4 inclusive XYXY. */
  boxes: Int32Array;
  predictedIoU: Float32Array;
  stability: Float32Array;
  /** Index of each survivor in the flattened (point-major) proposals. */
  proposal: Int32Array;
}

export interface SamSmallRegions {
  /** The cleaned masks (a copy), count × height × width. */
  masks: Uint8Array;
  /** 1 where holes or islands changed the mask. */
  changed: Uint8Array;
  /** count × 4 inclusive XYXY of the cleaned masks. */
  boxes: Int32Array;
}

type ClipInputArgs = [rgb: Uint8Array, blurred: Uint8Array, masks: Uint8Array, n: number, height: number,
  width: number, size: number, half: boolean];
type ClipOut = Float32Array | Uint16Array;

export interface NativeAddon {
  backendInfo(): BackendInfo;
  setDevice(device: 'cpu' | 'cuda' | 'auto'): BackendInfo;
  selfTest(): FamilyStatus[];
  releaseFreeHeap(): boolean;
  setMmapThreshold(bytes: number): boolean;

  pairwiseMaskCounts: Offloadable<[masks: Uint8Array, n: number, others: Uint8Array, m: number, height: number,
    width: number], { intersection: Float64Array; union: Float64Array }>;
  masksToBoxes: Offloadable<[masks: Uint8Array, n: number, height: number, width: number], Int32Array>;

  resizeImage: Offloadable<[image: Uint8Array, height: number, width: number, channels: number, outHeight: number,
    outWidth: number, filter: 'bilinear' | 'bicubic'], Uint8Array>;
  normalizeImage(image: Uint8Array, height: number, width: number, scale: number, mean: Float32Array,
    std: Float32Array, padHeight: number, padWidth: number): Float32Array;

  rleEncode: Offloadable<[masks: Uint8Array, n: number, height: number, width: number], string[]>;
  rleDecode: Offloadable<[counts: string[], sizes: Uint32Array, name: string], Uint8Array>;
  rleArea(counts: string[], sizes: Uint32Array, name: string): Float64Array;
  rleToBbox(counts: string[], sizes: Uint32Array, name: string): Float64Array;
  rleMerge(counts: string[], sizes: Uint32Array, name: string, intersect: boolean): string;
  rleIoU: Offloadable<[dtCounts: string[], dtSizes: Uint32Array, gtCounts: string[], gtSizes: Uint32Array,
    iscrowd: Uint8Array], Float64Array>;
  rleFromPolygons: Offloadable<[coords: Float64Array, offsets: Uint32Array, height: number, width: number], string[]>;
  rleFromBoxes(boxes: Float64Array, height: number, width: number): string[];
  rleFromCounts(counts: Uint32Array, height: number, width: number): string;
  rleToCounts(counts: string[], sizes: Uint32Array, name: string): Uint32Array;

  gaussianBlur: Offloadable<[rgb: Uint8Array, height: number, width: number], Uint8Array>;
  /** global/local: arrays to write into (n×3×size×size, Uint16Array of half bits when half), else new ones;
   *  localSource: 3×height×width floats in the place of the normalised rgb inside the local image's masks. */
  buildClipInputs: {
    (...args: [...ClipInputArgs, async: false, global?: ClipOut, local?: ClipOut, localSource?: Float32Array]):
      { global: ClipOut; local: ClipOut };
    (...args: [...ClipInputArgs, async: true, global?: ClipOut, local?: ClipOut, localSource?: Float32Array]):
      Promise<{ global: ClipOut; local: ClipOut }>;
  };
  poolMasksToGrid: Offloadable<[masks: Uint8Array, n: number, height: number, width: number, grid: number,
    mode: 'bilinear' | 'area'], Float32Array>;

  resizeMap: Offloadable<[map: Float32Array, channels: number, height: number, width: number, outHeight: number,
    outWidth: number, antialias: boolean], Float32Array>;
  normalizeMap(map: Float32Array, height: number, width: number, minMax: boolean, prior: Float32Array | null,
    divideByMean: boolean): Float32Array;
  maskMapSums: Offloadable<[map: Float32Array, masks: Uint8Array, n: number, height: number, width: number],
    { sumInside: Float64Array; countInside: Float64Array; total: number }>;

  samPostprocess: Offloadable<[lowResLogits: Float32Array, iouPredictions: Float32Array, proposals: number,
    lowResSize: number, imageSize: number, height: number, width: number, predIouThresh: number,
    stabilityScoreThresh: number, stabilityScoreOffset: number, boxNmsThresh: number, minMaskRegionArea: number,
    maskThreshold: number], SamMasks>;
  samUpscaleLogits(lowResLogits: Float32Array, count: number, lowResSize: number, imageSize: number, height: number,
    width: number): Float32Array;
  samResizeShape(height: number, width: number, longSide: number): [number, number];
  samNms(boxes: Float32Array, scores: Float32Array, iouThreshold: number): Int32Array;
  samRemoveSmallRegions(mask: Uint8Array, height: number, width: number, minArea: number,
    holes: boolean): { mask: Uint8Array; changed: boolean };
  samBatchMasks: Offloadable<[lowResLogits: Float32Array, iouPredictions: Float32Array, proposals: number,
    lowResSize: number, imageSize: number, height: number, width: number, predIouThresh: number,
    stabilityScoreThresh: number, stabilityScoreOffset: number, maskThreshold: number], SamMasks>;
  samSmallRegions: Offloadable<[masks: Uint8Array, count: number, height: number, width: number, minArea: number],
    SamSmallRegions>;
}
