import { describe, expect, it } from 'vitest';

import {
  applyPriorAndMean,
  coherenceMap,
  coherenceWeight,
  heatmapMaskScores,
  heatmapMaskScoresAsync,
  minMaxNormalize,
  positionPrior,
  resizeMap,
  resizeMapAsync,
} from '../src/index.ts';
import { randomMasks, rng } from './helpers.ts';
import { fixtureF32, fixtureU8, manifest, maxAbsDiff } from './pixelFixtures.ts';

/** The fixture script's procedural map, reproduced exactly. */
function proceduralMap(h: number, w: number): Float32Array {
  const out = new Float32Array(h * w);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) out[y * w + x] = ((x * 37 + y * 91) % 251) / 251 + ((x * y) % 17) / 17;
  return out;
}

function pickRows(map: Float32Array, w: number, rows: number[]): Float32Array {
  const out = new Float32Array(rows.length * w);
  rows.forEach((r, k) => out.set(map.subarray(r * w, (r + 1) * w), k * w));
  return out;
}

/** Plain antialiased bilinear along one axis in double (triangle filter widened by the scale when shrinking). */
function plainAaAxis(inSize: number, outSize: number): number[][] {
  const scale = inSize / outSize, support = Math.max(scale, 1), inv = scale >= 1 ? 1 / scale : 1;
  const rows: number[][] = [];
  for (let i = 0; i < outSize; i++) {
    const center = scale * (i + 0.5);
    const w = new Array(inSize).fill(0);
    let total = 0;
    for (let j = Math.max(0, Math.trunc(center - support + 0.5)); j < Math.min(inSize, Math.trunc(center + support + 0.5)); j++) {
      w[j] = Math.max(0, 1 - Math.abs((j - center + 0.5) * inv));
      total += w[j];
    }
    rows.push(w.map((v) => v / total));
  }
  return rows;
}

describe('resizeMap', () => {
  for (const c of manifest.resize_cases as Array<{ name: string; inH: number; inW: number; outH: number; outW: number; plainOnly?: boolean }>) {
    const src = proceduralMap(c.inH, c.inW);
    it(`bilinear equals torch interpolate: ${c.name}`, async () => {
      const rows = manifest[`${c.name}_plain`].rows as number[];
      const got = resizeMap(src, c.inH, c.inW, c.outH, c.outW);
      expect(maxAbsDiff(pickRows(got, c.outW, rows), fixtureF32(`${c.name}_plain`))).toBeLessThan(1e-6);
      expect(maxAbsDiff(await resizeMapAsync(src, c.inH, c.inW, c.outH, c.outW), got)).toBe(0);
    });
    if (c.plainOnly) continue;
    it(`antialiased equals torchvision Resize(antialias=True): ${c.name}`, () => {
      const rows = manifest[`${c.name}_aa`].rows as number[];
      const got = resizeMap(src, c.inH, c.inW, c.outH, c.outW, { antialias: true });
      expect(maxAbsDiff(pickRows(got, c.outW, rows), fixtureF32(`${c.name}_aa`))).toBeLessThan(1e-6);
    });
  }

  it('antialiased resize matches a plain double-precision filter, and channels are independent', () => {
    const r = rng(11), h = 45, w = 38, oh = 17, ow = 71;
    const src = Float32Array.from({ length: 2 * h * w }, () => r());
    const got = resizeMap(src, h, w, oh, ow, { antialias: true, channels: 2 });
    const wy = plainAaAxis(h, oh), wx = plainAaAxis(w, ow);
    for (let c = 0; c < 2; c++)
      for (let y = 0; y < oh; y++)
        for (let x = 0; x < ow; x++) {
          let v = 0;
          for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) v += wy[y][i] * wx[x][j] * src[c * h * w + i * w + j];
          expect(Math.abs(got[c * oh * ow + y * ow + x] - v)).toBeLessThan(1e-5);
        }
  });

  it('names the bad argument', () => {
    expect(() => resizeMap(new Float32Array(5), 2, 3, 4, 4)).toThrow(/map has length 5, expected 6/);
    expect(() => resizeMap(new Float32Array(6), 2, 3, 0, 4)).toThrow(/outHeight/);
    expect(() => resizeMap(new Uint8Array(6) as unknown as Float32Array, 2, 3, 4, 4)).toThrow(TypeError);
  });
});

describe('coherence maps and scores', () => {
  const { height: H, width: W, scores } = manifest.coherence;
  const masks = fixtureU8('coherence_masks');
  const n = masks.length / (H * W);
  const heat = proceduralMap(448, 448);

  for (const flag of ['none', 'left', 'right', 'middle', 'up'] as const) {
    it(`coherenceMap and scores equal the reference's lines: ${flag}`, async () => {
      const map = coherenceMap(heat, 448, 448, H, W, flag);
      // Values reach ~5; linspace and the mean differ from torch by float32 ulps.
      expect(maxAbsDiff(map, fixtureF32(`coherence_map_${flag}`))).toBeLessThan(5e-6);
      for (const b of [1.8, 1.95, 1.5]) {
        const want = (scores[`${flag}_${b}`] as Array<number | null>).map((v) => (v === null ? NaN : v));
        const got = heatmapMaskScores(map, masks, n, H, W, { weight: b });
        expect(maxAbsDiff(got.coherence, want)).toBeLessThan(1e-5);
        // Mask 3 is empty and mask 4 full: the reference's 0/0 gives NaN, and so do we by default.
        expect(Number.isNaN(got.coherence[3]) && Number.isNaN(got.coherence[4])).toBe(true);
        const again = await heatmapMaskScoresAsync(map, masks, n, H, W, { weight: b });
        expect(maxAbsDiff(again.coherence, got.coherence)).toBe(0);
      }
    });
  }

  it('emptyValue replaces the mean of an empty side', () => {
    const map = coherenceMap(heat, 448, 448, H, W, 'none');
    const got = heatmapMaskScores(map, masks, n, H, W, { emptyValue: 0 });
    expect(got.meanInside[3]).toBe(0);
    expect(got.meanOutside[4]).toBe(0);
    expect(got.coherence[3]).toBeCloseTo(-1.8 * got.meanOutside[3], 12);
    expect(got.coherence[4]).toBeCloseTo(0.2 * got.meanInside[4], 12);
    expect(got.area[3]).toBe(0);
    expect(got.area[4]).toBe(H * W);
  });

  it('means match a plain loop on random data', () => {
    const r = rng(2), h = 33, w = 47;
    const map = Float32Array.from({ length: h * w }, () => r() * 3);
    const ms = randomMasks(4, h, w, 9);
    const got = heatmapMaskScores(map, ms, 4, h, w, { weight: coherenceWeight('big') });
    for (let m = 0; m < 4; m++) {
      let si = 0, so = 0, ci = 0;
      for (let p = 0; p < h * w; p++) if (ms[m * h * w + p]) (si += map[p]), ci++;
      else so += map[p];
      // Sums run in float32 lanes folded into doubles (torch sums in float32 too).
      expect(got.meanInside[m]).toBeCloseTo(si / ci, 6);
      expect(got.meanOutside[m]).toBeCloseTo(so / (h * w - ci), 6);
      expect(got.coherence[m]).toBeCloseTo(0.05 * (si / ci) - 1.95 * (so / (h * w - ci)), 6);
    }
  });

  it('position priors equal torch.linspace within one float32 ulp', () => {
    for (const w of [1, 2, 3, 7, 83]) {
      expect(maxAbsDiff(positionPrior('middle', w), fixtureF32(`prior_middle_${w}`))).toBeLessThanOrEqual(6e-8);
      expect(maxAbsDiff(positionPrior('left', w), fixtureF32(`prior_left_${w}`))).toBeLessThanOrEqual(6e-8);
    }
    expect(Array.from(positionPrior('right', 3))).toEqual([0, 0.5, 1]);
    expect(Array.from(positionPrior('down', 2))).toEqual([1, 1]);
  });

  it('min-max, prior and mean division in float32', () => {
    const norm = minMaxNormalize(Float32Array.from([2, 4, 6, 3]));
    expect(Array.from(norm)).toEqual([0, 0.5, 1, 0.25]);
    expect(Number.isNaN(minMaxNormalize(Float32Array.from([5, 5]))[0])).toBe(true);
    const out = applyPriorAndMean(Float32Array.from([1, 1, 1, 1]), 2, 2, 'right');
    expect(Array.from(out)).toEqual([0, 2, 0, 2]);
    expect(coherenceWeight('small')).toBe(1.5);
    expect(coherenceWeight('left')).toBe(1.8);
  });

  it('names the bad argument', () => {
    const m = new Uint8Array(6);
    expect(() => heatmapMaskScores(new Float32Array(5), m, 1, 2, 3)).toThrow(/map has length 5/);
    expect(() => heatmapMaskScores(new Float32Array(6), m, 2, 2, 3)).toThrow(/masks has length 6/);
    expect(() => heatmapMaskScores(new Float32Array(6), m, 1, 2, 3, { weight: NaN })).toThrow(/weight/);
    expect(() => positionPrior('diagonal' as 'left', 3)).toThrow(/flag/);
  });
});
