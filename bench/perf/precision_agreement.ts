// A reduced precision against fp32 through the whole pipeline, outside CI (issue 25, item 4): per photo the same
// model directory segmented twice on the CPU, fp32 and PRECISION, with the fixed parses of the full-size parity
// expressions; prints JSON: whether the proposal sets are equal (mask by mask), the CLIP scores' largest difference
// (every proposal a candidate), whether both choices (pure HybridGL, guided) are equal, and each stage's time.
// usage: npx tsx bench/perf/precision_agreement.ts MODELS_DIR IMAGE... [--precision int8] [--vocab FILE]
//          [--expressions scripts/fixtures/full_size_expressions.json]
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';

import type { Precision } from '../../src/models/loadModels.ts';
import { createSegmenter } from '../../src/segmenter.ts';
import type { ParsedExpression } from '../../src/text/parseExpression.ts';
import { CLIP_VOCAB_PATH } from '../../test/sharedData.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { precision: { type: 'string' }, vocab: { type: 'string' }, expressions: { type: 'string' } },
});
const [modelsDir, ...images] = positionals;
if (!modelsDir || images.length === 0)
  throw new Error('usage: precision_agreement.ts MODELS_DIR IMAGE... [--precision int8] [--vocab FILE] [--expressions FILE]');
const precision = (values.precision ?? 'int8') as Precision;
const byPhoto = JSON.parse(readFileSync(values.expressions ?? 'scripts/fixtures/full_size_expressions.json', 'utf8')) as
  Record<string, Array<Record<string, never>>>;

/** The fixed parse of a full_size_expressions.json entry (the reference's spaCy output for it). */
const parse = (e: Record<string, never>): ParsedExpression => ({
  tokens: (e.sentence as string).split(' '), sentence: e.sentence, nounPhrase: e.noun_phrase,
  headNoun: (e.noun_phrase as string).split(' ').at(-1)!, otherNounPhrases: e.other_noun_phrases, otherNouns: e.nouns,
  position: e.dirflag, relation: e.relaflag, parse: [] });

async function run(p: Precision, image: string, expressions: Array<Record<string, never>>) {
  const segmenter = await createSegmenter({ models: modelsDir, device: 'cpu', precision: p, topK: 100,
    vocabPath: values.vocab ?? CLIP_VOCAB_PATH });
  try {
    const t0 = performance.now();
    const prepared = await segmenter.prepare(image);
    const prepareMs = performance.now() - t0;
    const results = await segmenter.segmentPrepared(prepared, expressions.map((e) => ({ text: e.sentence, parse: parse(e) })));
    const rles = Array.from({ length: prepared.proposals.count }, (_, i) => String(prepared.proposalRle(i).counts));
    return { rles, features: prepared.features, results, prepareMs, timings: prepared.timings };
  } finally {
    await segmenter.dispose();
  }
}

const report = [];
for (const image of images) {
  const expressions = byPhoto[basename(image)];
  if (!expressions) throw new Error(`${image}: no expressions for ${basename(image)} in the expressions file`);
  const a = await run('fp32', image, expressions), b = await run(precision, image, expressions);
  let featureDiff = 0, cosMin = 1;
  const dim = a.features.length / Math.max(1, a.rles.length);
  for (let i = 0; i < a.rles.length && a.features.length === b.features.length; i++) {
    let dot = 0, na = 0, nb = 0;
    for (let d = 0; d < dim; d++) {
      const x = a.features[i * dim + d], y = b.features[i * dim + d];
      featureDiff = Math.max(featureDiff, Math.abs(x - y));
      dot += x * y; na += x * x; nb += y * y;
    }
    cosMin = Math.min(cosMin, dot / Math.sqrt(na * nb));
  }
  const rows = a.results.map((r, i) => {
    const s = b.results[i];
    const clipB = new Map(s.candidates.map((c) => [c.proposal, c.clip]));
    const diffs = r.candidates.map((c) => Math.abs(c.clip - (clipB.get(c.proposal) ?? NaN)));
    const clips = r.candidates.map((c) => c.clip);
    return { sentence: r.expression, pure: [r.hybrid.proposal, s.hybrid.proposal], guided: [r.proposal, s.proposal],
      maxClipDiff: Math.max(...diffs), clipSpread: Math.max(...clips) - Math.min(...clips),
      topGap: gap(clips) };
  });
  report.push({
    image: basename(image), precision,
    proposals: { fp32: a.rles.length, [precision]: b.rles.length, equal: a.rles.length === b.rles.length && a.rles.every((r, i) => r === b.rles[i]) },
    features: { maxAbsDiff: featureDiff, minCosine: cosMin },
    pureSame: rows.filter((r) => r.pure[0] === r.pure[1]).length, guidedSame: rows.filter((r) => r.guided[0] === r.guided[1]).length,
    of: rows.length, maxClipDiff: Math.max(...rows.map((r) => r.maxClipDiff)),
    prepareMs: { fp32: Math.round(a.prepareMs), [precision]: Math.round(b.prepareMs) },
    timings: { fp32: a.timings, [precision]: b.timings }, expressions: rows,
  });
}
console.log(JSON.stringify(report, null, 1));

/** The fp32 margin between the best and the second CLIP score (how far a choice is from flipping). */
function gap(scores: number[]): number {
  const s = [...scores].sort((x, y) => y - x);
  return s.length > 1 ? s[0] - s[1] : Infinity;
}
