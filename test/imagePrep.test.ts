import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import sharp from 'sharp';
import { describe, expect, it } from 'vitest';

import { normalizeImage, resizeImage, resizeImageAsync } from '../src/index.ts';

const dir = join(import.meta.dirname, 'fixtures', 'image_prep');
const golden = JSON.parse(readFileSync(join(dir, 'golden.json'), 'utf8'));
const sha = (a: ArrayBufferView) => createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex');

async function loadPng(name: string) {
  const { data, info } = await sharp(join(dir, name)).raw().toBuffer({ resolveWithObject: true });
  return { rgb: new Uint8Array(data), height: info.height, width: info.width };
}

describe('resizeImage equals Pillow', () => {
  for (const c of golden.resize) {
    it(`${c.input} → ${c.outHeight}×${c.outWidth} ${c.filter}`, async () => {
      const { rgb, height, width } = await loadPng(c.input);
      const out = resizeImage(rgb, height, width, c.outHeight, c.outWidth, { filter: c.filter });
      expect(Array.from(out.subarray(0, 8))).toEqual(c.first);
      expect(sha(out)).toBe(c.sha256);
    });
  }

  it('has a Promise variant giving the same bytes', async () => {
    const { rgb, height, width } = await loadPng('noise_37x53.png');
    const a = resizeImage(rgb, height, width, 20, 30, { filter: 'bicubic' });
    const b = await resizeImageAsync(rgb, height, width, 20, 30, { filter: 'bicubic' });
    expect(b).toEqual(a);
  });

  it('is the identity at the same size and names bad arguments', () => {
    const img = Uint8Array.from({ length: 4 * 5 * 3 }, (_, i) => (i * 37) % 256);
    expect(resizeImage(img, 4, 5, 4, 5)).toEqual(img);
    expect(() => resizeImage(img, 4, 5, 0, 5)).toThrow(/outHeight/);
    expect(() => resizeImage(img.subarray(1), 4, 5, 2, 2)).toThrow(/image has length 59/);
    expect(() => resizeImage(img, 4, 5, 2, 2, { filter: 'lanczos' as never })).toThrow(/filter/);
  });
});

describe('normalizeImage equals ToTensor + Normalize', () => {
  for (const c of golden.normalize) {
    it(`scale ${c.scale}, mean ${c.mean[0]}`, async () => {
      const { rgb, height, width } = await loadPng(c.input);
      const out = normalizeImage(rgb, height, width, {
        scale: c.scale, mean: c.mean, std: c.std, padHeight: c.padHeight, padWidth: c.padWidth,
      });
      expect(out.length).toBe(3 * (c.padHeight ?? height) * (c.padWidth ?? width));
      expect(sha(out)).toBe(c.sha256);
    });
  }
});
