import { describe, expect, it } from 'vitest';

import { argmax, clipScores, softmax, topK } from '../src/pipeline/clipScores.ts';
import { relationGuidance, relationTerm } from '../src/pipeline/relationGuidance.ts';
import { selectGuided } from '../src/pipeline/selection.ts';

describe('clipScores', () => {
  it('is logitScale × cosine', () => {
    const v = new Float32Array([1, 0, 0, 1, 1, 1]);
    const s = clipScores(v, 3, new Float32Array([2, 0]), 100);
    expect(s[0]).toBeCloseTo(100, 10);
    expect(s[1]).toBeCloseTo(0, 10);
    expect(s[2]).toBeCloseTo(100 / Math.SQRT2, 10);
    expect(Number.isNaN(clipScores(v, 3, new Float32Array(2), 100)[0])).toBe(true);
    expect(() => clipScores(v, 4, new Float32Array(2), 100)).toThrow(/visual has length 6/);
  });
});

describe('argmax, softmax, topK', () => {
  it('follow torch on ties and NaN', () => {
    expect(argmax([1, 3, 3])).toBe(1);
    expect(argmax([1, NaN, 3])).toBe(1);
    expect(argmax([])).toBe(-1);
    expect(topK([0.1, 0.5, 0.5, 0.2], 3)).toEqual([1, 2, 3]);
    expect(topK([0.1, NaN, 0.5], 2)).toEqual([1, 2]);
    expect(topK([1, 2], 5)).toEqual([1, 0]);
    const sm = softmax([1, 2, 3]);
    const e = [Math.exp(-2), Math.exp(-1), 1], z = e[0] + e[1] + e[2];
    sm.forEach((v, i) => expect(v).toBeCloseTo(e[i] / z, 15));
  });
});

describe('relationTerm', () => {
  // Box 0 sits left of and above box 1 and is smaller; box 2 lies inside box 1.
  const boxes = [0, 0, 10, 10, 20, 20, 40, 40, 30, 30, 10, 10];
  it('compares centres, areas and overlap as relation_boxes does', () => {
    expect(relationTerm(boxes, 0, 1, 0.5, 0.4, 'left')).toBeCloseTo(0.2, 15);
    expect(relationTerm(boxes, 0, 1, 0.5, 0.4, 'right')).toBe(0);
    expect(relationTerm(boxes, 0, 1, 0.5, 0.4, 'up')).toBeCloseTo(0.2, 15);
    expect(relationTerm(boxes, 0, 1, 0.5, 0.4, 'down')).toBe(0);
    expect(relationTerm(boxes, 0, 1, 0.5, 0.4, 'small')).toBeCloseTo(0.2, 15);
    expect(relationTerm(boxes, 0, 1, 0.5, 0.4, 'big')).toBe(0);
    expect(relationTerm(boxes, 2, 1, 0.5, 0.4, 'within')).toBeCloseTo(0.2, 15);
    expect(relationTerm(boxes, 1, 2, 0.5, 0.4, 'within')).toBeCloseTo((0.2 * 100) / 1600, 15);
    expect(relationTerm(boxes, 0, 1, 0.5, 0.4, 'none')).toBe(0.5);
    // Centres tie: neither left nor right.
    expect(relationTerm([0, 0, 4, 4, 1, 0, 2, 4], 0, 1, 1, 1, 'left')).toBe(0);
  });
});

describe('relationGuidance and selectGuided', () => {
  const boxes = [0, 0, 10, 10, 50, 0, 10, 10, 100, 0, 10, 10, 20, 0, 10, 10];
  const p = softmax([3, 2, 1, 0]);
  const q = softmax([0, 0, 0, 5]);

  it('without other nouns relates the top-k1 among themselves, weighted by p', () => {
    const r = relationGuidance({ p, q, boxesXYWH: boxes, hasOtherNouns: false, relation: 'left', k1: 3, k2: 4 });
    expect(r.top).toEqual([0, 1, 2]);
    expect(r.related).toEqual([0, 1, 2]);
    // Box 0 is left of 1 and 2; box 1 left of 2; box 2 left of none.
    expect(r.raw[0]).toBeCloseTo(p[0] * p[1] + p[0] * p[2], 15);
    expect(r.raw[1]).toBeCloseTo(p[1] * p[2], 15);
    expect(r.raw[2]).toBe(0);
    const z = Math.exp(r.raw[0]) + Math.exp(r.raw[1]) + 1;
    expect(r.t[2]).toBeCloseTo(1 / z, 15);
  });

  it('with other nouns relates the top-k1 to the top-k2 by q, weighted by q', () => {
    const r = relationGuidance({ p, q, boxesXYWH: boxes, hasOtherNouns: true, relation: 'right', k1: 2, k2: 1 });
    expect(r.top).toEqual([0, 1]);
    expect(r.related).toEqual([3]);
    expect(r.raw[0]).toBe(0); // box 0 (cx 5) is not right of box 3 (cx 25)
    expect(r.raw[1]).toBeCloseTo(p[1] * q[3], 15);
  });

  it("'none' sums p_i once per related proposal", () => {
    const r = relationGuidance({ p, q, boxesXYWH: boxes, hasOtherNouns: true, relation: 'none', k1: 3, k2: 2 });
    expect(Array.from(r.raw)).toEqual([2 * p[0], 2 * p[1], 2 * p[2]]);
  });

  it('selects the best of 0.4·t + 0.6·c over the top proposals', () => {
    const s = selectGuided({ top: [2, 0, 1], t: [0.5, 0.3, 0.2], coherence: [0.1, 0.9, -1] });
    expect(Array.from(s.scores)).toEqual([0.4 * 0.5 + 0.6 * -1, 0.4 * 0.3 + 0.6 * 0.1, 0.4 * 0.2 + 0.6 * 0.9]);
    expect(s.index).toBe(1);
    // A NaN coherence (a full-image mask) wins, as torch.argmax lets it.
    expect(selectGuided({ top: [0, 1], t: [0.9, 0.1], coherence: [0.5, NaN] }).index).toBe(1);
    expect(() => selectGuided({ top: [0], t: [1, 2], coherence: [0] })).toThrow(RangeError);
  });
});
