// Spec §2-§8: the end-to-end reference fixture (scripts/fixtures/make_e2e_reference.py) against the TS stages that
// exist on their own (CLIP scores, relation guidance, selection), the proposals' own consistency and the ONNX models.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rleDecode, rleFromCounts } from '../bindings/rle.ts';
import { DIR, IMAGE, ref, bin, tensor, relErr } from './e2eFixture.ts';
import { argmax, clipScores, softmax, topK } from '../src/pipeline/clipScores.js';
import { relationGuidance } from '../src/pipeline/relationGuidance.js';
import { selectGuided } from '../src/pipeline/selection.js';
import { loadModels, type Fusion, type ModelName, type Models } from '../src/models/loadModels.js';
import { loadImage } from '../src/pipeline/image.js';
import { prepareSamInput } from '../src/pipeline/preprocess.js';

const N = ref.proposals.length;
const boxes = ref.proposals.flatMap((p) => p.bbox);
const g2l = tensor(ref.hybrid_features.G2L);

describe('e2e reference fixture: pure-TS stages', () => {
  it('has a handful of proposals', () => {
    expect(N).toBeGreaterThanOrEqual(5);
  });

  for (const e of ref.expressions) {
    describe(e.sentence, () => {
      it('CLIP scores, softmaxes, top-k and the pure-hybrid choice', () => {
        const s = clipScores(g2l.data, N, Float32Array.from(e.text_ensemble), 100.00000762939453);
        expect(relErr(s, e.score_clip)).toBeLessThan(1e-5);
        expect(relErr(softmax(e.score_clip), e.softmax_clip)).toBeLessThan(1e-5);
        expect(argmax(e.score_clip)).toBe(e.max_index_hybrid);
        expect(topK(e.softmax_clip, e.k1)).toEqual(e.maxidxs);
        if (e.nouns.length) {
          const neg = clipScores(g2l.data, N, Float32Array.from(e.other_noun_features), 100.00000762939453);
          expect(relErr(neg, e.score_clip_neg)).toBeLessThan(1e-5);
          expect(topK(e.softmax_clip_neg, e.k2)).toEqual(e.max_neg_idxs);
        }
      });

      it('relation guidance and the guided selection', () => {
        const r = relationGuidance({ p: e.softmax_clip, q: e.softmax_clip_neg, boxesXYWH: boxes,
          hasOtherNouns: e.nouns.length > 0, relation: e.relaflag, k1: e.k1, k2: e.k2 });
        expect(r.top).toEqual(e.maxidxs);
        expect(relErr(r.raw, e.topscores_raw)).toBeLessThan(1e-6);
        expect(relErr(r.t, e.topscores_softmax)).toBeLessThan(1e-6);
        const sel = selectGuided({ top: r.top, t: e.topscores_softmax, coherence: e.score_gem });
        expect(relErr(sel.scores, e.topscores_final)).toBeLessThan(1e-6);
        expect(sel.index).toBe(e.max_index_final);
      });
    });
  }
});

// Full-size runs with --fusions only (the CI fixture has G2L alone): each mode's scores and both choices from its
// reference features, through our stages.
describe.skipIf(!ref.fusions)('e2e reference fixture: every fusion mode, pure-TS stages', () => {
  for (const [mode, f] of Object.entries(ref.fusions ?? {})) {
    it(`${mode}: CLIP scores, top-k, relation guidance and both choices of every expression`, () => {
      const feats = tensor(f.features).data;
      expect(f.expressions).toHaveLength(ref.expressions.length);
      f.expressions.forEach((c, i) => {
        const e = ref.expressions[i];
        expect(relErr(clipScores(feats, N, Float32Array.from(e.text_ensemble), 100.00000762939453), c.score_clip)).toBeLessThan(1e-5);
        expect(argmax(c.score_clip)).toBe(c.max_index_hybrid);
        expect(topK(c.softmax_clip, c.k1)).toEqual(c.maxidxs);
        if (e.nouns.length) {
          expect(relErr(clipScores(feats, N, Float32Array.from(e.other_noun_features), 100.00000762939453), c.score_clip_neg)).toBeLessThan(1e-5);
          expect(topK(c.softmax_clip_neg, c.k2)).toEqual(c.max_neg_idxs);
        }
        const r = relationGuidance({ p: c.softmax_clip, q: c.softmax_clip_neg, boxesXYWH: boxes,
          hasOtherNouns: e.nouns.length > 0, relation: e.relaflag, k1: c.k1, k2: c.k2 });
        expect(relErr(r.t, c.topscores_softmax)).toBeLessThan(1e-6);
        const sel = selectGuided({ top: r.top, t: c.topscores_softmax, coherence: e.score_gem });
        expect(relErr(sel.scores, c.topscores_final)).toBeLessThan(1e-6);
        expect(sel.index).toBe(c.max_index_final);
      });
    });
  }
});

/** PyTorch bilinear (align_corners False, no antialias) of one H×W map to outH×outW. */
function bilinear(src: ArrayLike<number>, inH: number, inW: number, outH: number, outW: number): Float32Array {
  const out = new Float32Array(outH * outW);
  // PyTorch's CPU upsample: the scale in float32 (at 1800 px its rounding moves a weight by ~2e-5), the position in
  // double, the weight rounded to float32.
  const coord = (o: number, inSize: number, outSize: number) => {
    const x = Math.max(0, (o + 0.5) * Math.fround(inSize / outSize) - 0.5);
    const x0 = Math.min(Math.floor(x), inSize - 1), x1 = Math.min(x0 + 1, inSize - 1);
    return [x0, x1, Math.fround(x - x0)] as const;
  };
  for (let oy = 0; oy < outH; oy++) {
    const [y0, y1, fy] = coord(oy, inH, outH);
    for (let ox = 0; ox < outW; ox++) {
      const [x0, x1, fx] = coord(ox, inW, outW);
      const top = src[y0 * inW + x0] * (1 - fx) + src[y0 * inW + x1] * fx;
      const bottom = src[y1 * inW + x0] * (1 - fx) + src[y1 * inW + x1] * fx;
      out[oy * outW + ox] = top * (1 - fy) + bottom * fy;
    }
  }
  return out;
}

describe('e2e reference fixture: proposals', () => {
  const { height: H, width: W } = ref.image;
  const grid = tensor(ref.mask_grid);
  ref.proposals.forEach((p, i) => {
    it(`proposal ${i}: RLE, area, XYWH box and the 14×14 grid (bilinear point samples) agree`, () => {
      const mask = rleDecode(rleFromCounts(p.rle.counts, p.rle.size[0], p.rle.size[1]));
      let area = 0, x1 = W, y1 = H, x2 = -1, y2 = -1;
      for (let y = 0; y < H; y++)
        for (let x = 0; x < W; x++)
          if (mask[y * W + x]) {
            area++;
            x1 = Math.min(x1, x); x2 = Math.max(x2, x); y1 = Math.min(y1, y); y2 = Math.max(y2, y);
          }
      expect(area).toBe(p.area);
      expect(p.bbox).toEqual([x1, y1, x2 - x1, y2 - y1]);
      expect(relErr(bilinear(mask, H, W, 14, 14), grid.data.subarray(i * 196, (i + 1) * 196))).toBeLessThan(1e-5);
    });
  });
});

// A fusion-only full-size run (make_e2e_reference.py --no-sam-export) has no SAM graphs.
const manifest = JSON.parse(readFileSync(join(DIR, 'models', 'manifest.json'), 'utf8')) as { files: Array<{ model: ModelName }> };
const present = [...new Set(manifest.files.map((f) => f.model))];
const hasSam = present.includes('sam_encoder');

describe('e2e reference fixture: ONNX models (fp32, CPU)', () => {
  let models: Models;
  beforeAll(async () => {
    models = await loadModels(join(DIR, 'models'), { device: 'cpu', precision: 'fp32', models: present });
  }, 120_000);
  afterAll(() => models?.dispose());

  const ids = (rows: number[][]) => ({ data: Int32Array.from(rows.flat()), dims: [rows.length, 77] });

  it.skipIf(!existsSync(IMAGE) || !hasSam)('loadImage decodes the photo as PIL does and SAM reproduces the reference IoU predictions', async () => {
    const img = await loadImage(IMAGE);
    expect([img.height, img.width]).toEqual([ref.image.height, ref.image.width]);
    expect(createHash('sha256').update(img.rgb).digest('hex')).toBe(ref.image.rgb_sha256);
    const sam = prepareSamInput(img);
    expect([sam.resizedHeight, sam.resizedWidth]).toEqual(ref.sam.resized);
    const emb = await models.samEncoder({ data: sam.pixels, dims: [1, 3, 1024, 1024] });
    // One positive point per prompt in the resized frame (the decoder adds SAM's padding point itself).
    const sx = sam.resizedWidth / img.width, sy = sam.resizedHeight / img.height;
    const n = ref.sam.points.length;
    const pts = Float32Array.from(ref.sam.points.flatMap(([x, y]) => [x * sx, y * sy]));
    const out = await models.samDecoder(emb, { data: pts, dims: [n, 1, 2] },
      { data: new Float32Array(n).fill(1), dims: [n, 1] });
    expect(relErr(out.iouPredictions.data, ref.sam.iou_predictions.flat())).toBeLessThan(1e-5);
  }, 120_000);

  it('clip_text reproduces the sentence, noun-phrase, other-noun and GEM-prompt features', async () => {
    for (const e of ref.expressions) {
      const rows = [e.tokens.sentence, e.tokens.noun_phrase, ...e.tokens.other_nouns];
      const f = await models.clipText(ids(rows));
      const dim = f.dims[1];
      const want = [e.sentence_features, e.noun_phrase_features, ...e.other_noun_features_each];
      want.forEach((w, i) => expect(relErr(f.data.subarray(i * dim, (i + 1) * dim), w)).toBeLessThan(1e-5));
      const gemText = (await models.clipText(ids([e.tokens.gem_prompt]))).data;
      const norm = Math.hypot(...gemText);
      expect(relErr(gemText.map((v) => v / norm), e.gem_text_features)).toBeLessThan(1e-5);
    }
  }, 60_000);

  it('clip_trunk + G2L head reproduce the hybrid features of the first proposals', async () => {
    const k = ref.clip_inputs.count;
    const local = tensor(ref.clip_inputs.local), global = tensor(ref.clip_inputs.global);
    const tokens = await models.clipTrunk({ data: new Float32Array([...local.data, ...global.data]),
      dims: [2 * k, 3, 224, 224] });
    const row = tokens.dims.slice(1).reduce((a, b) => a * b, 1);
    const grid = tensor(ref.mask_grid);
    const feats = await models.clipHead(
      { data: tokens.data.slice(0, k * row), dims: [k, ...tokens.dims.slice(1)] },
      { data: tokens.data.slice(k * row), dims: [k, ...tokens.dims.slice(1)] },
      { data: grid.data.slice(0, k * 196), dims: [k, 14, 14] }, 'G2L');
    const dim = feats.dims[1];
    expect(relErr(feats.data, g2l.data.subarray(0, k * dim))).toBeLessThan(1e-5);
  }, 120_000);

  // Full-size runs with --fusions: each head on the first proposals' reference inputs (every mode treats each proposal
  // on its own, so the first rows of the features are theirs alone).
  for (const [mode, f] of Object.entries(ref.fusions ?? {})) {
    it(`clip_trunk + ${mode} head reproduce the ${mode} features of the first proposals`, async () => {
      const k = ref.clip_inputs.count;
      const local = tensor(ref.clip_inputs.local), global = tensor(ref.clip_inputs.global);
      const tokens = await models.clipTrunk({ data: new Float32Array([...local.data, ...global.data]), dims: [2 * k, 3, 224, 224] });
      const row = tokens.dims.slice(1).reduce((a, b) => a * b, 1);
      const feats = await models.clipHead(
        { data: tokens.data.slice(0, k * row), dims: [k, ...tokens.dims.slice(1)] },
        { data: tokens.data.slice(k * row), dims: [k, ...tokens.dims.slice(1)] },
        mode === 'crop' ? null : { data: tensor(ref.mask_grid).data.slice(0, k * 196), dims: [k, 14, 14] }, mode as Fusion);
      expect(relErr(feats.data, tensor(f.features).data.subarray(0, k * feats.dims[1]))).toBeLessThan(1e-5);
    }, 120_000);
  }

  it('gem_visual on the GEM input reproduces the patch features and the 448×448 heatmap', async () => {
    const e = ref.image.gem_resized_uint8;
    const px = bin.subarray(e.offset, e.offset + 448 * 448 * 3);
    const mean = [0.48145466, 0.4578275, 0.40821073], std = [0.26862954, 0.26130258, 0.27577711];
    const img = new Float32Array(3 * 448 * 448);
    for (let c = 0; c < 3; c++)
      for (let i = 0; i < 448 * 448; i++)
        img[c * 448 * 448 + i] = Math.fround(Math.fround(Math.fround(px[i * 3 + c] / 255) - mean[c]) / std[c]);
    const feats = await models.gemVisual({ data: img, dims: [1, 3, 448, 448] });
    const want = tensor(ref.gem_patch_features).data;
    const wantNorm = new Float32Array(want.length);
    const dim = feats.dims[2];
    for (let t = 0; t < 784; t++) {
      const row = want.subarray(t * dim, (t + 1) * dim);
      const n = Math.hypot(...row);
      for (let d = 0; d < dim; d++) wantNorm[t * dim + d] = row[d] / n;
    }
    expect(relErr(feats.data, wantNorm)).toBeLessThan(1e-5);

    const first = ref.expressions[0];
    const logits = new Float32Array(784);
    for (let t = 0; t < 784; t++)
      for (let d = 0; d < dim; d++) logits[t] += feats.data[t * dim + d] * first.gem_text_features[d];
    const up = bilinear(logits, 28, 28, 448, 448);
    let lo = Infinity, hi = -Infinity;
    for (const v of up) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    const heat = up.map((v) => (v - lo) / (hi - lo));
    expect(relErr(heat, tensor(first.heat448!).data)).toBeLessThan(1e-5);
  }, 120_000);
});
