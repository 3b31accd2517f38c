// Spec §1: the decoded RGB image (`sam_img`), as PIL's Image.open(...).convert('RGB') gives it.
import sharp from 'sharp';

import type { RgbImage } from './preprocess.ts';

export type ImageInput = string | Buffer | Uint8Array | RgbImage;

/**
 * Decodes a path or an encoded buffer (JPEG, PNG, WebP, …) to HWC RGB uint8, or validates raw RGB. Like PIL, no
 * EXIF rotation is applied; grey is replicated to three channels and alpha is dropped (not composited).
 */
export async function loadImage(input: ImageInput): Promise<RgbImage> {
  if (typeof input === 'object' && input !== null && 'rgb' in input) {
    const { rgb, height, width } = input;
    if (!(rgb instanceof Uint8Array)) throw new TypeError('image.rgb must be a Uint8Array');
    if (!Number.isInteger(height) || !Number.isInteger(width) || height < 1 || width < 1) {
      throw new RangeError(`image size must be positive integers, got ${height}×${width}`);
    }
    if (rgb.length !== height * width * 3) {
      throw new RangeError(`image.rgb has length ${rgb.length}, expected height×width×3 = ${height * width * 3}`);
    }
    return { rgb, height, width };
  }
  if (typeof input !== 'string' && !(input instanceof Uint8Array)) {
    throw new TypeError('image must be a path, a Buffer of an encoded image, or { rgb, height, width }');
  }
  const what = typeof input === 'string' ? `'${input}'` : 'the image buffer';
  let decoded: { data: Buffer; info: sharp.OutputInfo };
  try {
    decoded = await sharp(input, { failOn: 'error' }).raw().toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw new Error(`cannot read ${what} as an image: ${err instanceof Error ? err.message : String(err)}`);
  }
  const { data, info } = decoded;
  const pixels = info.width * info.height;
  if (info.channels === 3) return { rgb: new Uint8Array(data.buffer, data.byteOffset, data.length), height: info.height, width: info.width };
  const rgb = new Uint8Array(pixels * 3);
  for (let p = 0; p < pixels; p++) {
    const base = p * info.channels;
    const grey = info.channels <= 2;
    rgb[3 * p] = data[base];
    rgb[3 * p + 1] = data[grey ? base : base + 1];
    rgb[3 * p + 2] = data[grey ? base : base + 2];
  }
  return { rgb, height: info.height, width: info.width };
}
