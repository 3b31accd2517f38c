import { describe, expect, it } from 'vitest';

import { maskIoU, maskIoUAsync, masksToBoxes, masksToBoxesAsync } from '../src/index.ts';
import { AWKWARD_SIZES, randomMasks } from './helpers.ts';

function refCounts(a: Uint8Array, b: Uint8Array, off1: number, off2: number, pixels: number) {
  let inter = 0, uni = 0;
  for (let p = 0; p < pixels; p++) {
    const x = a[off1 + p] !== 0, y = b[off2 + p] !== 0;
    if (x && y) inter++;
    if (x || y) uni++;
  }
  return { inter, uni };
}

function refBox(m: Uint8Array, off: number, h: number, w: number): number[] {
  let x1 = w, y1 = h, x2 = -1, y2 = -1;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      if (m[off + y * w + x]) {
        x1 = Math.min(x1, x), x2 = Math.max(x2, x), y1 = Math.min(y1, y), y2 = Math.max(y2, y);
      }
  return x2 < 0 ? [0, 0, 0, 0] : [x1, y1, x2, y2];
}

describe('maskIoU', () => {
  for (const [h, w] of [...AWKWARD_SIZES, [100, 130] as [number, number]]) {
    it(`matches a plain reference on ${h}×${w}`, async () => {
      const n = 5, m = 3;
      const a = randomMasks(n, h, w, h * 31 + w);
      const b = randomMasks(m, h, w, h * 17 + w + 1);
      b.fill(0, 0, h * w); // an empty mask
      a.fill(1, h * w, 2 * h * w); // a full mask
      const r = maskIoU(a, b, h, w);
      const r2 = await maskIoUAsync(a, b, h, w);
      expect(Array.from(r2.intersection)).toEqual(Array.from(r.intersection));
      for (let i = 0; i < n; i++)
        for (let j = 0; j < m; j++) {
          const { inter, uni } = refCounts(a, b, i * h * w, j * h * w, h * w);
          expect(r.intersection[i * m + j]).toBe(inter);
          expect(r.union[i * m + j]).toBe(uni);
          expect(r.iou[i * m + j]).toBe(uni ? inter / uni : 0);
        }
    });
  }

  it('N candidates against one ground truth on 1000×1000', () => {
    const a = randomMasks(4, 1000, 1000, 9);
    const gt = randomMasks(1, 1000, 1000, 10);
    const r = maskIoU(a, gt, 1000, 1000);
    expect(r.iou.length).toBe(4);
    for (let i = 0; i < 4; i++) {
      const { inter, uni } = refCounts(a, gt, i * 1e6, 0, 1e6);
      expect([r.intersection[i], r.union[i]]).toEqual([inter, uni]);
    }
  });

  it('counts any non-zero byte as set', () => {
    const h = 9, w = 70; // 630 pixels: whole 64-pixel words and a tail
    const a = Uint8Array.from({ length: h * w }, (_, i) => (i % 3 === 0 ? 0 : (i * 37) % 255 || 200));
    const b = Uint8Array.from(a, (v) => (v ? 1 : 0));
    const r = maskIoU(a, b, h, w);
    expect(r.intersection[0]).toBe(b.reduce((s, v) => s + v, 0));
    expect(r.iou[0]).toBe(1);
  });

  it('names the bad argument', () => {
    const m = new Uint8Array(12);
    expect(() => maskIoU(m, new Uint8Array(5), 3, 4)).toThrow(/others has length 5/);
    expect(() => maskIoU([] as unknown as Uint8Array, m, 3, 4)).toThrow(TypeError);
    expect(() => maskIoU(m, m, -3, 4)).toThrow(/height/);
    expect(() => maskIoU(m, m, 3, 4.5)).toThrow(/width must be an integer/);
  });
});

describe('masksToBoxes', () => {
  for (const [h, w] of AWKWARD_SIZES) {
    it(`matches a plain reference on ${h}×${w}`, async () => {
      const n = 6;
      const masks = randomMasks(n, h, w, h + 7 * w);
      masks.fill(0, 0, h * w);
      masks.fill(1, h * w, 2 * h * w);
      const { xyxy, xywh } = masksToBoxes(masks, h, w);
      const again = await masksToBoxesAsync(masks, h, w);
      expect(Array.from(again.xyxy)).toEqual(Array.from(xyxy));
      for (let k = 0; k < n; k++) {
        const b = refBox(masks, k * h * w, h, w);
        expect(Array.from(xyxy.subarray(4 * k, 4 * k + 4))).toEqual(b);
        expect(Array.from(xywh.subarray(4 * k, 4 * k + 4))).toEqual([b[0], b[1], b[2] - b[0], b[3] - b[1]]);
      }
      expect(Array.from(xyxy.subarray(0, 4))).toEqual([0, 0, 0, 0]);
      expect(Array.from(xyxy.subarray(4, 8))).toEqual([0, 0, w - 1, h - 1]);
    });
  }

  it('rejects a short buffer', () => {
    expect(() => masksToBoxes(new Uint8Array(10), 3, 4)).toThrow(/not a multiple/);
  });
});
