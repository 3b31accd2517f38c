import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';
import sharp from 'sharp';

import { loadImage } from '../src/pipeline/image.ts';
import {
  GEM_IMAGE_SIZE, prepareGemInput, prepareImageNetImage, prepareSamInput,
} from '../src/pipeline/preprocess.ts';
import { samResizeShape } from '../bindings/samPost.ts';
import { resizeImage } from '../src/index.ts';
import { SHARED_DIR } from './sharedData.ts';

const DOG = join(SHARED_DIR, 'data', 'images', 'dog.jpg');

describe('samResizeShape', () => {
  it('rounds each side as int(x + 0.5)', () => {
    expect(samResizeShape(534, 800)).toEqual([684, 1024]);
    expect(samResizeShape(1200, 1800)).toEqual([683, 1024]);
    expect(samResizeShape(427, 640)).toEqual([683, 1024]);
    expect(samResizeShape(640, 427)).toEqual([1024, 683]);
    expect(samResizeShape(1, 1)).toEqual([1024, 1024]);
  });
});

describe('loadImage', () => {
  it.skipIf(!existsSync(DOG))('decodes a JPEG path to RGB and passes raw RGB through', async () => {
    const img = await loadImage(DOG);
    expect([img.height, img.width, img.rgb.length]).toEqual([534, 800, 534 * 800 * 3]);
    expect(await loadImage(img)).toEqual(img);
  });

  it('replicates grey and drops alpha', async () => {
    const grey = await sharp(Buffer.from([10, 20, 30, 40]), { raw: { width: 2, height: 2, channels: 1 } }).png().toBuffer();
    expect(Array.from((await loadImage(grey)).rgb)).toEqual([10, 10, 10, 20, 20, 20, 30, 30, 30, 40, 40, 40]);
    const rgba = await sharp(Buffer.from([1, 2, 3, 0, 4, 5, 6, 255]), { raw: { width: 2, height: 1, channels: 4 } }).png().toBuffer();
    expect(Array.from((await loadImage(rgba)).rgb)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('names what it cannot read', async () => {
    await expect(loadImage('/nonexistent.jpg')).rejects.toThrow(/cannot read '\/nonexistent.jpg'/);
    await expect(loadImage(Buffer.from('not an image'))).rejects.toThrow(/the image buffer/);
    await expect(loadImage({ rgb: new Uint8Array(5), height: 1, width: 2 })).rejects.toThrow(/expected height×width×3 = 6/);
  });
});

describe('model inputs', () => {
  const rgb = Uint8Array.from({ length: 30 * 50 * 3 }, (_, i) => (i * 7) % 256);
  const img = { rgb, height: 30, width: 50 };

  it('SAM: resized frame normalised by pixel mean/std, zero padded to 1024', () => {
    const { pixels, resizedHeight, resizedWidth } = prepareSamInput(img);
    expect([resizedHeight, resizedWidth]).toEqual([614, 1024]);
    expect(pixels.length).toBe(3 * 1024 * 1024);
    const resized = resizeImage(rgb, 30, 50, 614, 1024);
    expect(pixels[0]).toBe(Math.fround(Math.fround(resized[0] - Math.fround(123.675)) / Math.fround(58.395)));
    expect(pixels[2 * 1024 * 1024 + 613 * 1024 + 1023]).toBe(
      Math.fround(Math.fround(resized[(613 * 1024 + 1023) * 3 + 2] - Math.fround(103.53)) / Math.fround(57.375)));
    expect(pixels[614 * 1024]).toBe(0);
  });

  it('GEM: 448×448 bicubic with CLIP normalisation; ImageNet image at full size', () => {
    expect(prepareGemInput(img).length).toBe(3 * GEM_IMAGE_SIZE * GEM_IMAGE_SIZE);
    const x = prepareImageNetImage(img);
    expect(x.length).toBe(3 * 30 * 50);
    expect(x[30 * 50]).toBe(Math.fround(Math.fround(Math.fround(rgb[1] / 255) - Math.fround(0.456)) / Math.fround(0.224)));
  });
});
