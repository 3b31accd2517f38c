import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import {
  rleArea,
  rleAreaBatch,
  rleDecode,
  rleDecodeBatch,
  rleDecodeBatchAsync,
  rleEncode,
  rleEncodeBatch,
  rleEncodeBatchAsync,
  rleFromBoxes,
  rleFromCounts,
  rleFromPolygons,
  rleFromPolygonsAsync,
  rleIoU,
  rleIoUAsync,
  rleMerge,
  rleToBbox,
  rleToBboxBatch,
  rleToCounts,
} from '../src/index.ts';
import type { Rle } from '../src/index.ts';
import { AWKWARD_SIZES, randomMasks, rng } from './helpers.ts';

// ---- A plain TS reference of COCO RLE, written from its definition. ----

/** Column-major runs starting with zeros. */
function refCounts(mask: Uint8Array, h: number, w: number, off = 0): number[] {
  const counts: number[] = [];
  let value = 0, run = 0;
  for (let x = 0; x < w; x++)
    for (let y = 0; y < h; y++) {
      const v = mask[off + y * w + x] ? 1 : 0;
      if (v !== value) counts.push(run), (run = 0), (value = v);
      run++;
    }
  counts.push(run);
  return counts;
}

/** COCO's string: deltas against the count two back (from the fourth on), 5 bits a character plus a "more" bit. */
function refString(counts: number[]): string {
  let s = '';
  counts.forEach((c, i) => {
    let x = i > 2 ? c - counts[i - 2] : c;
    for (let more = true; more; ) {
      let ch = x & 0x1f;
      x = Math.floor(x / 32);
      more = ch & 0x10 ? x !== -1 : x !== 0;
      if (more) ch |= 0x20;
      s += String.fromCharCode(ch + 48);
    }
  });
  return s;
}

function refEncode(mask: Uint8Array, h: number, w: number, off = 0): Rle {
  return { size: [h, w], counts: refString(refCounts(mask, h, w, off)) };
}

function refArea(mask: Uint8Array, off: number, pixels: number): number {
  let a = 0;
  for (let p = 0; p < pixels; p++) a += mask[off + p] ? 1 : 0;
  return a;
}

/** pycocotools 2.0.8's box: tight columns; rows are tight too unless a run of ones crosses a column. */
function refBbox(mask: Uint8Array, h: number, w: number, off = 0): number[] {
  const counts = refCounts(mask, h, w, off);
  let x1 = w, x2 = -1, y1 = h, y2 = -1, pos = 0;
  counts.forEach((c, j) => {
    if (j % 2 === 1 && c > 0) {
      const xs = Math.floor(pos / h), xe = Math.floor((pos + c - 1) / h);
      x1 = Math.min(x1, xs), x2 = Math.max(x2, xe);
      if (xs < xe) (y1 = 0), (y2 = h - 1);
      else (y1 = Math.min(y1, pos % h)), (y2 = Math.max(y2, (pos + c - 1) % h));
    }
    pos += c;
  });
  return x2 < 0 ? [0, 0, 0, 0] : [x1, y1, x2 - x1 + 1, y2 - y1 + 1];
}

/** Byte-for-byte equality, reporting the first differing index (toEqual on megabyte arrays is very slow). */
function expectBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual.length).toBe(expected.length);
  const i = actual.findIndex((v, k) => v !== expected[k]);
  expect(i, `first differing byte`).toBe(-1);
}

function testMasks(n: number, h: number, w: number, seed: number): Uint8Array {
  const masks = randomMasks(n, h, w, seed);
  masks.fill(0, 0, h * w);
  if (n > 1) masks.fill(1, h * w, 2 * h * w);
  return masks;
}

// ---- Golden outputs of pycocotools 2.0.8 (scripts/fixtures/make_coco_mask.py). ----

const dir = fileURLToPath(new URL('./fixtures/coco_mask', import.meta.url));
const golden = JSON.parse(readFileSync(join(dir, 'coco_mask.json'), 'utf8'));
const bits = readFileSync(join(dir, 'masks.bin'));

function unpack(size: [number, number], offset: number): Uint8Array {
  const n = size[0] * size[1];
  const m = new Uint8Array(n);
  for (let p = 0; p < n; p++) m[p] = (bits[offset + (p >> 3)] >> (7 - (p & 7))) & 1;
  return m;
}

describe('COCO RLE against pycocotools 2.0.8', () => {
  const cases = golden.masks as Array<{ size: [number, number]; offset: number; counts: string; area: number; bbox: number[] }>;

  it(`encodes, decodes, measures and boxes ${cases.length} masks identically`, () => {
    for (const c of cases) {
      const [h, w] = c.size;
      const mask = unpack(c.size, c.offset);
      const rle = rleEncode(mask, h, w);
      expect(rle).toEqual({ size: [h, w], counts: c.counts });
      expectBytes(rleDecode({ size: [h, w], counts: c.counts }), mask);
      expect(rleArea(rle)).toBe(c.area);
      expect(rleToBbox(rle)).toEqual(c.bbox);
    }
  });

  it('batch encode and decode agree with the golden strings', async () => {
    const bySize = new Map<string, typeof cases>();
    for (const c of cases) bySize.set(c.size.join('x'), [...(bySize.get(c.size.join('x')) ?? []), c]);
    for (const group of bySize.values()) {
      const [h, w] = group[0].size;
      const masks = new Uint8Array(group.length * h * w);
      group.forEach((c, i) => masks.set(unpack(c.size, c.offset), i * h * w));
      const want = group.map((c) => ({ size: [h, w], counts: c.counts }));
      expect(rleEncodeBatch(masks, group.length, h, w)).toEqual(want);
      expect(await rleEncodeBatchAsync(masks, group.length, h, w)).toEqual(want);
      expectBytes(rleDecodeBatch(want as Rle[]), masks);
      expectBytes(await rleDecodeBatchAsync(want as Rle[]), masks);
      expect(Array.from(rleAreaBatch(want as Rle[]))).toEqual(group.map((c) => c.area));
      expect(Array.from(rleToBboxBatch(want as Rle[]))).toEqual(group.flatMap((c) => c.bbox));
    }
  });

  it('rasterises polygons identically (frPyObjects / frPoly)', async () => {
    for (const c of golden.polygons as Array<{ note: string; size: [number, number]; polygons: number[][]; counts: string[] }>) {
      const [h, w] = c.size;
      const want = c.counts.map((counts) => ({ size: [h, w], counts }));
      expect(rleFromPolygons(c.polygons, h, w), `${c.note} on ${h}×${w}`).toEqual(want);
      expect(await rleFromPolygonsAsync(c.polygons, h, w)).toEqual(want);
    }
  });

  it('rasterises boxes identically (frBbox)', () => {
    const c = golden.boxes;
    expect(rleFromBoxes(c.boxes, c.size[0], c.size[1]).map((r) => r.counts)).toEqual(c.counts);
  });

  it('merges identically', () => {
    for (const c of golden.merges as Array<{ rles: Rle[]; intersect: boolean; counts: string }>) {
      expect(rleMerge(c.rles, c.intersect)).toEqual({ size: c.rles[0].size, counts: c.counts });
    }
  });

  it('compresses, measures and boxes RLEs with zero-length runs identically', () => {
    type ZeroRuns = { size: [number, number]; uncompressed: number[]; counts: string; area: number; bbox: number[] };
    for (const c of golden.zeroRuns as ZeroRuns[]) {
      const rle = { size: c.size, counts: c.counts };
      expect(rleFromCounts(c.uncompressed, c.size[0], c.size[1])).toEqual(rle);
      expect(Array.from(rleToCounts(rle))).toEqual(c.uncompressed);
      expect(rleArea(rle)).toBe(c.area);
      expect(rleToBbox(rle)).toEqual(c.bbox);
    }
  });

  it('computes IoU matrices identically (crowd, size mismatch, zero-length runs)', async () => {
    for (const c of golden.ious as Array<{ dt: Rle[]; gt: Rle[]; iscrowd: boolean[]; iou: number[] }>) {
      expect(Array.from(rleIoU(c.dt, c.gt, c.iscrowd))).toEqual(c.iou);
      expect(Array.from(await rleIoUAsync(c.dt, c.gt, c.iscrowd))).toEqual(c.iou);
    }
    expect(golden.ious.some((c: { iou: number[] }) => c.iou.includes(-1))).toBe(true);
  });
});

describe('COCO RLE against a plain TS reference', () => {
  const sizes: Array<[number, number]> = [...AWKWARD_SIZES, [1000, 1000], [0, 5], [5, 0]];
  for (const [h, w] of sizes) {
    it(`encode, decode, area, bbox on ${h}×${w}`, () => {
      const n = 5, px = h * w;
      const masks = testMasks(n, h, w, 3 * h + w);
      const rles = rleEncodeBatch(masks, n, h, w);
      for (let i = 0; i < n; i++) {
        expect(rles[i]).toEqual(refEncode(masks, h, w, i * px));
        expect(rleEncode(masks.subarray(i * px, (i + 1) * px), h, w)).toEqual(rles[i]);
        expect(rleArea(rles[i])).toBe(refArea(masks, i * px, px));
        expect(rleToBbox(rles[i])).toEqual(refBbox(masks, h, w, i * px));
        const runs = refCounts(masks, h, w, i * px);
        expect(Array.from(rleToCounts(rles[i]))).toEqual(runs);
        expect(rleFromCounts(runs, h, w)).toEqual(rles[i]);
      }
      expectBytes(rleDecodeBatch(rles), masks);
    });
  }

  it('handles zero-size RLEs as pycocotools 2.0.8 does', () => {
    const r: Rle = { size: [0, 5], counts: '0' };
    expect(Array.from(rleIoU([r], [r], [false]))).toEqual([0]);
    expect([rleArea(r), rleToBbox(r), rleMerge([r, r])]).toEqual([0, [0, 0, 0, 0], r]);
    expect(rleFromPolygons([[1, 1, 3, 1, 3, 3]], 0, 5)).toEqual([r]);
  });

  it('treats any non-zero byte as set', () => {
    const m = new Uint8Array([0, 3, 255, 1, 0, 128]);
    expect(rleEncode(m, 2, 3)).toEqual(refEncode(m, 2, 3));
    expectBytes(rleDecode(rleEncode(m, 2, 3)), Uint8Array.from(m, (v) => (v ? 1 : 0)));
  });

  for (const [h, w] of [[7, 9], [427, 640], [1000, 1000]] as Array<[number, number]>) {
    it(`IoU and merge on ${h}×${w} equal dense counts`, () => {
      const n = 6, px = h * w;
      const masks = testMasks(n, h, w, h + 5 * w);
      const rles = rleEncodeBatch(masks, n, h, w);
      const crowd = [false, true, false, true, false, false];
      const iou = rleIoU(rles, rles, crowd);
      for (let d = 0; d < n; d++)
        for (let g = 0; g < n; g++) {
          let inter = 0, uni = 0, area = 0;
          for (let p = 0; p < px; p++) {
            const a = masks[d * px + p], b = masks[g * px + p];
            inter += a & b, uni += a | b, area += a;
          }
          expect(iou[d * n + g]).toBe(inter === 0 ? 0 : inter / (crowd[g] ? area : uni));
        }
      for (const intersect of [false, true]) {
        const combined = new Uint8Array(px);
        for (let p = 0; p < px; p++) {
          let v = intersect ? 1 : 0;
          for (let i = 2; i < n; i++) v = intersect ? v & masks[i * px + p] : v | masks[i * px + p];
          combined[p] = v;
        }
        expect(rleMerge(rles.slice(2), intersect)).toEqual(refEncode(combined, h, w));
      }
    });
  }

  it('polygon RLEs decode to masks whose union matches a merge', () => {
    const r = rng(5);
    const polys = Array.from({ length: 4 }, () => Array.from({ length: 10 }, () => r() * 120 - 10));
    const rles = rleFromPolygons(polys, 90, 100);
    const union = new Uint8Array(90 * 100);
    for (const x of rles) rleDecode(x).forEach((v, p) => (union[p] |= v));
    expect(rleMerge(rles)).toEqual(refEncode(union, 90, 100));
  });
});

describe('COCO RLE argument checks', () => {
  const ok: Rle = { size: [2, 2], counts: '13' };
  it('rejects corrupt counts strings, naming them', () => {
    expect(() => rleDecode({ size: [2, 2], counts: '1' })).toThrow(/rle\.counts is corrupt/);
    expect(() => rleDecode({ size: [2, 2], counts: '0 3' })).toThrow(/rle\.counts is corrupt/);
    expect(() => rleArea({ size: [2, 2], counts: '0o' })).toThrow(/rle\.counts is corrupt: it ends inside/);
    expect(() => rleToBbox({ size: [2, 2], counts: '55' })).toThrow(/rle\.counts is corrupt/);
    expect(() => rleDecodeBatch([ok, { size: [2, 2], counts: 'p' }])).toThrow(/rles\[1\]\.counts is corrupt/);
    expect(() => rleIoU([ok], [ok, { size: [2, 2], counts: '' }], [false, false])).toThrow(/gt\[1\]\.counts/);
    expect(() => rleMerge([ok, { size: [2, 2], counts: 'zzzzzzzzzzzzzzzz' }])).toThrow(/rles\[1\]\.counts/);
  });

  it('rejects bad sizes, shapes and types', () => {
    expect(() => rleEncode(new Uint8Array(4), -2, 2)).toThrow(/height must be in/);
    expect(() => rleEncode(new Uint8Array(3), 2, 2)).toThrow(/mask has length 3, expected 4/);
    expect(() => rleEncode([0, 1] as unknown as Uint8Array, 1, 2)).toThrow(/mask must be a Uint8Array/);
    expect(() => rleEncodeBatch(new Uint8Array(7), 2, 2, 2)).toThrow(/masks has length 7, expected 8/);
    expect(() => rleEncode(new Uint8Array(0), 2 ** 20, 2 ** 12)).toThrow(/exceeds/);
    expect(() => rleDecode({ size: [-1, 2], counts: '' })).toThrow(/rle\.size height/);
    expect(() => rleDecode({ size: [2], counts: '13' } as unknown as Rle)).toThrow(/rle\.size must be/);
    expect(() => rleDecode({ size: [2, 2], counts: [1, 3] } as unknown as Rle)).toThrow(/rle\.counts must be a string/);
    expect(() => rleDecodeBatch([ok, { size: [1, 4], counts: '13' }])).toThrow(/rles\[1\] has another size/);
    expect(() => rleMerge([ok, { size: [4, 1], counts: '13' }])).toThrow(/rles\[1\] has another size/);
    expect(() => rleMerge([])).toThrow(/rles is empty/);
    expect(() => rleIoU([ok], [ok], [])).toThrow(/iscrowd has length 0, expected gt.length = 1/);
    expect(() => rleIoU([ok], [ok], ['yes'] as unknown as boolean[])).toThrow(/iscrowd\[0\]/);
    expect(() => rleFromPolygons([[1, 2, NaN, 4, 5, 6]], 10, 10)).toThrow(/polygons\[0\]\[2\]/);
    expect(() => rleFromPolygons([[1, 2, 3, 4, 5, 1e9]], 10, 10)).toThrow(/polygons\[0\]\[5\]/);
    expect(() => rleFromPolygons([{}] as unknown as number[][], 10, 10)).toThrow(/polygons\[0\] must be an array/);
    expect(() => rleFromBoxes([[1, 2, 3]], 10, 10)).toThrow(/boxes\[0\] must be \[x, y, w, h\]/);
    expect(() => rleFromCounts([1, 2], 2, 2)).toThrow(/counts cover 3 pixels, not height×width = 4/);
    expect(() => rleFromCounts([1, -3], 2, 2)).toThrow(/counts\[1\]/);
  });

  it('rejects corrupt input in async calls as a rejected Promise', async () => {
    await expect(rleDecodeBatchAsync([{ size: [2, 2], counts: '1' }])).rejects.toThrow(/rles\[0\]\.counts/);
    await expect(rleIoUAsync([ok], [ok], [true, false])).rejects.toThrow(/iscrowd/);
  });

  it('survives random garbage strings without crashing', () => {
    const r = rng(99);
    for (let t = 0; t < 500; t++) {
      const len = Math.floor(r() * 12);
      let s = '';
      for (let i = 0; i < len; i++) s += String.fromCharCode(40 + Math.floor(r() * 80));
      const rle = { size: [3, 4] as [number, number], counts: s };
      try {
        const m = rleDecode(rle);
        expect(rleEncode(m, 3, 4).counts.length).toBeGreaterThan(0);
        rleToBbox(rle);
        rleIoU([rle], [rle], [t % 2 === 0]);
      } catch (err) {
        expect(String(err)).toMatch(/rle\.counts is corrupt|gt\[0\]|dt\[0\]/);
      }
    }
  });
});
