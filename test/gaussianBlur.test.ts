import { describe, expect, it } from 'vitest';

import { gaussianBlur, gaussianBlurAsync } from '../src/index.ts';
import { rng } from './helpers.ts';
import { fixtureU8, manifest } from './pixelFixtures.ts';

// Independent reference: the 2-D sum with OpenCV's fixed-point weights, written directly (no separable buffers).
const KERNEL = [1, 3, 6, 12, 20, 30, 36, 40, 36, 30, 20, 12, 6, 3, 1];
function reflect101(p: number, len: number): number {
  if (len === 1) return 0;
  while (p < 0 || p >= len) p = p < 0 ? -p : 2 * len - 2 - p;
  return p;
}
function plainBlur(img: Uint8Array, h: number, w: number): Uint8Array {
  const out = new Uint8Array(img.length);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < 3; c++) {
        let v = 0;
        for (let i = 0; i < 15; i++) {
          let row = 0;
          for (let j = 0; j < 15; j++) row += KERNEL[j] * img[(reflect101(y + i - 7, h) * w + reflect101(x + j - 7, w)) * 3 + c];
          v += KERNEL[i] * row;
        }
        out[(y * w + x) * 3 + c] = Math.min(255, (v + 32768) >>> 16);
      }
  return out;
}

describe('gaussianBlur', () => {
  for (const name of manifest.blur_cases as string[]) {
    it(`equals cv2.GaussianBlur(img, (15, 15), 0) bit for bit: ${name}`, async () => {
      const [h, w] = manifest[`${name}_in`].shape;
      const img = fixtureU8(`${name}_in`), want = fixtureU8(`${name}_out`);
      const got = gaussianBlur(img, h, w);
      let mismatches = 0;
      for (let i = 0; i < want.length; i++) mismatches += got[i] !== want[i] ? 1 : 0;
      expect(mismatches).toBe(0);
      expect(Array.from(await gaussianBlurAsync(img, h, w))).toEqual(Array.from(got));
    });
  }

  it('matches the direct 2-D fixed-point sum on a random 37×29 image', () => {
    const r = rng(5);
    const img = Uint8Array.from({ length: 37 * 29 * 3 }, () => Math.floor(r() * 256));
    expect(Array.from(gaussianBlur(img, 37, 29))).toEqual(Array.from(plainBlur(img, 37, 29)));
  });

  it('keeps a constant image constant', () => {
    expect(new Set(gaussianBlur(new Uint8Array(20 * 30 * 3).fill(200), 20, 30))).toEqual(new Set([200]));
  });

  it('names the bad argument', () => {
    expect(() => gaussianBlur(new Uint8Array(11), 2, 2)).toThrow(/rgb has length 11, expected 12/);
    expect(() => gaussianBlur(new Float32Array(12) as unknown as Uint8Array, 2, 2)).toThrow(TypeError);
    expect(() => gaussianBlur(new Uint8Array(12), 0, 2)).toThrow(/height/);
    expect(() => gaussianBlur(new Uint8Array(12), 2, 1.5)).toThrow(/width must be an integer/);
  });
});
