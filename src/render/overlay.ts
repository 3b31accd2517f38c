// Result pictures with sharp: the chosen mask tinted over the image with its box and the expression as a caption,
// and a contact sheet of the top candidates with their scores.
import sharp from 'sharp';

import type { RgbImage } from '../pipeline/preprocess.ts';
import { printable } from '../text/printable.ts';

export interface OverlayOptions {
  /** Tint colour of the mask, RGB. */
  color?: [number, number, number];
  /** Tint opacity in [0, 1]. */
  alpha?: number;
  /** Text under the image (the expression); omitted when empty. */
  caption?: string;
  /** XYWH box to outline. */
  bbox?: [number, number, number, number];
}

// Control characters are not allowed in XML even as references: they are shown as visible \uXXXX escapes.
const escapeXml = (s: string) =>
  printable(s).replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);

/** Tints `mask` (row-major H×W, non-zero = set) over the image; returns RGB pixels of the same size. */
export function tintMask(image: RgbImage, mask: Uint8Array, color: [number, number, number], alpha: number): Uint8Array {
  const { rgb, height, width } = image;
  if (mask.length !== height * width) {
    throw new RangeError(`mask has length ${mask.length}, expected height×width = ${height * width}`);
  }
  const out = new Uint8Array(rgb);
  for (let p = 0; p < mask.length; p++) {
    if (!mask[p]) continue;
    for (let c = 0; c < 3; c++) out[3 * p + c] = Math.round(rgb[3 * p + c] * (1 - alpha) + color[c] * alpha);
  }
  return out;
}

/** The overlay as an encoded PNG: tinted mask, box outline, caption strip. */
export async function renderOverlay(image: RgbImage, mask: Uint8Array, options: OverlayOptions = {}): Promise<Buffer> {
  const { color = [255, 40, 40], alpha = 0.5, caption = '', bbox } = options;
  const { height, width } = image;
  const tinted = tintMask(image, mask, color, alpha);
  const stroke = Math.max(2, Math.round(Math.min(height, width) / 200));
  const fontSize = Math.max(12, Math.round(width / 40));
  const captionHeight = caption ? Math.round(fontSize * 1.8) : 0;
  const layers: sharp.OverlayOptions[] = [];
  if (bbox) {
    const [x, y, w, h] = bbox;
    layers.push({
      input: Buffer.from(
        `<svg width="${width}" height="${height}" xmlns="http://www.w3.org/2000/svg"><rect x="${x}" y="${y}" ` +
          `width="${Math.max(w, 1)}" height="${Math.max(h, 1)}" fill="none" stroke="rgb(${color.join(',')})" ` +
          `stroke-width="${stroke}"/></svg>`,
      ),
      top: 0,
      left: 0,
    });
  }
  if (caption) {
    layers.push({
      input: Buffer.from(
        `<svg width="${width}" height="${captionHeight}" xmlns="http://www.w3.org/2000/svg">` +
          `<rect width="100%" height="100%" fill="black"/><text x="${fontSize / 2}" y="${fontSize * 1.25}" ` +
          `font-family="sans-serif" font-size="${fontSize}" fill="white">${escapeXml(caption)}</text></svg>`,
      ),
      top: height,
      left: 0,
    });
  }
  return sharp(tinted, { raw: { width, height, channels: 3 } })
    .extend({ bottom: captionHeight, background: { r: 0, g: 0, b: 0 } })
    .composite(layers)
    .png()
    .toBuffer();
}

export interface SheetEntry {
  mask: Uint8Array;
  bbox?: [number, number, number, number];
  label: string;
}

/** Tiles one overlay per entry (e.g. the top-k candidates with their scores), `columns` per row, each `tile` wide. */
export async function renderContactSheet(image: RgbImage, entries: SheetEntry[], columns = 3, tile = 320): Promise<Buffer> {
  if (entries.length === 0) throw new RangeError('entries must not be empty');
  const tiles = await Promise.all(
    entries.map(async (e) => {
      const png = await renderOverlay(image, e.mask, { bbox: e.bbox, caption: e.label });
      return sharp(png).resize({ width: tile }).png().toBuffer({ resolveWithObject: true });
    }),
  );
  const tileHeight = Math.max(...tiles.map((t) => t.info.height));
  const rows = Math.ceil(tiles.length / columns);
  return sharp({
    create: { width: tile * Math.min(columns, tiles.length), height: tileHeight * rows, channels: 3, background: '#222' },
  })
    .composite(tiles.map((t, i) => ({ input: t.data, left: (i % columns) * tile, top: Math.floor(i / columns) * tileHeight })))
    .png()
    .toBuffer();
}
