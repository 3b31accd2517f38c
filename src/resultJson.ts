// The result JSON of `segment`, one object per expression, shared by the CLI (one-shot and JSONL) and the service so
// that both give the same document for the same input. NaN scores (QUIRK nanCoherence) are written as null.
import type { Rle } from '../bindings/rle.ts';
import type { Candidate, ExpressionResult } from './segmenter.ts';

/** A score as JSON: NaN (or ±∞) has no JSON spelling and becomes null. */
type JsonNumber = number | null;

export interface CandidateJson {
  proposal: number;
  mask: Rle;
  bbox: [number, number, number, number];
  clip: JsonNumber;
  coherence?: JsonNumber;
  relation?: JsonNumber;
  final?: JsonNumber;
}

export interface ExpressionResultJson {
  expression: string;
  mask: Rle;
  bbox: [number, number, number, number];
  score: JsonNumber;
  proposal: number;
  hybrid: { proposal: number; score: JsonNumber };
  parse: ExpressionResult['parse'];
  candidates: CandidateJson[];
  guidedByK?: Record<string, { proposal: number; score: JsonNumber }>;
  timings: Record<string, number>;
}

const num = (x: number): JsonNumber => (Number.isFinite(x) ? x : null);

function candidateJson(c: Candidate): CandidateJson {
  return {
    proposal: c.proposal, mask: c.mask, bbox: c.bbox, clip: num(c.clip),
    ...(c.coherence !== undefined ? { coherence: num(c.coherence) } : {}),
    ...(c.relation !== undefined ? { relation: num(c.relation) } : {}),
    ...(c.final !== undefined ? { final: num(c.final) } : {}),
  };
}

/** The JSON value of a segmentation's per-expression results (what `hybridgl segment` prints). */
export function resultJson(results: readonly ExpressionResult[]): ExpressionResultJson[] {
  return results.map((r) => ({
    expression: r.expression, mask: r.mask, bbox: r.bbox, score: num(r.score), proposal: r.proposal,
    hybrid: { proposal: r.hybrid.proposal, score: num(r.hybrid.score) }, parse: r.parse,
    candidates: r.candidates.map(candidateJson),
    ...(r.guidedByK
      ? { guidedByK: Object.fromEntries(Object.entries(r.guidedByK).map(([k, v]) => [k, { proposal: v.proposal, score: num(v.score) }])) }
      : {}),
    timings: r.timings,
  }));
}
