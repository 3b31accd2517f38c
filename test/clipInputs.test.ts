import { describe, expect, it } from 'vitest';

import { buildClipInputs, buildClipInputsAsync, gaussianBlur } from '../src/index.ts';
import { randomMasks, rng } from './helpers.ts';
import { fixtureF32, fixtureMasks, fixtureU8, manifest, maxAbsDiff } from './pixelFixtures.ts';

const S = 224, PLANE = S * S;
const IMAGENET_MEAN = [0.485, 0.456, 0.406], IMAGENET_STD = [0.229, 0.224, 0.225];
const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073];

/** Rows `rows` of each n×3×224×224 output, in the fixture's layout (n, 3, rows, 224). */
function pickRows(full: Float32Array, n: number, rows: number[]): Float32Array {
  const out = new Float32Array(n * 3 * rows.length * S);
  let k = 0;
  for (let m = 0; m < n; m++)
    for (let c = 0; c < 3; c++)
      for (const r of rows) for (let x = 0; x < S; x++) out[k++] = full[(m * 3 + c) * PLANE + r * S + x];
  return out;
}

/**
 * Plain reference: full-resolution composites, then a textbook bilinear resize (align_corners=False, the scale
 * in/out as float32 like PyTorch's), all in double.
 */
function plainClipInputs(rgb: Uint8Array, blurred: Uint8Array, mask: Uint8Array, h: number, w: number, size: number) {
  const sample = (img: (p: number, c: number) => number, c: number, oy: number, ox: number) => {
    const src = (o: number, inSize: number) => Math.max(0, (o + 0.5) * Math.fround(inSize / size) - 0.5);
    const sy = src(oy, h), sx = src(ox, w);
    const y0 = Math.floor(sy), x0 = Math.floor(sx);
    const y1 = Math.min(y0 + 1, h - 1), x1 = Math.min(x0 + 1, w - 1);
    const ly = sy - y0, lx = sx - x0;
    const at = (y: number, x: number) => img(y * w + x, c);
    return (at(y0, x0) * (1 - lx) + at(y0, x1) * lx) * (1 - ly) + (at(y1, x0) * (1 - lx) + at(y1, x1) * lx) * ly;
  };
  const composite = (p: number, c: number) => (mask[p] ? rgb[p * 3 + c] : blurred[p * 3 + c]) / 255;
  const local = (p: number, c: number) =>
    mask[p] ? (rgb[p * 3 + c] / 255 - IMAGENET_MEAN[c]) / IMAGENET_STD[c] : CLIP_MEAN[c];
  const g = new Float64Array(3 * size * size), l = new Float64Array(3 * size * size);
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++) {
        const i = c * size * size + y * size + x;
        g[i] = (sample(composite, c, y, x) - IMAGENET_MEAN[c]) / IMAGENET_STD[c];
        l[i] = sample(local, c, y, x);
      }
  return { g, l };
}

/** IEEE half bits → number. */
function halfToNumber(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

describe('buildClipInputs', () => {
  for (const name of manifest.clip_cases as string[]) {
    it(`equals the reference's cv2 + torchvision path within 1e-5: ${name}`, async () => {
      const [h, w] = manifest[`${name}_rgb`].shape;
      const rgb = fixtureU8(`${name}_rgb`), masks = fixtureMasks(`${name}_masks`);
      const n = masks.length / (h * w);
      const rows = manifest[`${name}_global`].rows as number[];
      const blurred = gaussianBlur(rgb, h, w);
      const r = buildClipInputs(rgb, blurred, masks, n, h, w);
      expect(r.shape).toEqual([n, 3, 224, 224]);
      const dg = maxAbsDiff(pickRows(r.global as Float32Array, n, rows), fixtureF32(`${name}_global`));
      const dl = maxAbsDiff(pickRows(r.local as Float32Array, n, rows), fixtureF32(`${name}_local`));
      expect(dg).toBeLessThan(1e-5);
      expect(dl).toBeLessThan(1e-5);
      const again = await buildClipInputsAsync(rgb, blurred, masks, n, h, w);
      expect(maxAbsDiff(again.global, r.global)).toBe(0);
      expect(maxAbsDiff(again.local, r.local)).toBe(0);
    });
  }

  for (const [h, w, size] of [[1, 1, 224], [7, 9, 224], [61, 40, 32], [300, 250, 224]]) {
    it(`matches plain full-resolution composites on ${h}×${w} → ${size}`, () => {
      const r = rng(h * w);
      const rgb = Uint8Array.from({ length: h * w * 3 }, () => Math.floor(r() * 256));
      const blurred = gaussianBlur(rgb, h, w);
      const masks = randomMasks(2, h, w, h + w);
      masks.fill(1, 0, Math.floor((h * w) / 2));
      const out = buildClipInputs(rgb, blurred, masks, 2, h, w, { size });
      for (let m = 0; m < 2; m++) {
        const { g, l } = plainClipInputs(rgb, blurred, masks.subarray(m * h * w, (m + 1) * h * w), h, w, size);
        const off = m * 3 * size * size, len = 3 * size * size;
        expect(maxAbsDiff(out.global.subarray(off, off + len), g)).toBeLessThan(1e-5);
        expect(maxAbsDiff(out.local.subarray(off, off + len), l)).toBeLessThan(1e-5);
      }
    });
  }

  it('float16 output is the float32 output rounded to half', () => {
    const h = 50, w = 70;
    const r = rng(3);
    const rgb = Uint8Array.from({ length: h * w * 3 }, () => Math.floor(r() * 256));
    const blurred = gaussianBlur(rgb, h, w);
    const masks = randomMasks(3, h, w, 4);
    const full = buildClipInputs(rgb, blurred, masks, 3, h, w);
    const half = buildClipInputs(rgb, blurred, masks, 3, h, w, { dtype: 'float16' });
    expect(half.global).toBeInstanceOf(Uint16Array);
    for (const [a, b] of [[full.global, half.global], [full.local, half.local]] as const) {
      for (let i = 0; i < a.length; i++) {
        const x = a[i], y = halfToNumber(b[i]);
        // Round to nearest: within half an ulp of the half grid (ulp = 2^(e−10)).
        const ulp = 2 ** (Math.floor(Math.log2(Math.max(Math.abs(x), 2 ** -14))) - 10);
        if (Math.abs(x - y) > ulp / 2) throw new Error(`${x} → ${y} at ${i}`);
      }
    }
  });

  it('an empty mask gives the blurred image and the constant fill; n = 0 gives empty outputs', () => {
    const h = 20, w = 30;
    const rgb = Uint8Array.from({ length: h * w * 3 }, (_, i) => (i * 7) % 256);
    const blurred = gaussianBlur(rgb, h, w);
    const out = buildClipInputs(rgb, blurred, new Uint8Array(h * w), 1, h, w, { size: 8 });
    for (let c = 0; c < 3; c++)
      for (let i = 0; i < 64; i++) expect(Math.abs(out.local[c * 64 + i] - CLIP_MEAN[c])).toBeLessThan(1e-7);
    expect(buildClipInputs(rgb, blurred, new Uint8Array(0), 0, h, w).global.length).toBe(0);
  });

  it('writes into given output arrays', async () => {
    const h = 30, w = 20, r = rng(8);
    const rgb = Uint8Array.from({ length: h * w * 3 }, () => Math.floor(r() * 256));
    const blurred = gaussianBlur(rgb, h, w), masks = randomMasks(2, h, w, 8);
    const fresh = buildClipInputs(rgb, blurred, masks, 2, h, w, { size: 16 });
    const out = { global: new Float32Array(2 * 3 * 256), local: new Float32Array(2 * 3 * 256) };
    const got = await buildClipInputsAsync(rgb, blurred, masks, 2, h, w, { size: 16, out });
    expect(got.global).toBe(out.global);
    expect(Array.from(out.global)).toEqual(Array.from(fresh.global));
    expect(Array.from(out.local)).toEqual(Array.from(fresh.local));
    expect(() => buildClipInputs(rgb, blurred, masks, 2, h, w, { size: 8, out })).toThrow(/out.global has length/);
    expect(() => buildClipInputs(rgb, blurred, masks, 2, h, w, { size: 16, dtype: 'float16', out })).toThrow(
      /out.global must be a Uint16Array/,
    );
  });

  it('names the bad argument', () => {
    const rgb = new Uint8Array(12), m = new Uint8Array(4);
    expect(() => buildClipInputs(rgb, new Uint8Array(11), m, 1, 2, 2)).toThrow(/blurred has length 11/);
    expect(() => buildClipInputs(rgb, rgb, m, 2, 2, 2)).toThrow(/masks has length 4/);
    expect(() => buildClipInputs(rgb, rgb, m, 1, 2, 2, { dtype: 'int8' as 'float32' })).toThrow(/dtype/);
    expect(() => buildClipInputs(rgb, rgb, m, 1, 2, 2, { size: 0 })).toThrow(/size/);
    expect(() => buildClipInputs(rgb, rgb, [1, 1, 1, 1] as unknown as Uint8Array, 1, 2, 2)).toThrow(TypeError);
  });
});
