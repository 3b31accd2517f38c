// Spec §2, outside CI: our side of a stability-score trace (issue 24). Reads the reference's trace written by
// scripts/fixtures/trace_sam_stability.py (its low-res logits, its up-scaled logits of each kept proposal and the
// counts |v > 1|, |v > −1| behind each stability score), runs our SAM stage on the same photo with a model directory
// of the same weights, and for every proposal: our counts (from our decoder's low-res logits, up-scaled by our
// kernel, and again through the post-processing binding with the mask threshold at ±1), the pixels whose side of
// +1 or −1 differs from the reference's, with both logits there, and the two possible causes apart: (a) the
// decoder (our low-res logits against the reference's) and (b) the up-scaling (our up-scaler on the REFERENCE's
// low-res logits: its values and counts against the reference's). JSON on stdout, a summary on stderr. vit_h: 2 min 35 s,
// 5.3 GB peak RSS.
//   flock /tmp/hybridgl-heavy.lock npx tsx scripts/trace_sam_stability.ts /work/fullsize-vith/stability-trace /work/fullsize-vith/export \
//       /work/shared/data/images/dog.jpg > /work/fullsize-vith/stability-trace/ours.json
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { postprocessSamMasks, samResizeShape, samUpscaleLogits } from '../bindings/samPost.ts';
import { loadModels } from '../src/models/loadModels.ts';
import { loadImage } from '../src/pipeline/image.ts';
import { SAM_IMAGE_SIZE } from '../src/pipeline/preprocess.ts';
import { generateProposals } from '../src/pipeline/proposals.ts';
import { CLIP_VOCAB_PATH } from '../test/sharedData.ts';

interface TraceProposal {
  proposal: number; index: number; point: number; mask: number; above1: number; aboveMinus1: number; stability: number;
}
interface Trace {
  height: number; width: number; offset: number; maskThreshold: number; iouPredictions: number[][];
  lowRes: { file: string; shape: number[] }; upscaled: { file: string; shape: number[] }; proposals: TraceProposal[];
}

const LOW = 256;
const [traceDir, modelsDir, imagePath] = process.argv.slice(2);
if (!traceDir || !modelsDir || !imagePath) throw new Error('usage: trace_sam_stability.ts TRACE_DIR MODELS_DIR IMAGE');
const trace = JSON.parse(readFileSync(join(traceDir, 'trace.json'), 'utf8')) as Trace;
const floats = (file: string, shape: number[]) => {
  const b = readFileSync(join(traceDir, file));
  const n = shape.reduce((a, c) => a * c, 1);
  if (b.length !== 4 * n) throw new Error(`${file}: ${b.length} bytes, expected ${4 * n} for shape ${shape.join('×')}`);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
};
const refLow = floats(trace.lowRes.file, trace.lowRes.shape);
const refUp = floats(trace.upscaled.file, trace.upscaled.shape);

const models = await loadModels(modelsDir, { device: 'cpu', precision: 'fp32', warmup: false,
  vocabPath: process.env.HYBRIDGL_VOCAB ?? CLIP_VOCAB_PATH, models: ['sam_encoder', 'sam_decoder'] });
const decoded: Array<{ low: Float32Array; iou: Float32Array }> = [];
const decode = models.samDecoder.bind(models);
models.samDecoder = async (...args) => {
  const out = await decode(...args);
  decoded.push({ low: out.lowResLogits.data.slice(), iou: out.iouPredictions.data.slice() });
  return out;
};
const image = await loadImage(imagePath);
const { height: h, width: w } = image;
if (h !== trace.height || w !== trace.width) throw new Error(`the trace is of a ${trace.width}×${trace.height} image, ${imagePath} is ${w}×${h}`);
const proposals = await generateProposals(image, models);
await models.dispose();
if (decoded.length !== 1) throw new Error(`expected one decoder batch, got ${decoded.length}`);
const ourLow = decoded[0].low;
if (ourLow.length !== refLow.length) throw new Error(`our low-res logits have ${ourLow.length} values, the reference's ${refLow.length}`);

const hiThr = Math.fround(trace.maskThreshold + trace.offset), loThr = Math.fround(trace.maskThreshold - trace.offset);
const plane = LOW * LOW, pixels = h * w;
const lowMap = (a: Float32Array, index: number) => a.subarray(index * plane, (index + 1) * plane);
const counts = (up: Float32Array) => {
  let above1 = 0, aboveMinus1 = 0;
  for (const v of up) { above1 += +(v > hiThr); aboveMinus1 += +(v > loThr); }
  return { above1, aboveMinus1, stability: Math.fround(above1 / aboveMinus1) };  // float32(hi) / float32(lo)
};
/** The post-processing's own thresholding of one map (filters off): the number of pixels with logit > threshold. */
const pipelineCount = (map: Float32Array, threshold: number) => {
  const r = postprocessSamMasks({ lowResLogits: map, iouPredictions: Float32Array.of(1), points: 1, height: h, width: w,
    pointCoords: Float64Array.of(0, 0), options: { predIouThresh: 0, stabilityScoreThresh: 0, minMaskRegionArea: 0, maskThreshold: threshold } });
  return r.masks.reduce((s, v) => s + v, 0);
};
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0, at = -1;
  for (let i = 0; i < a.length; i++) { const d = Math.abs(a[i] - b[i]); if (d > m) { m = d; at = i; } }
  return { max: m, at };
};

// (a) the decoder: low-res logits and IoUs, ours against the reference's
const low = maxAbsDiff(ourLow, refLow);
const refLowScale = refLow.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
// where it matters: the low-res cells whose logit is near ±1 (|v| in [0.5, 2])
let nearOne = 0;
for (let i = 0; i < refLow.length; i++) {
  const a = Math.abs(refLow[i]);
  if (a >= 0.5 && a <= 2) nearOne = Math.max(nearOne, Math.abs(ourLow[i] - refLow[i]));
}
const iouDiff = maxAbsDiff(decoded[0].iou, Float32Array.from(trace.iouPredictions.flat()));
const [nh, nw] = samResizeShape(h, w, SAM_IMAGE_SIZE);
/** The 4×4 low-res cells around the one under pixel (y, x) (through the resized frame and the 4× up-scaling). */
const lowPatch = (index: number, y: number, x: number) => {
  const cy = Math.floor(((y + 0.5) * nh / h) / 4), cx = Math.floor(((x + 0.5) * nw / w) / 4);
  const y0 = Math.max(0, Math.min(LOW - 4, cy - 1)), x0 = Math.max(0, Math.min(LOW - 4, cx - 1));
  const ours: number[] = [], reference: number[] = [];
  for (let yy = y0; yy < y0 + 4; yy++) for (let xx = x0; xx < x0 + 4; xx++) {
    ours.push(ourLow[index * plane + yy * LOW + xx]); reference.push(refLow[index * plane + yy * LOW + xx]);
  }
  return { origin: [y0, x0], maxAbsDiff: maxAbsDiff(ours, reference).max, reference, ours };
};

const rows = [];
const flips: unknown[] = [];
for (let k = 0; k < trace.proposals.length; k++) {
  const want = trace.proposals[k];
  const index = want.index;
  const up = samUpscaleLogits(lowMap(ourLow, index), h, w, LOW, SAM_IMAGE_SIZE);
  const upRef = refUp.subarray(k * pixels, (k + 1) * pixels);
  // (b) the up-scaling: our kernel on the reference's low-res logits against the reference's up-scaled logits
  const upOfRef = samUpscaleLogits(lowMap(refLow, index), h, w, LOW, SAM_IMAGE_SIZE);
  let bitsDiffering = 0;
  for (let q = 0; q < pixels; q++) bitsDiffering += +!Object.is(upOfRef[q], upRef[q]);
  const ours = counts(up), ofRef = counts(upOfRef);
  const pipeline = { above1: pipelineCount(lowMap(ourLow, index), hiThr), aboveMinus1: pipelineCount(lowMap(ourLow, index), loThr) };
  const flipped = [];
  for (let q = 0; q < pixels; q++)
    for (const t of [hiThr, loThr]) {
      if ((up[q] > t) === (upRef[q] > t)) continue;
      const y = Math.floor(q / w), x = q % w;
      flipped.push({ proposal: k, threshold: t, y, x, reference: upRef[q], ours: up[q], oursUpscalerOnReferenceLowRes: upOfRef[q],
        referenceMinusThreshold: upRef[q] - t, oursMinusThreshold: up[q] - t, lowRes: lowPatch(index, y, x) });
    }
  flips.push(...flipped);
  const stabilityDiff = proposals.stabilityScore[k] - want.stability;
  rows.push({
    proposal: k, index, point: want.point, mask: want.mask, ourIndex: proposals.proposalIndex[k],
    reference: { above1: want.above1, aboveMinus1: want.aboveMinus1, stability: want.stability },
    ours: { ...ours, pipelineStability: proposals.stabilityScore[k], pipelineCounts: pipeline,
      countsAgree: pipeline.above1 === ours.above1 && pipeline.aboveMinus1 === ours.aboveMinus1 && ours.stability === proposals.stabilityScore[k] },
    stabilityDiff,
    oursUpscalerOnReferenceLowRes: { ...ofRef, countsEqual: ofRef.above1 === want.above1 && ofRef.aboveMinus1 === want.aboveMinus1,
      valuesDiffering: bitsDiffering, maxAbsDiff: maxAbsDiff(upOfRef, upRef).max },
    lowResMaxAbsDiff: maxAbsDiff(lowMap(ourLow, index), lowMap(refLow, index)).max,
    upscaledMaxAbsDiff: maxAbsDiff(up, upRef).max,
    flipped: flipped.length,
  });
}

const atLow = (i: number) => ({ point: Math.floor(i / (3 * plane)), mask: Math.floor(i / plane) % 3,
  y: Math.floor((i % plane) / LOW), x: i % LOW, ours: ourLow[i], reference: refLow[i] });
const report = {
  trace: traceDir, models: modelsDir, image: imagePath,
  proposals: { ours: proposals.count, reference: trace.proposals.length,
    sameIndices: rows.every((r) => r.ourIndex === r.index) && proposals.count === trace.proposals.length },
  decoder: { lowResMaxAbsDiff: low.max, lowResMaxAbsReference: refLowScale, lowResRelErr: low.max / refLowScale,
    lowResMaxAt: atLow(low.at), lowResNearOneMaxAbsDiff: nearOne, iouMaxAbsDiff: iouDiff.max },
  upscaler: { allCountsEqual: rows.every((r) => r.oursUpscalerOnReferenceLowRes.countsEqual),
    valuesDiffering: rows.reduce((s, r) => s + r.oursUpscalerOnReferenceLowRes.valuesDiffering, 0) },
  stabilityMaxAbsDiff: Math.max(...rows.map((r) => Math.abs(r.stabilityDiff))),
  flipped: flips, perProposal: rows,
};
console.log(JSON.stringify(report, null, 1));
const e = (v: number) => v.toExponential(3);
process.stderr.write(`proposals ours ${proposals.count} reference ${trace.proposals.length} same indices ${report.proposals.sameIndices}; ` +
  `low-res max |Δ| ${e(low.max)} (max |ref| ${refLowScale.toFixed(3)}; ${e(nearOne)} where |ref| is in [0.5, 2]), IoU max |Δ| ${e(iouDiff.max)}; our up-scaler on the ` +
  `reference's low-res: counts equal ${report.upscaler.allCountsEqual}, values differing ${report.upscaler.valuesDiffering}\n`);
for (const r of rows.filter((r) => r.stabilityDiff !== 0 || r.flipped))
  process.stderr.write(`proposal ${r.proposal} (point ${r.point}, mask ${r.mask}): reference ${r.reference.above1}/${r.reference.aboveMinus1} = ` +
    `${r.reference.stability}, ours ${r.ours.above1}/${r.ours.aboveMinus1} = ${r.ours.stability} (Δ ${e(r.stabilityDiff)}), ` +
    `${r.flipped} pixel(s) flipped; low-res max |Δ| ${e(r.lowResMaxAbsDiff)}, up-scaled max |Δ| ${e(r.upscaledMaxAbsDiff)}\n`);
for (const f of flips as Array<Record<string, any>>)
  process.stderr.write(`  proposal ${f.proposal} (y ${f.y}, x ${f.x}) at ${f.threshold}: reference ${f.reference} (${e(f.referenceMinusThreshold)}), ` +
    `ours ${f.ours} (${e(f.oursMinusThreshold)}), our up-scaler on the reference's low-res ${f.oursUpscalerOnReferenceLowRes}; ` +
    `4×4 low-res max |Δ| ${e(f.lowRes.maxAbsDiff)}\n`);
