// OpenCV's GaussianBlur(rgb, (15, 15), 0) on an H×W×3 uint8 image, bit-exact (spec §3).
import { native } from './native.ts';
import { checkInt, checkUint8 } from './validate.ts';

function blurArgs(rgb: Uint8Array, height: number, width: number) {
  checkInt(height, 'height', 1);
  checkInt(width, 'width', 1);
  checkUint8(rgb, 'rgb', height * width * 3);
  return [rgb, height, width] as const;
}

/** 15×15 Gaussian blur (σ = 2.6, REFLECT_101 border) of a row-major H×W×3 uint8 image, equal to OpenCV's. */
export function gaussianBlur(rgb: Uint8Array, height: number, width: number): Uint8Array {
  return native.gaussianBlur(...blurArgs(rgb, height, width), false);
}

/** gaussianBlur off the JS thread. */
export async function gaussianBlurAsync(rgb: Uint8Array, height: number, width: number): Promise<Uint8Array> {
  return native.gaussianBlur(...blurArgs(rgb, height, width), true);
}
