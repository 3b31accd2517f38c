import { describe, expect, it } from 'vitest';

import { createStickyK, iouCounts, IoUAccumulator, stickyKInOrder, stickyKVariants, summarize } from '../src/eval/metrics.ts';

describe('iouCounts', () => {
  it('counts a hand-drawn 3×4 case', () => {
    // pred:        gt:
    // 1 1 0 0      0 1 1 0
    // 1 1 0 0      0 1 1 0
    // 0 0 0 0      0 0 0 7   (any non-zero is set)
    const pred = Uint8Array.from([1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0]);
    const gt = Uint8Array.from([0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 7]);
    expect(iouCounts(pred, gt)).toEqual({ intersection: 2, union: 7 });
    expect(() => iouCounts(pred, gt.subarray(1))).toThrow(/pred has 12 pixels but gt has 11/);
  });
});

describe('IoUAccumulator', () => {
  it('matches a hand-computed oIoU, mIoU and precision', () => {
    // IoUs: 2/7, 9/10, 0/0 → 0, 6/8, 5/5.
    const counts = [
      { intersection: 2, union: 7 },
      { intersection: 9, union: 10 },
      { intersection: 0, union: 0 },
      { intersection: 6, union: 8 },
      { intersection: 5, union: 5 },
    ];
    const s = summarize(counts);
    expect(s.sentences).toBe(5);
    expect(s.intersection).toBe(22);
    expect(s.union).toBe(30);
    expect(s.oIoU).toBeCloseTo((22 / 30) * 100, 12);
    expect(s.mIoU).toBeCloseTo(((2 / 7 + 0.9 + 0 + 0.75 + 1) / 5) * 100, 12);
    // IoU ≥ 0.5: 0.9, 0.75, 1 → 60 %; ≥ 0.8: 0.9, 1 → 40 %; ≥ 0.9: 0.9, 1 → 40 % (inclusive).
    expect(s.precision).toEqual({ '0.5': 60, '0.6': 60, '0.7': 60, '0.8': 40, '0.9': 40 });
  });

  it('sums beyond 2^32 exactly and rejects impossible counts', () => {
    const acc = new IoUAccumulator();
    for (let k = 0; k < 3; k++) acc.add({ intersection: 2 ** 31 + k, union: 2 ** 32 - 1 });
    expect(acc.summary().intersection).toBe(3 * 2 ** 31 + 3);
    expect(acc.summary().union).toBe(3 * (2 ** 32 - 1));
    expect(() => acc.add({ intersection: 5, union: 4 })).toThrow(/0 ≤ intersection ≤ union/);
    expect(() => acc.add({ intersection: 0.5, union: 4 })).toThrow(/integers/);
  });

  it('gives zeros for no sentences', () => {
    expect(summarize([])).toMatchObject({ sentences: 0, oIoU: 0, mIoU: 0 });
  });
});

describe('createStickyK (QUIRK sticky-k)', () => {
  it('lowers k1/k2 for good after an image with few proposals', () => {
    const k = createStickyK();
    expect(k(10)).toEqual({ k1: 3, k2: 6 });
    expect(k(4)).toEqual({ k1: 3, k2: 4 });
    expect(k(10)).toEqual({ k1: 3, k2: 4 });
    expect(k(2)).toEqual({ k1: 2, k2: 2 });
    expect(k(50)).toEqual({ k1: 2, k2: 2 });
  });

  it('recomputes k per image with sticky: false', () => {
    const k = createStickyK({ sticky: false });
    expect(k(2)).toEqual({ k1: 2, k2: 2 });
    expect(k(10)).toEqual({ k1: 3, k2: 6 });
    expect(() => k(0)).toThrow(/positive integer/);
  });
});

describe('sticky-k in any order', () => {
  it('lists the k pairs a sentence can get', () => {
    expect(stickyKVariants(2)).toEqual([{ k1: 1, k2: 1 }, { k1: 2, k2: 2 }]);
    expect(stickyKVariants(40).map(({ k1, k2 }) => `${k1},${k2}`)).toEqual(['1,1', '2,2', '3,3', '3,4', '3,5', '3,6']);
  });

  it('gives each item the k of the sequential loop, whatever the input order', () => {
    const seq = [9, 7, 4, 12, 5, 2, 30, 8]; // proposals in reference order
    const k = createStickyK();
    const expected = seq.map((n) => k(n));
    const shuffled = [5, 2, 7, 0, 3, 6, 1, 4];
    const got = stickyKInOrder(shuffled.map((o) => ({ order: o, proposals: seq[o] })));
    shuffled.forEach((o, i) => expect(got[i]).toEqual(expected[o]));
    for (const [o, e] of expected.entries()) expect(stickyKVariants(seq[o])).toContainEqual(e);
  });
});
