// Spec §10, outside CI: the PhraseCut path on one photo at full size (Hybridgl_main_PhraseCut.py's generator: 64×64
// points, one crop layer), timed by stage, with RSS sampled after every batch of points; with REF (written by
// scripts/fixtures/make_phrasecut_reference.py --full-size) the proposals are compared with segment-anything's own
// generator: masks, boxes, order, IoU and stability, and each proposal found on one side only is traced to the raw
// IoU and stability of its point's masks on both sides (the thresholds: pred_iou 0.86, stability 0.92) or, where
// both pass, to the box overlaps that decide the NMS.
//   npx tsx scripts/phrasecut_full_size.ts --models /work/fullsize-pc/models --image /work/shared/data/images/dog.jpg \
//       [--ref ref.json] [--points-per-side 64] [--expression dog]… [--json out.json]
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { rleDecode, rleFromCounts } from '../bindings/rle.ts';
import { loadModels } from '../src/models/loadModels.ts';
import { loadImage } from '../src/pipeline/image.ts';
import { PHRASECUT_AMG, type AmgResult } from '../src/pipeline/samCrops.ts';
import { createSegmenter } from '../src/segmenter.ts';
import { CLIP_VOCAB_PATH } from '../test/sharedData.ts';

interface RefProposal {
  counts: number[]; bbox: number[]; area: number; predicted_iou: number; stability_score: number;
  point_coords: number[]; crop_box: number[];
}
interface Reference {
  height: number; width: number; points_per_side: number; generate_seconds: number;
  proposals: RefProposal[]; batches: Array<{ iou: number[]; stability: Array<number | null> }>;
}

const { values } = parseArgs({
  options: {
    models: { type: 'string' }, image: { type: 'string' }, ref: { type: 'string' }, json: { type: 'string' },
    'points-per-side': { type: 'string' }, expression: { type: 'string', multiple: true },
  },
});
if (!values.models || !values.image) throw new Error('usage: phrasecut_full_size.ts --models DIR --image FILE [--ref REF.json]');
const ref: Reference | undefined = values.ref ? JSON.parse(readFileSync(values.ref, 'utf8')) : undefined;
const pointsPerSide = Number(values['points-per-side'] ?? ref?.points_per_side ?? PHRASECUT_AMG.pointsPerSide);
const amg = { ...PHRASECUT_AMG, pointsPerSide };
const rssMiB = () => process.memoryUsage().rss / 2 ** 20;
const hwmMiB = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;

const models = await loadModels(values.models, { device: 'cpu', precision: 'fp32', vocabPath: process.env.HYBRIDGL_VOCAB ?? CLIP_VOCAB_PATH, lazy: true, warmup: false });
// every decoder batch's raw IoU predictions, in call order (crop by crop), for the tracing
const rawIou: Float32Array[] = [];
const decode = models.samDecoder.bind(models);
models.samDecoder = async (...args) => {
  const out = await decode(...args);
  rawIou.push(out.iouPredictions.data.slice());
  return out;
};
const segmenter = await createSegmenter({ models, fusion: 'G2L', proposals: { amg } });
const image = await loadImage(values.image);
const rss: Array<{ points: number; rssMiB: number; seconds: number }> = [];
const t0 = performance.now();
let lastPrint = 0;
const prepared = await segmenter.prepare(image, {
  onSamProgress: (p) => {
    const seconds = (performance.now() - t0) / 1e3;
    rss.push({ points: p.points, rssMiB: Math.round(rssMiB()), seconds: Math.round(seconds * 10) / 10 });
    if (seconds - lastPrint > 30 || p.points === p.pointsTotal) {
      lastPrint = seconds;
      const eta = (seconds / p.points) * (p.pointsTotal - p.points);
      process.stderr.write(`crop ${p.crop}/${p.crops}, points ${p.points}/${p.pointsTotal}, ${seconds.toFixed(0)} s, ETA ${eta.toFixed(0)} s, RSS ${rssMiB().toFixed(0)} MiB\n`);
    }
  },
});
const prepareSeconds = (performance.now() - t0) / 1e3;
const expressions = values.expression ?? ['dog', 'the bench on the left', 'grass'];
const t1 = performance.now();
const results = await segmenter.segmentPrepared(prepared, expressions);
const scoreSeconds = (performance.now() - t1) / 1e3;
const p = prepared.proposals as unknown as AmgResult; // the full generator's result (proposals.amg)
const ms = (t: Record<string, number>) => Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Math.round(v)]));
const perExpression: Record<string, number> = {};
for (const r of results) for (const [k, v] of Object.entries(r.timings)) perExpression[k] = (perExpression[k] ?? 0) + v;
const report: Record<string, unknown> = {
  image: values.image, height: p.height, width: p.width, pointsPerSide, decoderBatches: rawIou.length,
  prompts: rawIou.reduce((s, a) => s + a.length / 3, 0), proposals: p.count,
  prepareSeconds, scoreSeconds, expressions: expressions.length,
  stagesMs: ms(prepared.timings),
  // the generator's own work between decoder calls (mask up-scaling, filters, RLE, NMS, small regions): untimed stages
  untimedPrepareMs: Math.round(prepareSeconds * 1e3 - Object.values(prepared.timings).reduce((a, b) => a + b, 0)),
  expressionStagesMs: ms(perExpression),
  choices: results.map((r) => ({ hybrid: r.hybrid.proposal, guided: r.proposal })),
  peakRssMiB: hwmMiB(), rssByPoints: rss.filter((_, i) => i % 16 === 0 || i === rss.length - 1),
};
process.stderr.write(`${p.count} proposals; prepare ${prepareSeconds.toFixed(1)} s, ${expressions.length} expressions ${scoreSeconds.toFixed(1)} s, peak RSS ${hwmMiB().toFixed(0)} MiB\n`);

if (ref) {
  try {
    report.parity = compare(ref);
  } catch (err) {
    report.parityError = String(err); // the timings above are kept
  }
}
await segmenter.dispose();
const text = JSON.stringify(report, null, 1);
if (values.json) writeFileSync(values.json, text + '\n');
console.log(text);

function compare(r: Reference) {
  const { height: h, width: w } = p;
  if (r.height !== h || r.width !== w) throw new Error(`--ref is of a ${r.width}×${r.height} image, --image is ${w}×${h}`);
  const pixels = h * w;
  const refIou = r.batches.flatMap((b) => b.iou);
  const refStab = r.batches.flatMap((b) => b.stability);
  const ourIou = rawIou.flatMap((a) => Array.from(a));
  let maxIouDiff = 0;
  for (let i = 0; i < Math.min(refIou.length, ourIou.length); i++) maxIouDiff = Math.max(maxIouDiff, Math.abs(refIou[i] - ourIou[i]));
  // where each crop's masks start in the flattened raw records (crops in order, 3 masks per point)
  const cropKey = (b: ArrayLike<number>) => Array.from(b).join(',');
  const cropStart = new Map<string, number>();
  const refCropXYWH = (i: number) => { const [x0, y0, x1, y1] = Array.from(p.cropBoxes.subarray(4 * i, 4 * i + 4)); return [x0, y0, x1 - x0, y1 - y0]; };
  const refMasks = r.proposals.map((q) => rleDecode(rleFromCounts(q.counts, h, w)));
  const ours = Array.from({ length: p.count }, (_, k) => ({
    k, crop: cropKey(refCropXYWH(k)), point: [p.pointCoords[2 * k], p.pointCoords[2 * k + 1]], index: p.proposalIndex[k],
  }));
  // the flattened offset of each crop: learnt from our proposals' crops is not enough (a crop may keep none), so
  // the offsets come from the grid sizes: the full image's perSide², then each layer-1 crop's (perSide / 2)²
  const layer1 = Math.trunc(pointsPerSide / amg.cropNPointsDownscaleFactor) ** 2;
  const cropsSeen = [...new Set(ours.map((o) => o.crop).concat(r.proposals.map((q) => cropKey(q.crop_box))))];
  const full = cropKey([0, 0, w, h]);
  const layer1Crops = cropsSeen.filter((c) => c !== full).sort((a, b) => {
    const [ax, ay] = a.split(',').map(Number), [bx, by] = b.split(',').map(Number);
    return ax - bx || ay - by; // generate_crop_boxes: x outer, y inner
  });
  cropStart.set(full, 0);
  // an unseen layer-1 crop cannot be placed; such a crop has no proposal on either side, so nothing needs it
  layer1Crops.forEach((c) => cropStart.set(c, 3 * pointsPerSide ** 2 + cropIndexOf(c) * 3 * layer1));
  function cropIndexOf(c: string): number {
    const [x, y] = c.split(',').map(Number);
    const xs = [...new Set(layer1Crops.map((k) => Number(k.split(',')[0])))].sort((a, b) => a - b);
    const ys = [...new Set(layer1Crops.map((k) => Number(k.split(',')[1])))].sort((a, b) => a - b);
    return xs.indexOf(x) * 2 + ys.indexOf(y);
  }
  const rows: Array<Record<string, unknown>> = [];
  let identical = 0;
  const matchedOurs = new Set<number>();
  const refOnly: number[] = [];
  for (const [j, q] of r.proposals.entries()) {
    // the proposal of ours from the same crop and point with the largest mask overlap
    let best = -1, bestDiff = Infinity;
    for (const o of ours) {
      if (matchedOurs.has(o.k) || o.crop !== cropKey(q.crop_box)) continue;
      if (Math.abs(o.point[0] - q.point_coords[0]) > 1e-3 || Math.abs(o.point[1] - q.point_coords[1]) > 1e-3) continue;
      let diff = 0;
      const m = p.masks.subarray(o.k * pixels, (o.k + 1) * pixels);
      for (let i = 0; i < pixels; i++) if (m[i] !== refMasks[j][i]) diff++;
      if (diff < bestDiff) { best = o.k; bestDiff = diff; }
    }
    if (best < 0) { refOnly.push(j); continue; }
    matchedOurs.add(best);
    const box = Array.from(p.boxesXYWH.subarray(4 * best, 4 * best + 4));
    const same = best === j && bestDiff === 0 && box.join() === q.bbox.join();
    if (same) identical++;
    rows.push({
      ref: j, ours: best, maskPixelsDiffering: bestDiff, boxEqual: box.join() === q.bbox.join(),
      iouDiff: Math.abs(p.predictedIoU[best] - q.predicted_iou), stabilityDiff: Math.abs(p.stabilityScore[best] - q.stability_score),
    });
  }
  const traceOf = (crop: string, flatPoint: number) => {
    const start = cropStart.get(crop);
    if (start === undefined) return { crop, note: 'crop not placed' };
    const masks = [0, 1, 2].map((m) => {
      const i = start + 3 * flatPoint + m;
      return { mask: m, refIou: refIou[i], ourIou: ourIou[i], refStability: refStab[i] };
    });
    return { crop, point: flatPoint, masks };
  };
  const pointIndexOf = (crop: string, pt: number[]) => {
    // the grid point nearest pt: points are (j + 0.5) / n of the crop, x fastest (build_point_grid)
    const [x0, y0, cw, ch] = crop.split(',').map(Number);
    const n = crop === full ? pointsPerSide : Math.trunc(pointsPerSide / amg.cropNPointsDownscaleFactor);
    const ix = Math.round(((pt[0] - x0) / cw) * n - 0.5), iy = Math.round(((pt[1] - y0) / ch) * n - 0.5);
    return iy * n + ix;
  };
  const onlyRef = refOnly.map((j) => {
    const q = r.proposals[j];
    return { ref: j, bbox: q.bbox, predicted_iou: q.predicted_iou, stability_score: q.stability_score,
      ...traceOf(cropKey(q.crop_box), pointIndexOf(cropKey(q.crop_box), q.point_coords)) };
  });
  const onlyOurs = ours.filter((o) => !matchedOurs.has(o.k)).map((o) => ({
    ours: o.k, bbox: Array.from(p.boxesXYWH.subarray(4 * o.k, 4 * o.k + 4)), predicted_iou: p.predictedIoU[o.k],
    stability_score: p.stabilityScore[o.k], proposalIndex: o.index, ...traceOf(o.crop, Math.floor(o.index / 3)),
  }));
  const orderEqual = rows.every((row) => row.ref === row.ours);
  return {
    referenceCount: r.proposals.length, ourCount: p.count, identical, matched: rows.length, orderEqual,
    maxMaskPixelsDiffering: Math.max(0, ...rows.map((x) => x.maskPixelsDiffering as number)),
    boxesEqual: rows.filter((x) => x.boxEqual).length,
    maxPredictedIouDiff: Math.max(0, ...rows.map((x) => x.iouDiff as number)),
    maxStabilityDiff: Math.max(0, ...rows.map((x) => x.stabilityDiff as number)),
    rawIou: { reference: refIou.length, ours: ourIou.length, maxAbsDiff: maxIouDiff },
    referenceSeconds: r.generate_seconds,
    rows: rows.filter((x) => x.ref !== x.ours || x.maskPixelsDiffering !== 0 || !x.boxEqual), onlyRef, onlyOurs,
  };
}
