// Spec §5 and §7: one expression's scores over an image's proposals: the CLIP score and the pure-HybridGL choice,
// and with guidance the relation term, the coherence score and the final choice (for each k variant too).
import type { PositionFlag } from '../../bindings/heatmap.ts';
import { argmax, clipScores, softmax } from './clipScores.ts';
import { coherenceScores, gemHeatmap } from './coherenceGuidance.ts';
import { relationGuidance, type Relation } from './relationGuidance.ts';
import { selectGuided } from './selection.ts';
import { timed } from './timing.ts';

/** The image side, computed once per image. */
export interface ScoredImage {
  height: number;
  width: number;
  /** Proposals: their count, their 0/1 masks [count,H,W] and boxes [count,4] (x, y, w, h). */
  count: number;
  masks: Uint8Array;
  boxesXYWH: ArrayLike<number>;
  /** Hybrid visual features [count, E]. */
  features: Float32Array;
  /** GEM's patch features [784, E] (empty without guidance). */
  gemPatches: Float32Array;
}

/** The expression side: its text features and what its parse says. */
export interface ScoredExpression {
  /** Text side of the CLIP score (0.5·sentence + 0.5·noun phrase). */
  ensemble: Float32Array;
  /** Mean feature of the other noun phrases, used when `otherNouns` is non-empty. */
  otherNounsFeature: Float32Array;
  /** GEM's prompt feature, for the heatmap. */
  gemPromptFeature: Float32Array;
  otherNouns: readonly string[];
  position: PositionFlag;
  relation: Relation;
}

export interface ScoringSettings {
  /** CLIP's logit scale. */
  logitScale: number;
  /** Re-rank with spatial guidance (§7). */
  guidance: boolean;
  /** Candidates reported, best CLIP score first. */
  topK: number;
  /** Weight of coherence against the relation term (selection's default when absent). */
  alpha?: number;
  /** QUIRK nan-coherence: an empty or full proposal's coherence is NaN (false: its empty side counts as 0). */
  nanCoherence: boolean;
  /** k1/k2 (default min(3, n), min(6, n)). */
  k?: { k1: number; k2: number };
  /** Also choose with each of these. */
  kVariants?: ReadonlyArray<{ k1: number; k2: number }>;
}

export interface ProposalScores {
  proposal: number;
  /** logitScale · cos(visual, text). */
  clip: number;
  /** Relation term t (softmaxed over the top-k1), when guidance ran and the proposal is in the top-k1. */
  relation?: number;
  /** Coherence score c, when guidance ran. */
  coherence?: number;
  /** (1 − α)·t + α·c, when guidance ran and the proposal is in the top-k1. */
  final?: number;
}

export interface ExpressionScores {
  /** The chosen proposal and its final score (guided) or CLIP score (pure). */
  proposal: number;
  score: number;
  /** The pure-HybridGL choice (argmax of the CLIP score). */
  hybrid: { proposal: number; score: number };
  /** The topK proposals by CLIP score (ties: lower index first). */
  candidates: ProposalScores[];
  /** The guided choice of each k variant, keyed "k1,k2". */
  guidedByK?: Record<string, { proposal: number; score: number }>;
}

/** Scores one expression against one image's proposals; stage times go to `timings` (clipScores, coherence,
 *  relation). */
export async function scoreExpression(image: ScoredImage, text: ScoredExpression, settings: ScoringSettings,
  timings?: Record<string, number>): Promise<ExpressionScores> {
  const n = image.count;
  const scores = await timed(timings, 'clipScores', () => clipScores(image.features, n, text.ensemble, settings.logitScale));
  const pure = argmax(scores);
  const candidates: ProposalScores[] = Array.from({ length: n }, (_, i) => i)
    .sort((a, b) => scores[b] - scores[a] || a - b).slice(0, settings.topK)
    .map((i) => ({ proposal: i, clip: scores[i] }));
  const hybrid = { proposal: pure, score: scores[pure] };
  if (!settings.guidance) return { proposal: pure, score: scores[pure], hybrid, candidates };

  const hasOtherNouns = text.otherNouns.length > 0;
  const p = softmax(scores);
  const q = hasOtherNouns ? softmax(clipScores(image.features, n, text.otherNounsFeature, settings.logitScale)) : new Float64Array(n).fill(NaN);
  const coh = await timed(timings, 'coherence', async () => {
    const heat = gemHeatmap(image.gemPatches, text.gemPromptFeature);
    return coherenceScores(heat, image.masks, n, image.height, image.width, text.position, text.relation,
      settings.nanCoherence ? NaN : 0);
  });
  const choose = (k1: number, k2: number) => {
    const rel = relationGuidance({ p, q, boxesXYWH: image.boxesXYWH, hasOtherNouns, relation: text.relation, k1, k2 });
    return { rel, sel: selectGuided({ top: rel.top, t: rel.t, coherence: coh.coherence, alpha: settings.alpha }) };
  };
  const { rel, sel } = await timed(timings, 'relation', () =>
    choose(settings.k?.k1 ?? Math.min(3, n), settings.k?.k2 ?? Math.min(6, n)));
  for (const c of candidates) {
    c.coherence = coh.coherence[c.proposal];
    const at = rel.top.indexOf(c.proposal);
    if (at >= 0) {
      c.relation = rel.t[at];
      c.final = sel.scores[at];
    }
  }
  let guidedByK: ExpressionScores['guidedByK'];
  if (settings.kVariants) {
    guidedByK = {};
    for (const { k1, k2 } of settings.kVariants) {
      const v = choose(k1, k2);
      guidedByK[`${k1},${k2}`] = { proposal: v.sel.index, score: v.sel.scores[v.rel.top.indexOf(v.sel.index)] };
    }
  }
  return { proposal: sel.index, score: sel.scores[rel.top.indexOf(sel.index)], hybrid, candidates, ...(guidedByK ? { guidedByK } : {}) };
}
