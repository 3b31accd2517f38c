// The CLIP inputs of N proposals in one fused pass (spec §3): the global image (sharp inside the mask, blurred
// outside, ImageNet-normalised) and the local image (ImageNet-normalised inside, the CLIP mean outside: QUIRK
// local-fill), each resized bilinear without antialias to size×size.
import { native } from './native.ts';
import { checkElements, checkFloat32, checkInt, checkMaskBatch, checkOptions, checkUint8 } from './validate.ts';

export interface ClipInputsOptions {
  /** 'float32' (default) or 'float16' (IEEE half bits in a Uint16Array, round to nearest even). */
  dtype?: 'float32' | 'float16';
  /** Output side, 224 by default. */
  size?: number;
  /**
   * Arrays to write into (n×3×size×size each, Float32Array or Uint16Array to match dtype), e.g. reused across
   * images to skip the page faults of fresh memory. New arrays by default.
   */
  out?: { global: Float32Array | Uint16Array; local: Float32Array | Uint16Array };
  /**
   * 3×H×W float32 (CHW) in the place of the ImageNet-normalised rgb inside each mask of the local image; every value
   * finite. PhraseCut's loop (spec §10) feeds its photo resized to a shorter side of 800 and back. Default: the rgb.
   */
  localSource?: Float32Array;
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
  checkOptions(options);
  checkMaskBatch(masks, height, width, 'masks', n);
  checkUint8(rgb, 'rgb', height * width * 3);
  checkUint8(blurred, 'blurred', height * width * 3);
  const size = checkInt(options.size ?? 224, 'size', 1, 4096);
  const dtype = options.dtype ?? 'float32';
  if (dtype !== 'float32' && dtype !== 'float16') {
    throw new RangeError(`dtype must be 'float32' or 'float16', got ${String(dtype)}`);
  }
  const count = checkElements('n×3×size×size', [n, 3, size, size], dtype === 'float16' ? 2 : 4);
  const out = options.out;
  if (out !== undefined) {
    for (const key of ['global', 'local'] as const) {
      const arr = out[key];
      const ok = dtype === 'float16' ? arr instanceof Uint16Array : arr instanceof Float32Array;
      if (!ok) throw new TypeError(`out.${key} must be a ${dtype === 'float16' ? 'Uint16Array' : 'Float32Array'}`);
      if (arr.length !== count) throw new RangeError(`out.${key} has length ${arr.length}, expected ${count}`);
    }
  }
  if (options.localSource !== undefined) checkFloat32(options.localSource, 'localSource', 3 * height * width);
  const half = dtype === 'float16';
  return {
    args: [rgb, blurred, masks, n, height, width, size, half] as const,
    rest: [out?.global, out?.local, options.localSource] as const,
    size,
  };
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
  const { args, rest, size } = clipArgs(rgb, blurred, masks, n, height, width, options);
  const r = native.buildClipInputs(...args, false, ...rest);
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
  const { args, rest, size } = clipArgs(rgb, blurred, masks, n, height, width, options);
  const r = await native.buildClipInputs(...args, true, ...rest);
  return { global: r.global, local: r.local, shape: [n, 3, size, size] };
}
