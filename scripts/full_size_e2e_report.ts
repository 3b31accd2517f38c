// Spec §2–§8, outside CI: the figures of a full-size e2e run (scripts/full_size_e2e.sh): our pipeline against one
// reference directory written by scripts/fixtures/make_e2e_reference.py, as the parity tests compare it, but every
// difference measured and printed (JSON) instead of asserted. Where the reference has every fusion mode (its
// --fusions), each mode's features, scores and both choices too, on our proposals. MODELS (default
// REFERENCE_DIR/models) picks another model directory with the same weights (e.g. `hybridgl models convert`'s); one
// without SAM (a fusion-only check) takes the reference's proposals, and says so.
//   npx tsx scripts/full_size_e2e_report.ts /work/fullsize/e2e/dog.jpg ../shared/data/images/dog.jpg
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { rleDecode, rleEncode, rleFromCounts, type Rle } from '../bindings/rle.ts';
import { loadModels, type ModelName } from '../src/models/loadModels.ts';
import { coherenceScores, gemHeatmap } from '../src/pipeline/coherenceGuidance.ts';
import { clipScores } from '../src/pipeline/clipScores.ts';
import { computeHybridFeatures } from '../src/pipeline/hybridFeatures.ts';
import { loadImage } from '../src/pipeline/image.ts';
import { prepareGemInput, GEM_IMAGE_SIZE } from '../src/pipeline/preprocess.ts';
import { generateProposals, type Proposals } from '../src/pipeline/proposals.ts';
import { createSegmenter, type PreparedImage, type Segmenter } from '../src/segmenter.ts';
import type { Fusion } from '../src/models/loadModels.ts';
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
const modelsDir = process.env.MODELS ?? join(dir, 'models');
const manifest = JSON.parse(readFileSync(join(modelsDir, 'manifest.json'), 'utf8')) as { files: Array<{ model: ModelName }> };
const present = [...new Set(manifest.files.map((f) => f.model))];
const models = await loadModels(modelsDir, { device: 'cpu', precision: 'fp32', vocabPath, models: present });
const image = await loadImage(imagePath);
const { height: h, width: w } = image;
const ownSam = present.includes('sam_encoder');
const proposals = ownSam ? await generateProposals(image, models) : referenceProposals();
const out: Record<string, unknown> = { image: ref.image.name, models: modelsDir,
  proposals: { source: ownSam ? 'ours' : 'the reference\'s (no SAM in the model directory)', ours: proposals.count, reference: ref.proposals.length } };
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
  // Every proposal a candidate: each one's CLIP score is compared.
  const segmenter = await createSegmenter({ models, topK: Math.min(100, proposals.count) });
  const rles = new Map<number, Rle>();
  const prepared: PreparedImage = { image, proposals, features: hybrid.features, dim: hybrid.dim, gemPatches: patches, timings: {},
    proposalRle: (i) => rles.get(i) ?? rles.set(i, rleEncode(proposals.masks.subarray(i * h * w, (i + 1) * h * w), h, w)).get(i)! };
  out.expressions = await compareChoices(segmenter, prepared, ref.expressions);
  if (ref.fusions) {
    // Each mode's features on the prepared image's proposals, scored and chosen by the same segmenter code.
    const fusions: Record<string, unknown> = {};
    for (const [mode, f] of Object.entries(ref.fusions as Record<string, { features: { offset: number; shape: number[] }; expressions: Array<Record<string, never>> }>)) {
      const feats = await computeHybridFeatures(prepared.image, prepared.proposals.masks, prepared.proposals.count, models, { fusion: mode as Fusion });
      const want = f.expressions.map((c, i) => ({ ...ref.expressions[i], ...c }));
      const rows = await compareChoices(segmenter, { ...prepared, features: feats.features }, want);
      const negRelErr = want.map((e) => e.nouns.length ? relErr(clipScores(feats.features, feats.n, Float32Array.from(e.other_noun_features), models.logitScale), e.score_clip_neg) : 0);
      fusions[mode] = { featuresRelErr: relErr(feats.features, tensor(f.features)),
        pureSame: rows.filter((r) => r.pure[0] === r.pure[1]).length, guidedSame: rows.filter((r) => r.guided[0] === r.guided[1]).length,
        of: rows.length, maxClipScoresRelErr: Math.max(...rows.map((r) => r.clipScoresRelErr)), maxClipNegRelErr: Math.max(...negRelErr),
        maxRelationRelErr: Math.max(...rows.map((r) => r.relationRelErr)), maxFinalRelErr: Math.max(...rows.map((r) => r.finalRelErr)),
        expressions: rows };
    }
    out.fusions = fusions;
  }
  await segmenter.dispose();
}
await models.dispose();
out.peakRssMiB = Math.round(process.resourceUsage().maxRSS / 1024);
console.log(JSON.stringify(out, null, 1));

/** The segmenter's scores and both choices for the reference's expressions (fixed parses) against the reference's. */
async function compareChoices(segmenter: Segmenter, prepared: PreparedImage, expressions: Array<Record<string, never>>) {
  const parse = (e: Record<string, never>): ParsedExpression => ({
    tokens: (e.sentence as string).split(' '), sentence: e.sentence, nounPhrase: e.noun_phrase,
    headNoun: (e.noun_phrase as string).split(' ').at(-1)!, otherNounPhrases: e.other_noun_phrases, otherNouns: e.nouns,
    position: e.dirflag, relation: e.relaflag, parse: [] });
  const results = await segmenter.segmentPrepared(prepared, expressions.map((e) => ({ text: e.sentence, parse: parse(e) })));
  return results.map((r, i) => {
    const e = expressions[i] as Record<string, any>;
    const clip = new Array(prepared.proposals.count).fill(NaN), rel: number[] = [], fin: number[] = [], relW: number[] = [], finW: number[] = [];
    for (const c of r.candidates) {
      clip[c.proposal] = c.clip;
      const at = e.maxidxs.indexOf(c.proposal);
      if (at >= 0) { rel.push(c.relation!); relW.push(e.topscores_softmax[at]); fin.push(c.final!); finW.push(e.topscores_final[at]); }
    }
    const seen = r.candidates.map((c) => c.proposal);
    return { sentence: e.sentence as string, pure: [r.hybrid.proposal, e.max_index_hybrid], guided: [r.proposal, e.max_index_final],
      candidates: seen.length, clipScoresRelErr: relErr(seen.map((j) => clip[j]), seen.map((j) => e.score_clip[j])),
      relationRelErr: relErr(rel, relW), finalRelErr: relErr(fin, finW) };
  });
}

/** The reference's proposals as our stage's result (masks from the RLEs, boxes as recorded). */
function referenceProposals(): Proposals {
  const n = ref.proposals.length, masks = new Uint8Array(n * h * w);
  const boxesXYWH = new Int32Array(4 * n), boxesXYXY = new Int32Array(4 * n);
  ref.proposals.forEach((p: { rle: { counts: number[] }; bbox: number[] }, i: number) => {
    masks.set(rleDecode(rleFromCounts(p.rle.counts, h, w)), i * h * w);
    boxesXYWH.set(p.bbox, 4 * i);
    boxesXYXY.set([p.bbox[0], p.bbox[1], p.bbox[0] + p.bbox[2], p.bbox[1] + p.bbox[3]], 4 * i);
  });
  return { count: n, masks, boxesXYWH, boxesXYXY, height: h, width: w,
    predictedIoU: Float32Array.from(ref.proposals, (p: { predicted_iou: number }) => p.predicted_iou),
    stabilityScore: Float32Array.from(ref.proposals, (p: { stability_score: number }) => p.stability_score),
    pointCoords: Float64Array.from(ref.proposals.flatMap((p: { point: number[] }) => p.point)),
    proposalIndex: Int32Array.from(ref.proposals, (_p: unknown, i: number) => i) };
}
