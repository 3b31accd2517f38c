// Spec §2–§8, outside CI: the figures of a full-size e2e run (scripts/full_size_e2e.sh): our pipeline against one
// reference directory written by scripts/fixtures/make_e2e_reference.py, as the parity tests compare it, but every
// difference measured and printed (JSON) instead of asserted.
//   npx tsx scripts/full_size_e2e_report.ts /work/fullsize/e2e/dog.jpg ../shared/data/images/dog.jpg
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { rleDecode, rleFromCounts } from '../bindings/rle.ts';
import { loadModels } from '../src/models/loadModels.ts';
import { coherenceScores, gemHeatmap } from '../src/pipeline/coherenceGuidance.ts';
import { computeHybridFeatures } from '../src/pipeline/hybridFeatures.ts';
import { loadImage } from '../src/pipeline/image.ts';
import { prepareGemInput, GEM_IMAGE_SIZE } from '../src/pipeline/preprocess.ts';
import { generateProposals } from '../src/pipeline/proposals.ts';
import { createSegmenter } from '../src/segmenter.ts';
import type { ParsedExpression } from '../src/text/parseExpression.ts';
import { CLIP_VOCAB_PATH } from '../test/sharedData.ts';

const [dir, imagePath] = process.argv.slice(2);
if (!dir || !imagePath) throw new Error('usage: full_size_e2e_report.ts REFERENCE_DIR IMAGE');
const ref = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8'), (_k, v) => (v === null ? NaN : v));
const bin = new Uint8Array(readFileSync(join(dir, 'reference.bin')));
const tensor = (e: { offset: number; shape: number[] }) =>
  new Float32Array(bin.buffer.slice(bin.byteOffset + e.offset, bin.byteOffset + e.offset + 4 * e.shape.reduce((a, b) => a * b, 1)));
/** max |a − b| / max |b|; NaN must meet NaN (else Infinity). */
function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) return Infinity;
  let diff = 0, scale = 0;
  for (let i = 0; i < want.length; i++) {
    if (Number.isNaN(got[i]) || Number.isNaN(want[i])) { if (Number.isNaN(got[i]) !== Number.isNaN(want[i])) return Infinity; continue; }
    diff = Math.max(diff, Math.abs(got[i] - want[i])); scale = Math.max(scale, Math.abs(want[i]));
  }
  return scale === 0 ? (diff === 0 ? 0 : Infinity) : diff / scale;
}
const maxAbs = (a: number[]) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

const vocabPath = process.env.HYBRIDGL_VOCAB ?? CLIP_VOCAB_PATH;
const models = await loadModels(join(dir, 'models'), { device: 'cpu', precision: 'fp32', vocabPath });
const image = await loadImage(imagePath);
const proposals = await generateProposals(image, models);
const { height: h, width: w } = image;
const out: Record<string, unknown> = { image: ref.image.name, proposals: { ours: proposals.count, reference: ref.proposals.length } };
const n = Math.min(proposals.count, ref.proposals.length);
let pixels = 0, boxes = 0;
const where: number[][] = [];
const dIoU: number[] = [], dStab: number[] = [];
for (let i = 0; i < n; i++) {
  const p = ref.proposals[i];
  const want = rleDecode(rleFromCounts(p.rle.counts, h, w));
  const got = proposals.masks.subarray(i * h * w, (i + 1) * h * w);
  for (let q = 0; q < want.length; q++) {
    if (want[q] === got[q]) continue;
    pixels++;
    if (where.length < 10) where.push([i, Math.floor(q / w), q % w, got[q]]);  // proposal, y, x, ours
  }
  boxes += +(Array.from(proposals.boxesXYWH.subarray(4 * i, 4 * i + 4)).join() !== p.bbox.join());
  dIoU.push(proposals.predictedIoU[i] - p.predicted_iou);
  dStab.push(proposals.stabilityScore[i] - p.stability_score);
}
Object.assign(out.proposals as object, { pixelsDiffering: pixels, differing: where, boxesDiffering: boxes, maxAbsPredictedIoU: maxAbs(dIoU),
  maxAbsStability: maxAbs(dStab) });
// Downstream stages run on our proposals; a few flipped pixels (noise at the 0 logit) show up as small errors.
if (proposals.count === ref.proposals.length) {
  const hybrid = await computeHybridFeatures(image, proposals.masks, proposals.count, models, { fusion: 'G2L', keepInputs: true });
  const k = ref.clip_inputs.count, plane = 3 * 224 * 224;
  const inputs = (hybrid as unknown as { inputs: { global: Float32Array; local: Float32Array } }).inputs;
  out.relErr = {
    clipInputGlobal: relErr(inputs.global.subarray(0, k * plane), tensor(ref.clip_inputs.global)),
    clipInputLocal: relErr(inputs.local.subarray(0, k * plane), tensor(ref.clip_inputs.local)),
    maskGrid: relErr(hybrid.maskGrid, tensor(ref.mask_grid)),
    g2lFeatures: relErr(hybrid.features, tensor(ref.hybrid_features.G2L)),
  };
  const patches = (await models.gemVisual({ data: prepareGemInput(image), dims: [1, 3, GEM_IMAGE_SIZE, GEM_IMAGE_SIZE] })).data;
  let heat448 = 0, coherence = 0;
  for (const e of ref.expressions) {
    const heat = gemHeatmap(patches, Float32Array.from(e.gem_text_features));
    if (e.heat448) heat448 = relErr(heat, tensor(e.heat448));
    const c = await coherenceScores(heat, proposals.masks, proposals.count, h, w, e.dirflag, e.relaflag);
    coherence = Math.max(coherence, relErr(c.coherence, e.score_gem));
  }
  Object.assign(out.relErr as object, { gemHeat448: heat448, coherence });
  const segmenter = await createSegmenter({ models });
  const prepared = await segmenter.prepare(imagePath);
  const parse = (e: Record<string, never>): ParsedExpression => ({
    tokens: (e.sentence as string).split(' '), sentence: e.sentence, nounPhrase: e.noun_phrase,
    headNoun: (e.noun_phrase as string).split(' ').at(-1)!, otherNounPhrases: e.other_noun_phrases, otherNouns: e.nouns,
    position: e.dirflag, relation: e.relaflag, parse: [] });
  const results = await segmenter.segmentPrepared(prepared, ref.expressions.map((e: Record<string, never>) => ({ text: e.sentence, parse: parse(e) })));
  out.expressions = results.map((r, i) => {
    const e = ref.expressions[i];
    const clip = new Array(proposals.count).fill(NaN), rel: number[] = [], fin: number[] = [], relW: number[] = [], finW: number[] = [];
    for (const c of r.candidates) {
      clip[c.proposal] = c.clip;
      const at = e.maxidxs.indexOf(c.proposal);
      if (at >= 0) { rel.push(c.relation!); relW.push(e.topscores_softmax[at]); fin.push(c.final!); finW.push(e.topscores_final[at]); }
    }
    const seen = r.candidates.map((c) => c.proposal);
    return { sentence: e.sentence, pure: [r.hybrid.proposal, e.max_index_hybrid], guided: [r.proposal, e.max_index_final],
      clipScoresRelErr: relErr(seen.map((j) => clip[j]), seen.map((j) => e.score_clip[j])),
      relationRelErr: relErr(rel, relW), finalRelErr: relErr(fin, finW) };
  });
  await segmenter.dispose();
}
await models.dispose();
console.log(JSON.stringify(out, null, 1));
