import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

import { describe, expect, it } from 'vitest';

import { rleDecode, rleFromCounts } from '../bindings/rle.ts';
import { samBatchMasksAsync, samSmallRegionsAsync } from '../bindings/samCrops.ts';
import { postprocessSamMasks } from '../bindings/samPost.ts';
import { batchedNms, torchSortDescending } from '../src/pipeline/batchedNms.ts';
import { generateAmgMasks, samCropBoxes, type AmgOptions, type AmgProgress, type OpenCrop } from '../src/pipeline/samCrops.ts';
import { firstDiff } from './helpers.ts';

const DIR = join(__dirname, 'fixtures', 'sam_crops');
const LOW = 256;

interface Record {
  counts: number[];
  bbox: number[];
  predicted_iou: number;
  /** null: NaN (an empty mask's 0/0). */
  stability_score: number | null;
  point_coords: number[];
  crop_box: number[];
}
interface Case {
  name: string;
  height: number;
  width: number;
  seed: number;
  params: { [k: string]: number };
  masks_per_point: number;
  crop_boxes: number[][];
  nms: number[][];
  records: Record[];
}

/** The fixture script's xorshift32 stream. */
class Stream {
  x: number;
  constructor(seed: number) {
    this.x = seed >>> 0 || 1;
  }
  below(n: number): number {
    let x = this.x;
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    this.x = x;
    return x % n;
  }
}

function disc(out: Float64Array, cx: number, cy: number, r: number, k: number): Float64Array {
  for (let y = 0; y < LOW; y++)
    for (let x = 0; x < LOW; x++) out[y * LOW + x] = Math.trunc((r * r - ((x - cx) ** 2 + (y - cy) ** 2)) / k);
  return out;
}

/** The fixture script's procedural decoder output for one (crop, point, mask). */
function proposal(seed: number, crop: number, point: number, mask: number): { logits: Float32Array; iou: number } {
  const s = new Stream(seed * 7919 + crop * 104729 + point * 31 + mask * 1000003);
  const q = disc(new Float64Array(LOW * LOW), s.below(224) + 16, s.below(224) + 16, s.below(40) + 6, s.below(24) + 1);
  const f = new Float64Array(LOW * LOW);
  for (let e = s.below(4); e > 0; e--) {
    disc(f, s.below(256), s.below(256), s.below(12) + 2, 1);
    const grow = s.below(2) !== 0;
    for (let i = 0; i < q.length; i++) q[i] = grow ? Math.max(q[i], f[i]) : Math.min(q[i], -f[i]);
  }
  const logits = new Float32Array(LOW * LOW);
  for (let i = 0; i < q.length; i++) logits[i] = Math.min(127, Math.max(-128, q[i])) / 8;
  return { logits, iou: (s.below(24) + 40) / 64 };
}

function proceduralDecoder(seed: number, perPoint: number, opened: number[][]): OpenCrop {
  return async (crop, cropIndex) => {
    opened.push([...crop]);
    let next = 0;
    return async (points) => {
      const n = points.length / 2;
      const lowResLogits = new Float32Array(n * perPoint * LOW * LOW);
      const iouPredictions = new Float32Array(n * perPoint);
      for (let p = 0; p < n; p++)
        for (let m = 0; m < perPoint; m++) {
          const { logits, iou } = proposal(seed, cropIndex, next + p, m);
          lowResLogits.set(logits, (p * perPoint + m) * LOW * LOW);
          iouPredictions[p * perPoint + m] = iou;
        }
      next += n;
      return { lowResLogits, iouPredictions };
    };
  };
}

const camel = (k: string) => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
const xywh = (b: ArrayLike<number>) => [b[0], b[1], b[2] - b[0], b[3] - b[1]];

describe('generateAmgMasks against segment-anything with crops and batches', () => {
  const cases: Case[] = JSON.parse(readFileSync(join(DIR, 'cases.json'), 'utf8'));
  for (const c of cases) {
    it(`${c.name}: crop boxes, kept masks, boxes, scores, points, crops and order`, async () => {
      const options = Object.fromEntries(Object.entries(c.params).map(([k, v]) => [camel(k), v])) as AmgOptions;
      const opened: number[][] = [];
      const r = await generateAmgMasks(c.height, c.width, proceduralDecoder(c.seed, c.masks_per_point, opened), options);
      expect(opened).toEqual(c.crop_boxes);
      expect(samCropBoxes(c.height, c.width, options.cropNLayers ?? 0, 512 / 1500).boxes).toEqual(c.crop_boxes);
      expect(r.count).toBe(c.records.length);
      const pixels = c.height * c.width;
      for (const [k, rec] of c.records.entries()) {
        const want = rleDecode(rleFromCounts(rec.counts, c.height, c.width));
        expect(firstDiff(r.masks.subarray(k * pixels, (k + 1) * pixels), want), `mask ${k}`).toBe(-1);
        expect(Array.from(r.boxesXYWH.subarray(4 * k, 4 * k + 4)), `box ${k}`).toEqual(rec.bbox);
        expect(r.predictedIoU[k]).toBe(Math.fround(rec.predicted_iou));
        expect(r.stabilityScore[k]).toBe(rec.stability_score === null ? NaN : Math.fround(rec.stability_score));
        expect([r.pointCoords[2 * k], r.pointCoords[2 * k + 1]], `point ${k}`).toEqual(rec.point_coords);
        expect(xywh(r.cropBoxes.subarray(4 * k, 4 * k + 4)), `crop ${k}`).toEqual(rec.crop_box);
      }
    });
  }

  it('the cases exercise crops, the edge filter, several batches and over 1,000 boxes in an NMS', () => {
    const byName = new Map(cases.map((c) => [c.name, c]));
    const fromCrops = (c: Case) => c.records.filter((r) => r.crop_box[2] < c.width || r.crop_box[3] < c.height).length;
    expect(fromCrops(byName.get('layer1_batches')!)).toBeGreaterThan(0);
    expect(fromCrops(byName.get('layer2_phrasecut_like')!)).toBeGreaterThan(0);
    expect(Math.max(...byName.get('vanilla_nms_order')!.nms.map((n) => n[0]))).toBeGreaterThan(1000);
  });
});

describe('generateAmgMasks with one crop and one batch is the §2 post-processing', () => {
  for (const name of ['landscape_427x640', 'small_61x83', 'low_iou']) {
    it(name, async () => {
      const dir = join(__dirname, 'fixtures', 'sam_post');
      const meta = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8'));
      const q = new Int8Array(gunzipSync(readFileSync(join(dir, `${name}.logits.bin.gz`))).buffer.slice(0));
      const lowResLogits = Float32Array.from(q, (v) => v * meta.logit_scale);
      const iouPredictions = new Float32Array(meta.iou_predictions);
      const want = postprocessSamMasks({ lowResLogits, iouPredictions, points: meta.points, height: meta.height, width: meta.width });
      const got = await generateAmgMasks(meta.height, meta.width, async () => async () => ({ lowResLogits, iouPredictions }),
        { pointsPerSide: meta.points_per_side });
      expect(got.count).toBe(want.count);
      expect(firstDiff(got.masks, want.masks)).toBe(-1);
      expect(Array.from(got.boxesXYWH)).toEqual(Array.from(want.boxesXYWH));
      expect(Array.from(got.predictedIoU)).toEqual(Array.from(want.predictedIoU));
      expect(Array.from(got.pointCoords)).toEqual(Array.from(want.pointCoords));
      expect(Array.from(got.proposalIndex)).toEqual(Array.from(want.proposalIndex));
    });
  }
});

describe('torch.sort(descending) order and batched_nms above 1,000 boxes', () => {
  it('ties come out in introsort order, not index order', () => {
    const v = Float32Array.from({ length: 40 }, (_, i) => (i * 7) % 3);
    const order = Array.from(torchSortDescending(v));
    expect(order.map((i) => v[i])).toEqual([...v].sort((a, b) => b - a));
    expect(order.slice(0, 14)).not.toEqual([...order.slice(0, 14)].sort((a, b) => a - b));
  });
  it('up to 1,000 boxes batchedNms is nms', () => {
    const boxes = new Float32Array([0, 0, 10, 10, 1, 1, 10, 10, 20, 20, 30, 30]);
    expect(Array.from(batchedNms(boxes, new Float32Array([0.5, 0.9, 0.5]), 0.5))).toEqual([1, 2]);
  });
});

describe('generateAmgMasks options', () => {
  it('rejects unknown and bad options', async () => {
    const open: OpenCrop = async () => async () => ({ lowResLogits: new Float32Array(0), iouPredictions: new Float32Array(0) });
    await expect(generateAmgMasks(10, 10, open, { pointsPerBatch: 0 })).rejects.toThrow(/pointsPerBatch/);
    await expect(generateAmgMasks(10, 10, open, { bogus: 1 } as AmgOptions)).rejects.toThrow(/bogus/);
    await expect(generateAmgMasks(10, 10, open, { pointsPerSide: 1, cropNLayers: 1, cropNPointsDownscaleFactor: 2 }))
      .rejects.toThrow(/no points/);
  });
  it('reports its progress after every batch: crop, points done of all crops\' points', async () => {
    // PhraseCut's shape, smaller: 8 points a side on the full image, 4 on each of the 4 crops of layer 1; batches of 24.
    const open: OpenCrop = async () => async (points) => {
      const n = points.length / 2;
      return { lowResLogits: new Float32Array(n * LOW * LOW).fill(-5), iouPredictions: new Float32Array(n) };
    };
    const seen: AmgProgress[] = [];
    await generateAmgMasks(40, 60, open, { pointsPerSide: 8, pointsPerBatch: 24, cropNLayers: 1, cropNPointsDownscaleFactor: 2 },
      (p) => seen.push({ ...p }));
    // 64 points in batches of 24, 32, … then 16 per crop (one batch each): 3 + 4 reports.
    expect(seen.map((p) => [p.crop, p.points])).toEqual([[1, 24], [1, 48], [1, 64], [2, 80], [3, 96], [4, 112], [5, 128]]);
    for (const p of seen) expect([p.crops, p.pointsTotal]).toEqual([5, 128]);
  });
  it('rejects a decoder returning the wrong number of predictions', async () => {
    const open: OpenCrop = async () => async () => ({ lowResLogits: new Float32Array(0), iouPredictions: new Float32Array(5) });
    await expect(generateAmgMasks(10, 10, open, { pointsPerSide: 2 })).rejects.toThrow(/IoU predictions/);
  });
});

describe('samBatchMasksAsync / samSmallRegionsAsync glue', () => {
  const opt = { predIouThresh: 0, stabilityScoreThresh: 0, stabilityScoreOffset: 1, maskThreshold: 0 };
  it('checks lengths and finiteness, naming the argument', async () => {
    await expect(samBatchMasksAsync(new Float32Array(10), new Float32Array(1), 4, 4, opt)).rejects.toThrow(/lowResLogits/);
    const bad = new Float32Array(LOW * LOW);
    bad[5] = NaN;
    await expect(samBatchMasksAsync(bad, new Float32Array(1), 4, 4, opt)).rejects.toThrow(/lowResLogits\[5\]/);
    await expect(samBatchMasksAsync(new Float32Array(LOW * LOW), new Float32Array([Infinity]), 4, 4, opt)).rejects.toThrow(/iouPredictions/);
    await expect(samBatchMasksAsync(new Float32Array(LOW * LOW), new Float32Array(1), 4, 4, { ...opt, maskThreshold: NaN }))
      .rejects.toThrow(/maskThreshold/);
    await expect(samSmallRegionsAsync(new Uint8Array(7), 2, 2, 3)).rejects.toThrow(/masks/);
  });
  it('small regions: fills a hole, drops an island, reports the change and the new box', async () => {
    const m = new Uint8Array(64);
    for (let y = 1; y < 6; y++) for (let x = 1; x < 6; x++) m[y * 8 + x] = 1;
    m[3 * 8 + 3] = 0; // hole
    m[7 * 8 + 7] = 1; // island
    const r = await samSmallRegionsAsync(m, 8, 8, 2);
    expect(r.changed[0]).toBe(1);
    expect(r.masks[3 * 8 + 3]).toBe(1);
    expect(r.masks[7 * 8 + 7]).toBe(0);
    expect(Array.from(r.boxes)).toEqual([1, 1, 5, 5]);
  });
});
