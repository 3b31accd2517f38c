// Spec §7 (final): combines the relation term and the coherence score over the top-k1 proposals.
import { argmax } from './clipScores.ts';

export interface SelectionInput {
  /** The top-k1 proposals (indices into the proposal list), best CLIP score first. */
  top: number[];
  /** Relation term per entry of top (softmaxed). */
  t: ArrayLike<number>;
  /** Coherence score c_m per proposal (all N). */
  coherence: ArrayLike<number>;
  /** Weight of coherence against the relation term (the reference's alpha = 0.6). */
  alpha?: number;
}

export interface Selection {
  /** The chosen proposal. */
  index: number;
  /** s_i = (1 − α)·t_i + α·c_i per entry of top. */
  scores: Float64Array;
}

export function selectGuided({ top, t, coherence, alpha = 0.6 }: SelectionInput): Selection {
  if (t.length !== top.length) throw new RangeError(`t has length ${t.length}, expected ${top.length}`);
  const scores = new Float64Array(top.length);
  for (let a = 0; a < top.length; a++) scores[a] = t[a] * (1 - alpha) + alpha * coherence[top[a]];
  const best = argmax(scores);
  return { index: best < 0 ? -1 : top[best], scores };
}
