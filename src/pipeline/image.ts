// Spec §1: the decoded RGB image (`sam_img`), as PIL's Image.open(...).convert('RGB') gives it.
import { open as openFile } from 'node:fs/promises';

import sharp from 'sharp';

import type { RgbImage } from './preprocess.ts';

export type ImageInput = string | Buffer | Uint8Array | RgbImage;

/** How an encoded image becomes RGB. The defaults reproduce PIL (QUIRK pil-decode); the others are opt-ins. */
export interface DecodeOptions {
  /**
   * 'pil' (default): the stored values as PIL gives them: an embedded ICC profile is ignored, CMYK/YCCK by PIL's
   * inversion formula, 16-bit grey clipped at 255 (PIL's mode I), other 16-bit by the high byte.
   * 'managed': colour-managed by libvips (ICC profile → sRGB, CMYK through a CMYK profile).
   */
  colour?: 'pil' | 'managed';
  /** 'stored' (default, as PIL without exif_transpose: masks in the stored orientation); 'exif': follow EXIF. */
  orientation?: 'stored' | 'exif';
}

/** The options with their defaults; a TypeError naming the option for an unknown value. */
export function checkDecodeOptions(options: DecodeOptions = {}): Required<DecodeOptions> {
  const { colour = 'pil', orientation = 'stored' } = options;
  if (!['pil', 'managed'].includes(colour)) throw new TypeError(`decode.colour must be 'pil' or 'managed', got ${String(colour)}`);
  if (!['stored', 'exif'].includes(orientation)) {
    throw new TypeError(`decode.orientation must be 'stored' or 'exif', got ${String(orientation)}`);
  }
  return { colour, orientation };
}

/**
 * Decodes a path or an encoded buffer (JPEG, PNG, WebP, …) to HWC RGB uint8, or validates raw RGB. By default the
 * bytes equal PIL's Image.open(p).convert('RGB') for JPEG and PNG (test/decodeCorpus.test.ts): no colour management,
 * no EXIF rotation, grey replicated, alpha dropped without compositing. A truncated or corrupt file raises.
 */
export async function loadImage(input: ImageInput, options: DecodeOptions = {}): Promise<RgbImage> {
  const { colour, orientation } = checkDecodeOptions(options);
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
  try {
    return colour === 'managed' ? await decodeManaged(input, orientation === 'exif') : await decodePil(input, orientation === 'exif');
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const truncated = /premature end|end of stream|truncated/i.test(message) ? 'the file is truncated: ' : '';
    throw new Error(`cannot read ${what} as an image: ${truncated}${message}`);
  }
}

function decoder(input: string | Uint8Array, exif: boolean, ignoreIcc: boolean): sharp.Sharp {
  return sharp(input, { failOn: 'error', ignoreIcc, autoOrient: exif });
}

async function decodeManaged(input: string | Uint8Array, exif: boolean): Promise<RgbImage> {
  const { data, info } = await decoder(input, exif, false).raw().toBuffer({ resolveWithObject: true });
  return toRgb(data, info);
}

async function decodePil(input: string | Uint8Array, exif: boolean): Promise<RgbImage> {
  const meta = await sharp(input).metadata();
  if (meta.space === 'cmyk') {
    // The CMYK values inverted, Adobe marker or not (as PIL's "CMYK;I" assumes; jpeg_cmyk_plain), then PIL's cmyk2rgb.
    const { data, info } = await decoder(input, exif, true).pipelineColourspace('cmyk').toColourspace('cmyk').raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 4) throw new Error(`CMYK image decoded to ${info.channels} channels`);
    return pilCmykToRgb(data, info.height, info.width);
  }
  if (meta.format === 'png' && (await isGrey16Png(input))) {
    // PIL opens a 16-bit grey PNG (tRNS or not) as mode I; convert('RGB') clips each value at 255 (not the high byte).
    const { data, info } = await decoder(input, exif, true).toColourspace('grey16').raw({ depth: 'ushort' })
      .toBuffer({ resolveWithObject: true });
    const grey = new Uint16Array(data.buffer, data.byteOffset, data.length / 2);
    const pixels = info.width * info.height;
    const rgb = new Uint8Array(pixels * 3);
    for (let p = 0; p < pixels; p++) rgb[3 * p] = rgb[3 * p + 1] = rgb[3 * p + 2] = Math.min(grey[p * info.channels], 255);
    return { rgb, height: info.height, width: info.width };
  }
  // 16-bit RGB(A) and grey+alpha: libvips' cast to 8 bits takes the high byte, as PIL's ";16B" unpackers do.
  const { data, info } = await decoder(input, exif, true).raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  return toRgb(data, info);
}

/** Bit depth 16 and colour type 0 in the IHDR (libvips reports a tRNS key as alpha, which grey+alpha also has). */
async function isGrey16Png(input: string | Uint8Array): Promise<boolean> {
  let head: Uint8Array;
  if (typeof input === 'string') {
    const file = await openFile(input, 'r');
    try {
      head = new Uint8Array(26);
      await file.read(head, 0, 26, 0);
    } finally {
      await file.close();
    }
  } else {
    head = input.subarray(0, 26);
  }
  return head.length === 26 && head[24] === 16 && head[25] === 0;
}

/** PIL's cmyk2rgb (Convert.c): nk = 255 − k; each channel CLIP8(nk − MULDIV255(c, nk)). */
function pilCmykToRgb(cmyk: Uint8Array, height: number, width: number): RgbImage {
  const pixels = height * width;
  const rgb = new Uint8Array(pixels * 3);
  for (let p = 0; p < pixels; p++) {
    const nk = 255 - cmyk[4 * p + 3];
    for (let c = 0; c < 3; c++) {
      const t = cmyk[4 * p + c] * nk + 128;
      rgb[3 * p + c] = nk - (((t >> 8) + t) >> 8);
    }
  }
  return { rgb, height, width };
}

/** Grey replicated to three channels; alpha dropped without compositing (as PIL's convert('RGB')). */
function toRgb(data: Buffer, info: sharp.OutputInfo): RgbImage {
  const { channels, height, width } = info;
  if (channels === 3) return { rgb: new Uint8Array(data.buffer, data.byteOffset, data.length), height, width };
  const pixels = width * height;
  const rgb = new Uint8Array(pixels * 3);
  const grey = channels <= 2;
  for (let p = 0; p < pixels; p++) {
    const base = p * channels;
    rgb[3 * p] = data[base];
    rgb[3 * p + 1] = data[grey ? base : base + 1];
    rgb[3 * p + 2] = data[grey ? base : base + 2];
  }
  return { rgb, height, width };
}
