// The image memory budget: sizes read from the header before decoding, the default maxPixels, --max-pixels parsing.
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';

import {
  BYTES_PER_PIXEL, checkImageBudget, checkMaxPixels, DEFAULT_MAX_PIXELS, ImageBudgetError, MEMORY_BUDGET_BYTES, parseMaxPixels,
} from '../src/pipeline/imageBudget.ts';

describe('image memory budget', () => {
  let huge: Buffer; // 16000×16000 black PNG, under 1 MB: decoding it would need ~25 GB
  beforeAll(async () => {
    huge = await sharp({ create: { width: 16000, height: 16000, channels: 3, background: { r: 0, g: 0, b: 0 } } })
      .png({ compressionLevel: 9 }).toBuffer();
  }, 120_000);

  it('derives the default from the measured bytes per pixel and the 4 GB budget', () => {
    expect(MEMORY_BUDGET_BYTES).toBe(4 * 2 ** 30);
    expect(DEFAULT_MAX_PIXELS).toBe(Math.floor(MEMORY_BUDGET_BYTES / BYTES_PER_PIXEL));
    expect(DEFAULT_MAX_PIXELS * BYTES_PER_PIXEL).toBeLessThanOrEqual(MEMORY_BUDGET_BYTES);
    expect(DEFAULT_MAX_PIXELS).toBeGreaterThan(4000 * 3000); // a 12 Mpixel photo is accepted by default
    expect(DEFAULT_MAX_PIXELS).toBeLessThan(16000 * 16000);
  });

  it('refuses the 16000² PNG from its header, naming the size and the option', async () => {
    expect(huge.length).toBeLessThan(1 << 20);
    const err = await checkImageBudget(huge).catch((e) => e);
    expect(err).toBeInstanceOf(ImageBudgetError);
    expect(err).toBeInstanceOf(RangeError);
    expect(err.message).toMatch(/16000×16000 = 256\.0 Mpixel, over maxPixels \d+/);
    expect(err.message).toMatch(/maxPixels \(--max-pixels\)/);
    expect(err).toMatchObject({ height: 16000, width: 16000, maxPixels: DEFAULT_MAX_PIXELS });
  });

  it('checks raw RGB by its dimensions and honours a given maxPixels', async () => {
    const raw = { rgb: new Uint8Array(3 * 200 * 100), height: 200, width: 100 };
    await expect(checkImageBudget(raw, 20_000)).resolves.toBeUndefined();
    await expect(checkImageBudget(raw, 19_999)).rejects.toThrow(/100×200 = 0\.0 Mpixel, over maxPixels 19999/);
    // Dimensions alone decide: the buffer is never touched (an inconsistent one is loadImage's to report).
    await expect(checkImageBudget({ rgb: new Uint8Array(3), height: 50_000, width: 50_000 })).rejects.toBeInstanceOf(ImageBudgetError);
    await expect(checkImageBudget(huge, Infinity)).resolves.toBeUndefined();
    // Unreadable input passes here and is reported by the decoder.
    await expect(checkImageBudget(Buffer.from('not an image'), 10)).resolves.toBeUndefined();
  });

  it('parses --max-pixels and checks maxPixels', () => {
    expect(parseMaxPixels('40000000')).toBe(40_000_000);
    expect(parseMaxPixels('4e7')).toBe(40_000_000);
    expect(parseMaxPixels('inf')).toBe(Infinity);
    for (const bad of ['0', '-5', '1.5', 'lots', '', 'NaN']) expect(() => parseMaxPixels(bad), bad).toThrow(/--max-pixels must be a positive integer/);
    expect(() => checkMaxPixels(0)).toThrow(/maxPixels must be a positive integer, got 0/);
    expect(() => checkMaxPixels('9' as unknown as number)).toThrow(RangeError);
  });
});
