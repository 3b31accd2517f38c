// The CLIP inputs of N proposals in one fused pass (spec §3): the global image (sharp inside the mask, blurred
// outside, ImageNet-normalised) and the local image (ImageNet-normalised inside, the CLIP mean outside: QUIRK
// local-fill), each resized bilinear without antialias to size×size.
import { native } from './native.ts';
import { checkInt, checkMaskBatch, checkUint8 } from './validate.ts';

export interface ClipInputsOptions {
  /** 'float32' (default) or 'float16' (IEEE half bits in a Uint16Array, round to nearest even). */
  dtype?: 'float32' | 'float16';
  /** Output side, 224 by default. */
  size?: number;
}

export interface ClipInputs<T extends Float32Array | Uint16Array = Float32Array | Uint16Array> {
  /** n×3×size×size, CHW per proposal. */
  global: T;
  local: T;
  shape: [number, number, number, number];
}

function clipArgs(
  rgb: Uint8Array,
  blurred: Uint8Array,
  masks: Uint8Array,
  n: number,
  height: number,
  width: number,
  options: ClipInputsOptions,
) {
  checkMaskBatch(masks, height, width, 'masks', n);
  checkUint8(rgb, 'rgb', height * width * 3);
  checkUint8(blurred, 'blurred', height * width * 3);
  const size = checkInt(options.size ?? 224, 'size', 1, 4096);
  const dtype = options.dtype ?? 'float32';
  if (dtype !== 'float32' && dtype !== 'float16') {
    throw new RangeError(`dtype must be 'float32' or 'float16', got ${String(dtype)}`);
  }
  return { args: [rgb, blurred, masks, n, height, width, size, dtype === 'float16'] as const, size };
}

/**
 * Global and local CLIP inputs of n masks (n×H×W uint8, non-zero = inside) over one H×W×3 uint8 image and its
 * gaussianBlur. Never builds full-resolution composites.
 */
export function buildClipInputs(
  rgb: Uint8Array,
  blurred: Uint8Array,
  masks: Uint8Array,
  n: number,
  height: number,
  width: number,
  options: ClipInputsOptions = {},
): ClipInputs {
  const { args, size } = clipArgs(rgb, blurred, masks, n, height, width, options);
  const r = native.buildClipInputs(...args, false);
  return { global: r.global, local: r.local, shape: [n, 3, size, size] };
}

/** buildClipInputs off the JS thread. */
export async function buildClipInputsAsync(
  rgb: Uint8Array,
  blurred: Uint8Array,
  masks: Uint8Array,
  n: number,
  height: number,
  width: number,
  options: ClipInputsOptions = {},
): Promise<ClipInputs> {
  const { args, size } = clipArgs(rgb, blurred, masks, n, height, width, options);
  const r = await native.buildClipInputs(...args, true);
  return { global: r.global, local: r.local, shape: [n, 3, size, size] };
}
