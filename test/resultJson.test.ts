// The shared result JSON of `segment` and the service: the fields in the CLI's order, NaN scores as null.
import { describe, expect, it } from 'vitest';

import { resultJson } from '../src/resultJson.ts';
import type { ExpressionResult } from '../src/segmenter.ts';

const mask = { size: [2, 3] as [number, number], counts: '06' };

describe('resultJson', () => {
  it('keeps every field in order and writes non-finite scores as null', () => {
    const r: ExpressionResult = {
      expression: 'the dog', mask, bbox: [0, 0, 3, 2], score: NaN, proposal: 1, hybrid: { proposal: 0, score: 1.5 },
      parse: { sentence: 'the dog', tokens: ['the', 'dog'], position: 'none', relation: 'none', nounPhrase: 'the dog', otherNouns: [], otherNounPhrases: [] } as unknown as ExpressionResult['parse'],
      candidates: [
        { proposal: 1, mask, bbox: [0, 0, 3, 2], clip: 2, coherence: NaN, relation: 0.5, final: NaN },
        { proposal: 0, mask, bbox: [0, 0, 1, 1], clip: Infinity, coherence: 0.25 },
      ],
      guidedByK: { '2,4': { proposal: 1, score: -Infinity } },
      timings: { text: 1 },
    };
    const json = resultJson([r]);
    expect(Object.keys(json[0])).toEqual(['expression', 'mask', 'bbox', 'score', 'proposal', 'hybrid', 'parse', 'candidates', 'guidedByK', 'timings']);
    expect(json[0].score).toBeNull();
    expect(json[0].candidates[0]).toEqual({ proposal: 1, mask, bbox: [0, 0, 3, 2], clip: 2, coherence: null, relation: 0.5, final: null });
    expect(Object.keys(json[0].candidates[1])).toEqual(['proposal', 'mask', 'bbox', 'clip', 'coherence']);
    expect(json[0].candidates[1].clip).toBeNull();
    expect(json[0].guidedByK).toEqual({ '2,4': { proposal: 1, score: null } });
    // What JSON.stringify of the pipeline's object would have written, byte for byte.
    expect(JSON.stringify(json)).toBe(JSON.stringify([r]));
    expect(resultJson([{ ...r, guidedByK: undefined }])[0]).not.toHaveProperty('guidedByK');
  });
});
