// Spec §7 (relationship): re-weights the top-k1 proposals by the relation between their boxes and other objects.
import { softmax, topK } from './clipScores.ts';

export type Relation = 'left' | 'right' | 'up' | 'down' | 'big' | 'small' | 'within' | 'none';

export interface RelationInput {
  /** Softmax of the CLIP scores over all proposals (p). */
  p: ArrayLike<number>;
  /** Softmax of the other-noun scores over all proposals (q); unused when hasOtherNouns is false. */
  q: ArrayLike<number>;
  /** Proposal boxes as XYWH, n×4 (SAM's: w = x2 − x1). */
  boxesXYWH: ArrayLike<number>;
  hasOtherNouns: boolean;
  relation: Relation;
  /** How many top proposals are re-ranked (min(3, N) unless sticky-k lowered it). */
  k1: number;
  /** How many other-noun proposals they are related to (min(6, N) likewise). */
  k2: number;
}

export interface RelationResult {
  /** The top-k1 proposals by p, best first. */
  top: number[];
  /** The proposals they are related to (J): top-k1 by p without other nouns, top-k2 by q with them. */
  related: number[];
  /** Σ_j rel(i, j) per entry of top, before the softmax. */
  raw: Float64Array;
  /** softmax(raw): the relation term t. */
  t: Float64Array;
}

/** rel(i, j) of the reference's relation_boxes, for boxes given as XYWH. */
export function relationTerm(
  boxes: ArrayLike<number>,
  i: number,
  j: number,
  scoreI: number,
  scoreJ: number,
  relation: Relation,
): number {
  const [xi, yi, wi, hi] = [boxes[4 * i], boxes[4 * i + 1], boxes[4 * i + 2], boxes[4 * i + 3]];
  const [xj, yj, wj, hj] = [boxes[4 * j], boxes[4 * j + 1], boxes[4 * j + 2], boxes[4 * j + 3]];
  const both = scoreI * scoreJ;
  switch (relation) {
    case 'none':
      return scoreI;
    case 'left':
      return xi + wi / 2 < xj + wj / 2 ? both : 0;
    case 'right':
      return xi + wi / 2 > xj + wj / 2 ? both : 0;
    case 'up':
      return yi + hi / 2 < yj + hj / 2 ? both : 0;
    case 'down':
      return yi + hi / 2 > yj + hj / 2 ? both : 0;
    case 'big':
      return wi * hi > wj * hj ? both : 0;
    case 'small':
      return wi * hi < wj * hj ? both : 0;
    case 'within': {
      // Overlap of the boxes over i's area; a zero-area box i gives NaN/Infinity as the reference's division does.
      const x1 = Math.max(xi, xj), x2 = Math.max(x1, Math.min(xi + wi, xj + wj));
      const y1 = Math.max(yi, yj), y2 = Math.max(y1, Math.min(yi + hi, yj + hj));
      return (both * (x2 - x1) * (y2 - y1)) / (wi * hi);
    }
  }
}

export function relationGuidance(input: RelationInput): RelationResult {
  const { p, q, boxesXYWH, hasOtherNouns, relation, k1, k2 } = input;
  const n = p.length;
  if (boxesXYWH.length !== 4 * n) throw new RangeError(`boxesXYWH has length ${boxesXYWH.length}, expected 4×${n}`);
  if (hasOtherNouns && q.length !== n) throw new RangeError(`q has length ${q.length}, expected ${n}`);
  const top = topK(p, k1);
  const related = hasOtherNouns ? topK(q, k2) : top;
  const weights = hasOtherNouns ? q : p;
  const raw = new Float64Array(top.length);
  for (let a = 0; a < top.length; a++) {
    const i = top[a];
    for (const j of related) raw[a] += relationTerm(boxesXYWH, i, j, p[i], weights[j], relation);
  }
  return { top, related, raw, t: softmax(raw) };
}
