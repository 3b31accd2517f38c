// Spec §1 (before decoding): the memory budget of one image. Its size is read from the header (or given with raw
// RGB) and checked against maxPixels before any full-resolution buffer exists.
import sharp from 'sharp';

import type { ImageInput } from './image.ts';

/**
 * Peak RSS of `hybridgl segment` ≈ base + b · pixels, fitted over 1000²–4000² photos on the fixture models
 * (bench/perf/measure_image_memory.ts). SAM's post-processing holds one chunk of 16 candidate masks and the NMS
 * survivors at full resolution (1 byte per pixel each): b is 20 at the default settings (also with every candidate
 * passing the IoU filter), and 224 when all 192 candidates survive NMS (proposals.post boxNmsThresh 1), the most
 * SAM can produce with 8 × 8 points. BYTES_PER_PIXEL is that worst case; the base (models, runtime) is not part of it.
 */
export const BYTES_PER_PIXEL = 224;
/** Peak RSS with the fixture models before any image (onnxruntime sessions, V8, sharp), for docs/limits.md. */
export const BASE_BYTES = 1.2e9;
/** What the default maxPixels keeps the image-dependent memory of one image within. */
export const MEMORY_BUDGET_BYTES = 4 * 2 ** 30;
export const DEFAULT_MAX_PIXELS = Math.floor(MEMORY_BUDGET_BYTES / BYTES_PER_PIXEL);

/** An image over the pixel budget; `height`, `width` and the `maxPixels` it exceeds. */
export class ImageBudgetError extends RangeError {
  constructor(readonly what: string, readonly height: number, readonly width: number, readonly maxPixels: number) {
    const mp = (v: number) => `${(v / 1e6).toFixed(1)} Mpixel`;
    super(`${what} is ${width}×${height} = ${mp(width * height)}, over maxPixels ${maxPixels} (${mp(maxPixels)}; ` +
      `about ${BYTES_PER_PIXEL} bytes per pixel are needed): downscale it, or raise maxPixels (--max-pixels)`);
    this.name = 'ImageBudgetError';
  }
}

/** Checks a positive-integer maxPixels option (Infinity allowed: no limit). */
export function checkMaxPixels(maxPixels: unknown, name = 'maxPixels'): number {
  if (maxPixels === Infinity) return maxPixels;
  if (typeof maxPixels !== 'number' || !Number.isSafeInteger(maxPixels) || maxPixels < 1)
    throw new RangeError(`${name} must be a positive integer, got ${String(maxPixels)}`);
  return maxPixels;
}

/**
 * Throws ImageBudgetError when the image has more than maxPixels pixels. Reads only the header of an encoded
 * image; an input sharp cannot read at all passes here and is reported by loadImage.
 */
export async function checkImageBudget(input: ImageInput, maxPixels: number = DEFAULT_MAX_PIXELS): Promise<void> {
  let height: number, width: number;
  if (typeof input === 'object' && input !== null && 'rgb' in input) {
    ({ height, width } = input);
    if (!Number.isFinite(height) || !Number.isFinite(width)) return; // loadImage names the bad size
  } else {
    if (typeof input !== 'string' && !(input instanceof Uint8Array)) return;
    try {
      const meta = await sharp(input).metadata();
      if (meta.height === undefined || meta.width === undefined) return;
      // Multi-page images (GIF, TIFF) are decoded one page: sharp's height is then the page's (pageHeight).
      height = meta.pageHeight ?? meta.height;
      width = meta.width;
    } catch {
      return;
    }
  }
  if (height * width > maxPixels)
    throw new ImageBudgetError(typeof input === 'string' ? `image '${input}'` : 'the image', height, width, maxPixels);
}

/** `--max-pixels N` (an integer, e.g. 40000000 or 4e7; `inf`: no limit). */
export function parseMaxPixels(text: string): number {
  if (/^(inf|infinity)$/i.test(text.trim())) return Infinity;
  const v = Number(text.trim());
  return checkMaxPixels(text.trim() === '' ? NaN : v, '--max-pixels');
}
