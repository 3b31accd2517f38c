import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

import { describe, expect, it } from 'vitest';

import {
  postprocessSamMasks,
  postprocessSamMasksAsync,
  samNms,
  samPointGrid,
  samRemoveSmallRegions,
  samResizeShape,
  samTransformCoords,
  samUpscaleLogits,
} from '../src/index.ts';
import { rleDecode, rleFromCounts } from '../bindings/rle.ts';
import { firstDiff } from './helpers.ts';

const DIR = join(__dirname, 'fixtures', 'sam_post');

interface Record {
  counts: number[];
  bbox: number[];
  area: number;
  predicted_iou: number;
  stability_score: number;
  point_coords: number[];
}
interface Case {
  height: number;
  width: number;
  points: number;
  low_res: number;
  logit_scale: number;
  iou_predictions: number[];
  records: Record[];
}

function loadCase(name: string) {
  const meta: Case = JSON.parse(readFileSync(join(DIR, `${name}.json`), 'utf8'));
  const q = new Int8Array(gunzipSync(readFileSync(join(DIR, `${name}.logits.bin.gz`))).buffer.slice(0));
  const lowResLogits = new Float32Array(q.length);
  for (let i = 0; i < q.length; i++) lowResLogits[i] = q[i] * meta.logit_scale;
  const iouPredictions = new Float32Array(meta.iou_predictions);
  return { meta, input: { lowResLogits, iouPredictions, points: meta.points, height: meta.height, width: meta.width } };
}

describe('postprocessSamMasks against segment-anything', () => {
  for (const name of ['landscape_427x640', 'portrait_500x333', 'small_61x83', 'unstable_noise', 'low_iou']) {
    it(`${name}: same proposals, order, masks, boxes and scores`, async () => {
      const { meta, input } = loadCase(name);
      const r = postprocessSamMasks(input);
      expect(r.count).toBe(meta.records.length);
      const pixels = meta.height * meta.width;
      expect(r.masks.length).toBe(r.count * pixels);
      for (const [k, rec] of meta.records.entries()) {
        const want = rleDecode(rleFromCounts(rec.counts, meta.height, meta.width));
        expect(firstDiff(r.masks.subarray(k * pixels, (k + 1) * pixels), want), `mask ${k}`).toBe(-1);
        expect(Array.from(r.boxesXYWH.subarray(4 * k, 4 * k + 4))).toEqual(rec.bbox);
        expect(r.predictedIoU[k]).toBe(Math.fround(rec.predicted_iou));
        expect(r.stabilityScore[k]).toBe(Math.fround(rec.stability_score));
        expect([r.pointCoords[2 * k], r.pointCoords[2 * k + 1]]).toEqual(rec.point_coords);
      }
      const a = await postprocessSamMasksAsync(input);
      expect(a.count).toBe(r.count);
      expect(firstDiff(a.masks, r.masks)).toBe(-1);
      expect(Array.from(a.proposalIndex)).toEqual(Array.from(r.proposalIndex));
    });
  }

  it('the fixtures exercise the filters, NMS and the small-region rule', () => {
    const { meta, input } = loadCase('landscape_427x640');
    const loose = postprocessSamMasks({ ...input, options: { minMaskRegionArea: 0 } });
    // Without the clean-up some kept masks differ from the cleaned ones: holes/islands were present.
    const r = postprocessSamMasks(input);
    expect(loose.count).toBeGreaterThanOrEqual(r.count);
    const none = postprocessSamMasks({ ...input, options: { boxNmsThresh: 1 } });
    expect(none.count).toBeGreaterThan(loose.count); // NMS suppressed something
    expect(meta.records.length).toBeGreaterThan(0);
  });
});

describe('samUpscaleLogits: bit-exact with Sam.postprocess_masks (PyTorch float32 CPU)', () => {
  const cases: Array<{ height: number; width: number; source: string; maps: number }> = JSON.parse(
    readFileSync(join(DIR, 'upscales.json'), 'utf8'),
  );
  for (const c of cases) {
    it(`${c.height}×${c.width}`, () => {
      const { input } = loadCase(c.source);
      const maps = input.lowResLogits.subarray(0, c.maps * 256 * 256);
      const file = join(DIR, `upscale_${c.height}x${c.width}.f32.bin.gz`);
      const want = new Float32Array(gunzipSync(readFileSync(file)).buffer.slice(0));
      const got = samUpscaleLogits(maps, c.height, c.width);
      expect(got.length).toBe(want.length);
      let mismatches = 0;
      for (let i = 0; i < want.length; i++) if (!Object.is(got[i], want[i])) mismatches++;
      expect(mismatches).toBe(0);
    });
  }
});

describe('point grid and resize rule', () => {
  const grids: Array<{ height: number; width: number; points_per_side: number; points: number[]; resized: number[] }> =
    JSON.parse(readFileSync(join(DIR, 'grids.json'), 'utf8'));
  for (const g of grids) {
    it(`${g.height}×${g.width}, ${g.points_per_side} per side`, () => {
      expect(Array.from(samPointGrid(g.height, g.width, g.points_per_side))).toEqual(g.points);
      expect(samResizeShape(g.height, g.width, 1024)).toEqual(g.resized);
    });
  }
  it('maps points to the resized frame', () => {
    const c = samTransformCoords(new Float64Array([40, 26.6875]), 427, 640);
    expect(Array.from(c)).toEqual([40 * (1024 / 640), 26.6875 * (683 / 427)]);
  });
});

describe('samNms (torchvision semantics)', () => {
  it('keeps ties in index order and suppresses IoU > threshold only', () => {
    const boxes = new Float32Array([0, 0, 10, 10, 50, 50, 60, 60, 0, 0, 10, 10, 100, 100, 110, 110, 0, 0, 10, 11]);
    const scores = new Float32Array([0.5, 0.5, 0.5, 0.9, 0.5]);
    expect(Array.from(samNms(boxes, scores, 0.7))).toEqual([3, 0, 1]);
    // IoU exactly 0.5 (10×10 vs 10×20 sharing half): not suppressed at 0.5, suppressed below.
    const b2 = new Float32Array([0, 0, 10, 10, 0, 0, 10, 20]);
    const s2 = new Float32Array([1, 1]);
    expect(Array.from(samNms(b2, s2, 0.5))).toEqual([0, 1]);
    expect(Array.from(samNms(b2, s2, 0.49))).toEqual([0]);
    // Zero-area boxes: 0/0 IoU is NaN, never suppressing.
    const b3 = new Float32Array([5, 5, 5, 5, 5, 5, 5, 5]);
    expect(Array.from(samNms(b3, s2, 0.1))).toEqual([0, 1]);
    expect(Array.from(samNms(new Float32Array(0), new Float32Array(0), 0.7))).toEqual([]);
  });
});

describe('samRemoveSmallRegions', () => {
  const h = 40, w = 60;
  function blank() {
    return new Uint8Array(h * w);
  }
  function rect(m: Uint8Array, y0: number, x0: number, y1: number, x1: number, v = 1) {
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) m[y * w + x] = v;
  }
  it('fills small holes (8-connected background components) including those on the border', () => {
    const m = blank();
    rect(m, 0, 0, 40, 60);
    rect(m, 10, 10, 13, 13, 0); // 9-pixel hole
    rect(m, 0, 50, 2, 52, 0); // border notch of 4 pixels
    const r = samRemoveSmallRegions(m, h, w, 5, 'holes');
    expect(r.changed).toBe(true);
    expect(r.mask[11 * w + 11]).toBe(0); // 9 >= 5 stays
    expect(r.mask[0 * w + 50]).toBe(1); // 4 < 5 filled
  });
  it('diagonal pixels connect (8-connectivity)', () => {
    const m = blank();
    m[5 * w + 5] = 1;
    m[6 * w + 6] = 1;
    m[7 * w + 7] = 1;
    rect(m, 20, 20, 30, 30);
    const r = samRemoveSmallRegions(m, h, w, 3, 'islands');
    expect(r.changed).toBe(false); // the diagonal is one component of 3
  });
  it('removes small islands; when all are small keeps the largest, first in OpenCV label order on ties', () => {
    const m = blank();
    rect(m, 1, 0, 4, 3); // 9 px, first 2×2 block (0, 0)
    rect(m, 0, 10, 3, 13); // 9 px, starts on an earlier row but a later block
    const r = samRemoveSmallRegions(m, h, w, 100, 'islands');
    expect(r.changed).toBe(true);
    expect(r.mask[1 * w + 0]).toBe(1);
    expect(r.mask[0 * w + 10]).toBe(0);
    const m2 = blank();
    rect(m2, 2, 0, 5, 3); // block row 1
    rect(m2, 1, 10, 4, 13); // block row 0: earlier
    const r2 = samRemoveSmallRegions(m2, h, w, 100, 'islands');
    expect(r2.mask[2 * w + 0]).toBe(0);
    expect(r2.mask[1 * w + 10]).toBe(1);
  });
  it('reports a change for a single small island although the mask stays the same (reference flag)', () => {
    const m = blank();
    rect(m, 5, 5, 8, 8);
    const r = samRemoveSmallRegions(m, h, w, 100, 'islands');
    expect(r.changed).toBe(true);
    expect(Array.from(r.mask)).toEqual(Array.from(m));
    expect(samRemoveSmallRegions(blank(), h, w, 100, 'islands').changed).toBe(false);
  });
});

describe('errors', () => {
  const base = {
    lowResLogits: new Float32Array(3 * 256 * 256),
    iouPredictions: new Float32Array(3),
    points: 1,
    height: 10,
    width: 12,
  };
  it('names the bad argument', () => {
    expect(() => postprocessSamMasks({ ...base, lowResLogits: new Float32Array(5) })).toThrow(
      /lowResLogits has length 5/,
    );
    expect(() => postprocessSamMasks({ ...base, iouPredictions: new Float64Array(3) as any })).toThrow(
      /iouPredictions must be a Float32Array/,
    );
    expect(() => postprocessSamMasks({ ...base, height: 0 })).toThrow(/height/);
    expect(() => postprocessSamMasks({ ...base, points: 2 })).toThrow(/not a multiple of points/);
    const threePoints = { ...base, points: 3, lowResLogits: new Float32Array(3 * 65536) };
    expect(() => postprocessSamMasks(threePoints)).toThrow(/pointCoords is required/);
    expect(() => postprocessSamMasks({ ...base, options: { boxNmsThresh: NaN } })).toThrow(/boxNmsThresh/);
    expect(() => postprocessSamMasks({ ...base, options: { bogus: 1 } as any })).toThrow(/options.bogus/);
    expect(() => samRemoveSmallRegions(new Uint8Array(4), 2, 2, 1, 'both' as any)).toThrow(/mode/);
    expect(() => samNms(new Float32Array(3), new Float32Array(1), 0.7)).toThrow(/boxes has length 3/);
  });
  it('returns count 0 when nothing survives, and for no points', () => {
    const r = postprocessSamMasks(base); // all logits 0 and IoU 0
    expect(r.count).toBe(0);
    expect(r.masks.length).toBe(0);
    const empty = new Float32Array(0);
    const e = postprocessSamMasks({ lowResLogits: empty, iouPredictions: empty, points: 0, height: 5, width: 5 });
    expect(e.count).toBe(0);
  });
});
