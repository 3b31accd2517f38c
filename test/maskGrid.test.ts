import { describe, expect, it } from 'vitest';

import { poolMasksToGrid, poolMasksToGridAsync } from '../src/index.ts';
import { AWKWARD_SIZES, randomMasks } from './helpers.ts';
import { fixtureF32, fixtureMasks, manifest, maxAbsDiff } from './pixelFixtures.ts';

/** Plain area fractions: each cell [g·in/grid, (g+1)·in/grid) per axis, pixel overlaps in double. */
function plainArea(mask: Uint8Array, h: number, w: number, grid: number): Float64Array {
  const overlap = (g: number, i: number, n: number) =>
    Math.max(0, Math.min(((g + 1) * n) / grid, i + 1) - Math.max((g * n) / grid, i));
  const out = new Float64Array(grid * grid);
  for (let gy = 0; gy < grid; gy++)
    for (let gx = 0; gx < grid; gx++) {
      let s = 0;
      for (let y = 0; y < h; y++) {
        const oy = overlap(gy, y, h);
        if (oy === 0) continue;
        for (let x = 0; x < w; x++) if (mask[y * w + x]) s += oy * overlap(gx, x, w);
      }
      out[gy * grid + gx] = s / ((h / grid) * (w / grid));
    }
  return out;
}

describe('poolMasksToGrid', () => {
  for (const c of manifest.grid_cases as Array<{ name: string; height: number; width: number; grid: number; n: number }>) {
    it(`equals the reference's TF.resize of the float masks: ${c.name}`, async () => {
      const masks = fixtureMasks(`${c.name}_masks`);
      const want = fixtureF32(`${c.name}_out`);
      const got = poolMasksToGrid(masks, c.n, c.height, c.width, c.grid);
      expect(got.length).toBe(c.n * c.grid * c.grid);
      expect(maxAbsDiff(got, want)).toBeLessThan(1e-6);
      expect(Array.from(await poolMasksToGridAsync(masks, c.n, c.height, c.width, c.grid))).toEqual(Array.from(got));
    });
  }

  for (const [h, w] of [...AWKWARD_SIZES, [13, 200] as [number, number]]) {
    for (const grid of [14, 5, 20]) {
      it(`area mode equals exact cell fractions on ${h}×${w}, grid ${grid}`, () => {
        const masks = randomMasks(3, h, w, h * 7 + w + grid);
        masks.fill(1, 0, h * w);
        const got = poolMasksToGrid(masks, 3, h, w, grid, { mode: 'area' });
        for (let m = 0; m < 3; m++) {
          const want = plainArea(masks.subarray(m * h * w, (m + 1) * h * w), h, w, grid);
          expect(maxAbsDiff(got.subarray(m * grid * grid, (m + 1) * grid * grid), want)).toBeLessThan(1e-6);
        }
        expect(got.subarray(0, grid * grid).every((v) => v === 1)).toBe(true);
      });
    }
  }

  it('bilinear mode differs from area mode (point samples): a thin line can vanish', () => {
    const h = 140, w = 140, mask = new Uint8Array(h * w);
    for (let x = 0; x < w; x++) mask[3 * w + x] = 1; // row 3: between the sample rows 4.5 and 14.5
    const bil = poolMasksToGrid(mask, 1, h, w, 14);
    const area = poolMasksToGrid(mask, 1, h, w, 14, { mode: 'area' });
    expect(Math.max(...bil)).toBe(0);
    expect(area[0]).toBeCloseTo(0.1, 6);
  });

  it('names the bad argument', () => {
    const m = new Uint8Array(12);
    expect(() => poolMasksToGrid(m, 2, 3, 4)).toThrow(/masks has length 12/);
    expect(() => poolMasksToGrid(m, 1, 3, 4, 0)).toThrow(/grid/);
    expect(() => poolMasksToGrid(m, 1, 3, 4, 14, { mode: 'max' as 'area' })).toThrow(/mode/);
    expect(() => poolMasksToGrid(m, 1.5, 3, 4)).toThrow(/n must be an integer/);
  });
});
