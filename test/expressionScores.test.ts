// Spec §5 and §7: the scoring stage alone, fed the reference's own intermediates (test/fixtures/e2e: hybrid features,
// text features, GEM patch features, proposals), against the reference's scores and choices.
import { describe, expect, it } from 'vitest';

import type { PositionFlag } from '../bindings/heatmap.ts';
import { rleDecode, rleFromCounts } from '../bindings/rle.ts';
import { scoreExpression, type ProposalScores, type ScoredImage, type ScoringSettings } from '../src/pipeline/expressionScores.ts';
import { ref, relErr, tensor, type Expression } from './e2eFixture.ts';

const LOGIT_SCALE = 100.00000762939453;
const { height, width } = ref.image;
const N = ref.proposals.length;
const masks = new Uint8Array(N * height * width);
ref.proposals.forEach((p, i) => masks.set(rleDecode(rleFromCounts(p.rle.counts, p.rle.size[0], p.rle.size[1])), i * height * width));
/** gemVisual's output: the fixture's GEM patch features (not normalised there), each row L2-normalised. */
function normalisedRows({ data, dims: [rows, dim] }: { data: Float32Array; dims: readonly number[] }): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) {
    const row = data.subarray(r * dim, (r + 1) * dim);
    const norm = Math.hypot(...row);
    for (let j = 0; j < dim; j++) out[r * dim + j] = row[j] / norm;
  }
  return out;
}

const image: ScoredImage = {
  height, width, count: N, masks, boxesXYWH: ref.proposals.flatMap((p) => p.bbox),
  features: tensor(ref.hybrid_features.G2L).data, gemPatches: normalisedRows(tensor(ref.gem_patch_features)),
};
const settings: ScoringSettings = { logitScale: LOGIT_SCALE, guidance: true, topK: N, nanCoherence: true };

const expression = (e: Expression) => ({
  ensemble: Float32Array.from(e.text_ensemble), otherNounsFeature: Float32Array.from(e.other_noun_features),
  gemPromptFeature: Float32Array.from(e.gem_text_features), otherNouns: e.nouns,
  position: e.dirflag as PositionFlag, relation: e.relaflag,
});

/** Each candidate's field, by proposal (NaN where absent). */
const byProposal = (candidates: ProposalScores[], field: 'clip' | 'coherence' | 'relation' | 'final') => {
  const out = new Array<number>(N).fill(NaN);
  for (const c of candidates) out[c.proposal] = c[field] ?? NaN;
  return out;
};

describe('scoreExpression on the reference\'s intermediates', () => {
  for (const e of ref.expressions)
    it(`"${e.sentence}": CLIP scores, coherence, relation and final terms, and both choices`, async () => {
      const timings: Record<string, number> = {};
      const s = await scoreExpression(image, expression(e), { ...settings, k: { k1: e.k1, k2: e.k2 } }, timings);
      expect(s.hybrid.proposal).toBe(e.max_index_hybrid);
      expect(s.proposal).toBe(e.max_index_final);
      expect(relErr(byProposal(s.candidates, 'clip'), e.score_clip)).toBeLessThan(1e-5);
      expect(s.candidates.map((c) => c.proposal)).toEqual(
        Array.from({ length: N }, (_, i) => i).sort((a, b) => e.score_clip[b] - e.score_clip[a] || a - b));
      const coherence = byProposal(s.candidates, 'coherence');
      e.score_gem.forEach((want, i) => {
        if (Number.isNaN(want)) expect(Number.isNaN(coherence[i])).toBe(true);
        else expect(Math.abs(coherence[i] - want)).toBeLessThan(1e-4 * Math.max(1, Math.abs(want)));
      });
      const relation = byProposal(s.candidates, 'relation'), final = byProposal(s.candidates, 'final');
      expect(relErr(e.maxidxs.map((i) => relation[i]), e.topscores_softmax)).toBeLessThan(1e-5);
      expect(relErr(e.maxidxs.map((i) => final[i]), e.topscores_final)).toBeLessThan(1e-4);
      expect(relErr([s.score], [e.topscores_final[e.maxidxs.indexOf(e.max_index_final)]])).toBeLessThan(1e-4);
      expect(Object.keys(timings).sort()).toEqual(['clipScores', 'coherence', 'relation']);
    });

  it('without guidance: the pure choice, CLIP scores only, the topK best', async () => {
    const e = ref.expressions[0];
    const s = await scoreExpression(image, expression(e), { ...settings, guidance: false, topK: 2 });
    expect(s).toEqual({
      proposal: e.max_index_hybrid, score: s.hybrid.score, hybrid: { proposal: e.max_index_hybrid, score: s.hybrid.score },
      candidates: s.candidates.map((c) => ({ proposal: c.proposal, clip: c.clip })),
    });
    expect(s.candidates.length).toBe(2);
    expect(s.candidates[0].proposal).toBe(e.max_index_hybrid);
    expect(Math.abs(s.hybrid.score - e.score_clip[e.max_index_hybrid])).toBeLessThan(1e-4);
  });

  it('chooses again for each k variant, the run\'s own k giving the run\'s choice', async () => {
    const e = ref.expressions[0];
    const s = await scoreExpression(image, expression(e),
      { ...settings, k: { k1: e.k1, k2: e.k2 }, kVariants: [{ k1: e.k1, k2: e.k2 }, { k1: 1, k2: 1 }] });
    expect(s.guidedByK![`${e.k1},${e.k2}`]).toEqual({ proposal: s.proposal, score: s.score });
    // With k1 = 1 the only candidate is the best CLIP score.
    expect(s.guidedByK!['1,1'].proposal).toBe(e.max_index_hybrid);
  });

  it('counts an empty side as 0 instead of NaN without the nan-coherence quirk', async () => {
    const e = ref.expressions.find((x) => x.score_gem.some(Number.isNaN))!;
    const s = await scoreExpression(image, expression(e), { ...settings, nanCoherence: false });
    expect(s.candidates.every((c) => Number.isFinite(c.coherence))).toBe(true);
  });
});
