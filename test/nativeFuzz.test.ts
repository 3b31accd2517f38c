// Property-based fuzz of the native surface: every function the addon exports (raw) and every function of bindings/
// gets random shapes and sizes, NaN/±Infinity, short, long and large buffers, wrong types and missing arguments,
// all in this one process (a crash fails the suite). Each call must return, or throw (reject) an Error whose message
// names one of its arguments; an unmutated call must succeed; a non-finite value in a float input must be refused.
// Seeded: HYBRIDGL_FUZZ_SEED and HYBRIDGL_FUZZ_CALLS (calls per function) reproduce or widen a run. Each of the two
// fuzz cases stops widening after HYBRIDGL_FUZZ_BUDGET_S seconds (15 by default; every function still gets
// MIN_CALLS), so that the suite stays within a minute on a loaded machine.
import { describe, expect, it } from 'vitest';

import * as backend from '../bindings/backend.ts';
import * as clipInputs from '../bindings/clipInputs.ts';
import * as gaussianBlur from '../bindings/gaussianBlur.ts';
import * as heatmap from '../bindings/heatmap.ts';
import * as heap from '../bindings/heap.ts';
import * as imagePrep from '../bindings/imagePrep.ts';
import * as maskGrid from '../bindings/maskGrid.ts';
import * as maskOps from '../bindings/maskOps.ts';
import { native } from '../bindings/native.ts';
import * as rle from '../bindings/rle.ts';
import * as samPost from '../bindings/samPost.ts';
import * as samCrops from '../bindings/samCrops.ts';

const SEED = Number(process.env.HYBRIDGL_FUZZ_SEED ?? 20251201);
const CALLS = Number(process.env.HYBRIDGL_FUZZ_CALLS ?? 600);
const MIN_CALLS = Math.min(CALLS, 40);
const BUDGET_MS = 1000 * Number(process.env.HYBRIDGL_FUZZ_BUDGET_S ?? 15);

interface Rng {
  next(): number;
  int(lo: number, hi: number): number;
  pick<T>(xs: readonly T[]): T;
  chance(p: number): boolean;
}

function rng(seed: number): Rng {
  let s = seed >>> 0;
  const next = () => {
    // mulberry32
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  return { next, int, pick: (xs) => xs[int(0, xs.length - 1)], chance: (p) => next() < p };
}

// What a valid call looks like. Free output sizes are ≥ 3 in valid calls, so that one huge value put there by a
// mutation (2^31 − 1 at least) always exceeds the 4 GiB buffer limit instead of allocating gigabytes.
interface Spec {
  /** Builds valid arguments. */
  valid(r: Rng): unknown[];
  /** Words one of which every error message must contain (argument names, the function's name). */
  names: string[];
  /** Indices of float-array (or number-array) arguments that must be finite: NaN put there must be refused. */
  finite?: number[];
  /** Index of an argument that is the caller's own name for another (the RLE lists' `name`). */
  nameArg?: number;
}

const bits = (r: Rng, n: number) => Uint8Array.from({ length: n }, () => (r.chance(0.4) ? 1 : 0));
const bytes = (r: Rng, n: number) => Uint8Array.from({ length: n }, () => r.int(0, 255));
const floats = (r: Rng, n: number, scale = 4) => Float32Array.from({ length: n }, () => (r.next() - 0.5) * scale);
const dim = (r: Rng) => r.int(1, 12);
const outDim = (r: Rng) => r.int(3, 24);
const masksOf = (r: Rng) => {
  const n = r.int(0, 4), h = dim(r), w = dim(r);
  return { n, h, w, m: bits(r, n * h * w) };
};
const rlesOf = (r: Rng, min = 0) => {
  const n = r.int(min, 4), h = dim(r), w = dim(r);
  const counts: string[] = native.rleEncode(bits(r, n * h * w), n, h, w, false);
  const sizes = new Uint32Array(2 * n);
  for (let i = 0; i < n; i++) sizes[2 * i] = h, sizes[2 * i + 1] = w;
  return { counts, sizes, objs: counts.map((c) => ({ size: [h, w] as [number, number], counts: c })), h, w };
};
const boxesXYXY = (r: Rng, n: number) => {
  const b = new Float32Array(4 * n);
  for (let i = 0; i < n; i++) {
    const x = r.next() * 20, y = r.next() * 20;
    b.set([x, y, x + r.next() * 10, y + r.next() * 10], 4 * i);
  }
  return b;
};
const samCase = (r: Rng) => {
  const points = r.int(0, 4), per = r.int(1, 3), low = r.pick([4, 8]), padded = r.pick([16, 32]);
  const height = r.int(3, 30), width = r.int(3, 30);
  return { points, per, low, padded, height, width, logits: floats(r, points * per * low * low, 8),
    iou: Float32Array.from({ length: points * per }, () => r.next()) };
};
const polygons = (r: Rng) => Array.from({ length: r.int(0, 3) }, () => Array.from({ length: 2 * r.int(0, 5) },
  () => r.next() * 12));

// The raw addon: argument order as the glue documents it (native/napi/*.cc).
const RAW: Record<string, Spec> = {
  backendInfo: { valid: () => [], names: ['backendInfo'] },
  setDevice: { valid: (r) => [r.pick(['cpu', 'auto'])], names: ['device', 'setDevice'] },
  selfTest: { valid: () => [], names: ['selfTest'] },
  releaseFreeHeap: { valid: () => [], names: ['releaseFreeHeap'] },
  // Large thresholds only: a small one would map every later allocation of this test process on its own.
  setMmapThreshold: { valid: (r) => [r.pick([4 << 20, 32 << 20])], names: ['bytes', 'setMmapThreshold'] },
  pairwiseMaskCounts: {
    valid: (r) => {
      const h = dim(r), w = dim(r), n = r.int(0, 3), m = r.int(0, 3);
      return [bits(r, n * h * w), n, bits(r, m * h * w), m, h, w, r.chance(0.5)];
    },
    names: ['masks', 'others', 'n', 'm', 'height', 'width', 'async', 'pairwiseMaskCounts'],
  },
  masksToBoxes: {
    valid: (r) => { const { n, h, w, m } = masksOf(r); return [m, n, h, w, r.chance(0.5)]; },
    names: ['masks', 'n', 'height', 'width', 'async', 'masksToBoxes'],
  },
  resizeImage: {
    valid: (r) => {
      const h = dim(r), w = dim(r), c = r.int(1, 4);
      return [bytes(r, h * w * c), h, w, c, outDim(r), outDim(r), r.pick(['bilinear', 'bicubic']), r.chance(0.5)];
    },
    names: ['image', 'height', 'width', 'channels', 'outHeight', 'outWidth', 'filter', 'async', 'resizeImage'],
  },
  normalizeImage: {
    valid: (r) => {
      const h = dim(r), w = dim(r);
      return [bytes(r, h * w * 3), h, w, r.pick([1, 255]), Float32Array.of(0.4, 0.5, 0.6),
        Float32Array.of(0.2, 0.3, 0.25), h + r.int(0, 3), w + r.int(0, 3)];
    },
    names: ['image', 'height', 'width', 'scale', 'mean', 'std', 'padHeight', 'padWidth', 'normalizeImage'],
    finite: [4, 5],
  },
  rleEncode: {
    valid: (r) => { const { n, h, w, m } = masksOf(r); return [m, n, h, w, r.chance(0.5)]; },
    names: ['masks', 'n', 'height', 'width', 'async', 'rleEncode'],
  },
  rleDecode: {
    valid: (r) => { const x = rlesOf(r); return [x.counts, x.sizes, 'rles', r.chance(0.5)]; },
    nameArg: 2,
    names: ['rles', 'name', 'async', 'rleDecode'],
  },
  rleArea: {
    valid: (r) => { const x = rlesOf(r); return [x.counts, x.sizes, 'rles']; },
    nameArg: 2,
    names: ['rles', 'name', 'rleArea'],
  },
  rleToBbox: {
    valid: (r) => { const x = rlesOf(r); return [x.counts, x.sizes, 'rles']; },
    nameArg: 2,
    names: ['rles', 'name', 'rleToBbox'],
  },
  rleMerge: {
    valid: (r) => { const x = rlesOf(r, 1); return [x.counts, x.sizes, 'rles', r.chance(0.5)]; },
    nameArg: 2,
    names: ['rles', 'name', 'intersect', 'rleMerge'],
  },
  rleIoU: {
    valid: (r) => {
      const d = rlesOf(r), g = rlesOf(r);
      return [d.counts, d.sizes, g.counts, g.sizes, bits(r, g.counts.length), r.chance(0.5)];
    },
    names: ['dt', 'gt', 'iscrowd', 'async', 'rleIoU'],
  },
  rleFromPolygons: {
    valid: (r) => {
      const ps = polygons(r);
      const offsets = new Uint32Array(ps.length + 1);
      ps.forEach((p, i) => (offsets[i + 1] = offsets[i] + p.length));
      return [Float64Array.from(ps.flat()), offsets, dim(r), dim(r), r.chance(0.5)];
    },
    names: ['polygons', 'polygon', 'height', 'width', 'async', 'rleFromPolygons'],
    finite: [0],
  },
  rleFromBoxes: {
    valid: (r) => [Float64Array.from({ length: 4 * r.int(0, 3) }, () => r.next() * 10), dim(r), dim(r)],
    names: ['boxes', 'box', 'height', 'width', 'rleFromBoxes'],
    finite: [0],
  },
  rleFromCounts: {
    valid: (r) => {
      const h = dim(r), w = dim(r);
      const runs: number[] = [];
      for (let left = h * w; left > 0;) {
        const c = Math.min(left, r.int(0, 7));
        runs.push(c);
        left -= c;
      }
      return [Uint32Array.from(runs), h, w];
    },
    names: ['counts', 'height', 'width', 'rleFromCounts'],
  },
  rleToCounts: {
    valid: (r) => { const x = rlesOf(r, 1); return [x.counts, x.sizes, 'rles']; },
    nameArg: 2,
    names: ['rles', 'RLE', 'name', 'rleToCounts'],
  },
  gaussianBlur: {
    valid: (r) => { const h = dim(r), w = dim(r); return [bytes(r, h * w * 3), h, w, r.chance(0.5)]; },
    names: ['rgb', 'height', 'width', 'async', 'gaussianBlur'],
  },
  buildClipInputs: {
    valid: (r) => {
      const { n, h, w, m } = masksOf(r);
      const args: unknown[] = [bytes(r, h * w * 3), bytes(r, h * w * 3), m, n, h, w, r.int(1, 8), r.chance(0.5), r.chance(0.5)];
      return r.chance(0.5) ? [...args, undefined, undefined, floats(r, 3 * h * w)] : args;
    },
    names: ['rgb', 'blurred', 'masks', 'n', 'height', 'width', 'size', 'half', 'async', 'out.global', 'out.local',
      'localSource', 'buildClipInputs'],
  },
  poolMasksToGrid: {
    valid: (r) => {
      const { n, h, w, m } = masksOf(r);
      return [m, n, h, w, r.int(1, 16), r.pick(['bilinear', 'area']), r.chance(0.5)];
    },
    names: ['masks', 'n', 'height', 'width', 'grid', 'mode', 'async', 'poolMasksToGrid'],
  },
  resizeMap: {
    valid: (r) => {
      const c = r.int(1, 3), h = dim(r), w = dim(r);
      return [floats(r, c * h * w), c, h, w, outDim(r), outDim(r), r.chance(0.5), r.chance(0.5)];
    },
    names: ['map', 'channels', 'height', 'width', 'outHeight', 'outWidth', 'antialias', 'async', 'resizeMap'],
    finite: [0],
  },
  normalizeMap: {
    valid: (r) => {
      const h = dim(r), w = dim(r);
      return [floats(r, h * w), h, w, r.chance(0.5), r.chance(0.5) ? floats(r, w) : null, r.chance(0.5)];
    },
    names: ['map', 'height', 'width', 'minMax', 'prior', 'divideByMean', 'normalizeMap'],
    finite: [0],
  },
  maskMapSums: {
    valid: (r) => { const { n, h, w, m } = masksOf(r); return [floats(r, h * w), m, n, h, w, r.chance(0.5)]; },
    names: ['map', 'masks', 'n', 'height', 'width', 'async', 'maskMapSums'],
    finite: [0],
  },
  samPostprocess: {
    valid: (r) => {
      const s = samCase(r);
      return [s.logits, s.iou, s.points * s.per, s.low, s.padded, s.height, s.width, r.pick([0, 0.5]),
        r.pick([0, 0.7]), 1, 0.7, r.pick([0, 4]), 0, r.chance(0.5)];
    },
    names: ['lowResLogits', 'iouPredictions', 'proposals', 'lowResSize', 'imageSize', 'height', 'width',
      'predIouThresh', 'stabilityScoreThresh', 'stabilityScoreOffset', 'boxNmsThresh', 'minMaskRegionArea',
      'maskThreshold', 'async', 'samPostprocess'],
    finite: [0, 1],
  },
  samBatchMasks: {
    valid: (r) => {
      const s = samCase(r);
      return [s.logits, s.iou, s.points * s.per, s.low, s.padded, s.height, s.width, r.pick([0, 0.5]), r.pick([0, 0.7]), 1, 0,
        r.chance(0.5)];
    },
    names: ['lowResLogits', 'iouPredictions', 'proposals', 'lowResSize', 'imageSize', 'height', 'width', 'predIouThresh',
      'stabilityScoreThresh', 'stabilityScoreOffset', 'maskThreshold', 'async', 'samBatchMasks'],
    finite: [0, 1],
  },
  samSmallRegions: {
    valid: (r) => { const n = r.int(0, 3), h = dim(r), w = dim(r); return [bits(r, n * h * w), n, h, w, r.int(0, 10), r.chance(0.5)]; },
    names: ['masks', 'count', 'height', 'width', 'minArea', 'async', 'samSmallRegions'],
  },
  samUpscaleLogits: {
    valid: (r) => {
      const s = samCase(r);
      return [s.logits, s.points * s.per, s.low, s.padded, s.height, s.width];
    },
    names: ['lowResLogits', 'count', 'lowResSize', 'imageSize', 'height', 'width', 'samUpscaleLogits'],
    finite: [0],
  },
  samResizeShape: {
    valid: (r) => [dim(r), dim(r), outDim(r)],
    names: ['height', 'width', 'longSide', 'samResizeShape'],
  },
  samNms: {
    valid: (r) => { const n = r.int(0, 6); return [boxesXYXY(r, n), floats(r, n), r.next()]; },
    names: ['boxes', 'scores', 'iouThreshold', 'samNms'],
    finite: [0, 1],
  },
  samRemoveSmallRegions: {
    valid: (r) => { const h = dim(r), w = dim(r); return [bits(r, h * w), h, w, r.int(0, 10), r.chance(0.5)]; },
    names: ['mask', 'height', 'width', 'minArea', 'holes', 'samRemoveSmallRegions'],
  },
};

const hm = (r: Rng) => { const h = dim(r), w = dim(r); return { h, w, map: floats(r, h * w) }; };
const flag = (r: Rng) => r.pick(['left', 'right', 'middle', 'up', 'down', 'none'] as const);

// bindings/: the typed face, by module.
const BOUND: Record<string, Record<string, Spec>> = {
  backend: {
    backendInfo: { valid: () => [], names: [] },
    setDevice: { valid: (r) => [r.pick(['cpu', 'auto'])], names: ['device'] },
    selfTest: { valid: () => [], names: [] },
    selfTestFailed: { valid: () => [[]], names: ['table'] },
  },
  heap: {
    releaseFreeHeap: { valid: () => [], names: [] },
    setMmapThreshold: { valid: (r) => [r.pick([4 << 20, 32 << 20])], names: ['bytes'] },
  },
  clipInputs: Object.fromEntries(['buildClipInputs', 'buildClipInputsAsync'].map((k) => [k, {
    valid: (r: Rng) => {
      const { n, h, w, m } = masksOf(r);
      return [bytes(r, h * w * 3), bytes(r, h * w * 3), m, n, h, w, {
        size: r.int(1, 8), dtype: r.pick(['float32', 'float16']), ...(r.chance(0.5) ? { localSource: floats(r, 3 * h * w) } : {}),
      }];
    },
    names: ['rgb', 'blurred', 'masks', 'n', 'height', 'width', 'size', 'dtype', 'out', 'localSource', 'options'],
  }])),
  gaussianBlur: Object.fromEntries(['gaussianBlur', 'gaussianBlurAsync'].map((k) => [k, {
    valid: (r: Rng) => { const h = dim(r), w = dim(r); return [bytes(r, h * w * 3), h, w]; },
    names: ['rgb', 'height', 'width'],
  }])),
  heatmap: {
    ...Object.fromEntries(['resizeMap', 'resizeMapAsync'].map((k) => [k, {
      valid: (r: Rng) => {
        const c = r.int(1, 3), h = dim(r), w = dim(r);
        return [floats(r, c * h * w), h, w, outDim(r), outDim(r), { channels: c, antialias: r.chance(0.5) }];
      },
      names: ['map', 'channels', 'height', 'width', 'outHeight', 'outWidth', 'antialias', 'options'],
      finite: [0],
    }])),
    minMaxNormalize: { valid: (r) => [hm(r).map], names: ['map'], finite: [0] },
    positionPrior: { valid: (r) => [flag(r), dim(r)], names: ['flag', 'width'] },
    applyPriorAndMean: {
      valid: (r) => { const { h, w, map } = hm(r); return [map, h, w, flag(r)]; },
      names: ['map', 'height', 'width', 'flag'],
      finite: [0],
    },
    coherenceMap: {
      valid: (r) => { const { h, w, map } = hm(r); return [map, h, w, outDim(r), outDim(r), flag(r)]; },
      names: ['heat', 'heatHeight', 'heatWidth', 'height', 'width', 'flag'],
      finite: [0],
    },
    coherenceWeight: { valid: (r) => [r.pick(['big', 'small', 'near'])], names: ['relation'] },
    ...Object.fromEntries(['heatmapMaskScores', 'heatmapMaskScoresAsync'].map((k) => [k, {
      valid: (r: Rng) => {
        const { n, h, w, m } = masksOf(r);
        return [floats(r, h * w), m, n, h, w, { weight: r.pick([1.5, 1.8]), emptyValue: r.pick([NaN, 0, Infinity]) }];
      },
      names: ['map', 'masks', 'n', 'height', 'width', 'weight', 'emptyValue', 'options'],
      finite: [0],
    }])),
  },
  imagePrep: {
    ...Object.fromEntries(['resizeImage', 'resizeImageAsync'].map((k) => [k, {
      valid: (r: Rng) => {
        const h = dim(r), w = dim(r), c = r.int(1, 4);
        const options = { channels: c, filter: r.pick(['bilinear', 'bicubic']) };
        return [bytes(r, h * w * c), h, w, outDim(r), outDim(r), options];
      },
      names: ['image', 'height', 'width', 'channels', 'outHeight', 'outWidth', 'filter', 'options'],
    }])),
    normalizeImage: {
      valid: (r) => {
        const h = dim(r), w = dim(r);
        return [bytes(r, h * w * 3), h, w, { scale: 255, mean: [0.4, 0.5, 0.6], std: [0.2, 0.3, 0.25],
          padHeight: h + r.int(0, 2), padWidth: w + r.int(0, 2) }];
      },
      names: ['rgb', 'height', 'width', 'scale', 'mean', 'std', 'padHeight', 'padWidth', 'options'],
    },
  },
  maskGrid: Object.fromEntries(['poolMasksToGrid', 'poolMasksToGridAsync'].map((k) => [k, {
    valid: (r: Rng) => {
      const { n, h, w, m } = masksOf(r);
      return [m, n, h, w, r.int(1, 16), { mode: r.pick(['bilinear', 'area']) }];
    },
    names: ['masks', 'n', 'height', 'width', 'grid', 'mode', 'options'],
  }])),
  maskOps: {
    ...Object.fromEntries(['maskIoU', 'maskIoUAsync'].map((k) => [k, {
      valid: (r: Rng) => {
        const h = dim(r), w = dim(r);
        return [bits(r, r.int(0, 3) * h * w), bits(r, r.int(0, 3) * h * w), h, w];
      },
      names: ['masks', 'others', 'height', 'width'],
    }])),
    ...Object.fromEntries(['masksToBoxes', 'masksToBoxesAsync'].map((k) => [k, {
      valid: (r: Rng) => { const { h, w, m } = masksOf(r); return [m, h, w]; },
      names: ['masks', 'height', 'width'],
    }])),
  },
  rle: {
    rleEncode: {
      valid: (r) => { const h = dim(r), w = dim(r); return [bits(r, h * w), h, w]; },
      names: ['mask', 'height', 'width'],
    },
    ...Object.fromEntries(['rleEncodeBatch', 'rleEncodeBatchAsync'].map((k) => [k, {
      valid: (r: Rng) => { const { n, h, w, m } = masksOf(r); return [m, n, h, w]; },
      names: ['masks', 'n', 'height', 'width'],
    }])),
    ...Object.fromEntries(['rleDecode', 'rleArea', 'rleToBbox', 'rleToCounts'].map((k) => [k, {
      valid: (r: Rng) => [rlesOf(r, 1).objs[0]],
      names: ['rle'],
    }])),
    ...Object.fromEntries(['rleDecodeBatch', 'rleDecodeBatchAsync', 'rleAreaBatch', 'rleToBboxBatch'].map((k) => [k, {
      valid: (r: Rng) => [rlesOf(r).objs],
      names: ['rles'],
    }])),
    rleMerge: { valid: (r) => [rlesOf(r, 1).objs, r.chance(0.5)], names: ['rles', 'intersect'] },
    ...Object.fromEntries(['rleIoU', 'rleIoUAsync'].map((k) => [k, {
      valid: (r: Rng) => { const g = rlesOf(r); return [rlesOf(r).objs, g.objs, g.objs.map(() => r.chance(0.5))]; },
      names: ['dt', 'gt', 'iscrowd'],
    }])),
    ...Object.fromEntries(['rleFromPolygons', 'rleFromPolygonsAsync'].map((k) => [k, {
      valid: (r: Rng) => [polygons(r), dim(r), dim(r)],
      names: ['polygons', 'height', 'width'],
    }])),
    rleFromBoxes: {
      valid: (r) => [Array.from({ length: r.int(0, 3) }, () => Array.from({ length: 4 }, () => r.next() * 5)),
        dim(r), dim(r)],
      names: ['boxes', 'height', 'width'],
    },
    rleFromCounts: {
      valid: (r) => { const h = dim(r), w = dim(r); return [[h * w], h, w]; },
      names: ['counts', 'height', 'width'],
    },
  },
  samCrops: {
    samBatchMasksAsync: {
      valid: (r) => {
        const s = samCase(r);
        return [s.logits, s.iou, s.height, s.width,
          { predIouThresh: r.pick([0, 0.5]), stabilityScoreThresh: 0.7, stabilityScoreOffset: 1, maskThreshold: 0, lowResSize: s.low, imageSize: s.padded }];
      },
      names: ['lowResLogits', 'iouPredictions', 'height', 'width', 'options', 'lowResSize', 'imageSize', 'predIouThresh',
        'stabilityScoreThresh', 'stabilityScoreOffset', 'maskThreshold'],
      finite: [0, 1],
    },
    samSmallRegionsAsync: {
      valid: (r) => { const n = r.int(0, 3), h = dim(r), w = dim(r); return [bits(r, n * h * w), h, w, r.int(0, 10)]; },
      names: ['masks', 'height', 'width', 'minArea'],
    },
  },
  samPost: {
    samPointGrid: { valid: (r) => [dim(r), dim(r), r.int(1, 8)], names: ['height', 'width', 'pointsPerSide'] },
    samResizeShape: { valid: (r) => [dim(r), dim(r), outDim(r)], names: ['height', 'width', 'longSide'] },
    samTransformCoords: {
      valid: (r) => [Float64Array.from({ length: 2 * r.int(0, 4) }, () => r.next() * 10), dim(r), dim(r), outDim(r)],
      names: ['coords', 'height', 'width', 'longSide'],
      finite: [0],
    },
    ...Object.fromEntries(['postprocessSamMasks', 'postprocessSamMasksAsync'].map((k) => [k, {
      valid: (r: Rng) => {
        const s = samCase(r);
        return [{ lowResLogits: s.logits, iouPredictions: s.iou, points: s.points, height: s.height, width: s.width,
          pointCoords: Float64Array.from({ length: 2 * s.points }, () => r.next() * 10),
          options: { lowResSize: s.low, imageSize: s.padded, minMaskRegionArea: r.pick([0, 4]) } }];
      },
      names: ['input', 'lowResLogits', 'iouPredictions', 'points', 'height', 'width', 'pointCoords', 'options'],
    }])),
    samUpscaleLogits: {
      valid: (r) => { const s = samCase(r); return [s.logits, s.height, s.width, s.low, s.padded]; },
      names: ['lowResLogits', 'height', 'width', 'lowResSize', 'imageSize'],
      finite: [0],
    },
    samNms: {
      valid: (r) => { const n = r.int(0, 6); return [boxesXYXY(r, n), floats(r, n), r.next()]; },
      names: ['boxes', 'scores', 'iouThreshold'],
      finite: [0, 1],
    },
    samRemoveSmallRegions: {
      valid: (r) => {
        const h = dim(r), w = dim(r);
        return [bits(r, h * w), h, w, r.int(0, 10), r.pick(['holes', 'islands'])];
      },
      names: ['mask', 'height', 'width', 'minArea', 'mode'],
    },
  },
};

const MODULES: Record<string, Record<string, unknown>> = {
  backend, clipInputs, gaussianBlur, heatmap, heap, imagePrep, maskGrid, maskOps, rle, samPost, samCrops,
};

// Hostile values: wrong types, non-integers, non-finite and huge numbers (each huge one, times any valid size ≥ 3,
// exceeds the buffer limit), and buffers of the wrong type or length, including a large one.
const HUGE = [2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53, 1e300];
function hostile(r: Rng, like: unknown): unknown {
  const scalars = [undefined, null, true, 'x', '', {}, [], [1, 2], 1.5, -1, 0, -0, NaN, Infinity, -Infinity, 10n,
    ...HUGE, -(2 ** 31)];
  if (ArrayBuffer.isView(like) && r.chance(0.7)) {
    const a = like as unknown as Float32Array;
    const Ctor = a.constructor as new (n: number) => Float32Array;
    switch (r.int(0, 4)) {
      case 0: return new Ctor(Math.max(0, a.length + r.pick([-1, 1, -a.length, a.length])));
      case 1: return new Ctor(r.pick([1 << 16, 1 << 20]));
      case 2: return new (r.pick([Uint8Array, Float32Array, Float64Array, Int32Array, Uint32Array, Uint16Array]))(
        a.length);
      case 3: return new DataView(new ArrayBuffer(a.length));
      default: return Array.from(a);
    }
  }
  if (typeof like === 'object' && like !== null && !Array.isArray(like) && r.chance(0.7)) {
    // An options or input object with one field made hostile.
    const keys = Object.keys(like);
    if (keys.length) {
      const k = r.pick(keys);
      return { ...like, [k]: hostile(r, (like as Record<string, unknown>)[k]) };
    }
  }
  if (Array.isArray(like) && like.length && r.chance(0.6)) {
    const copy = [...like];
    copy[r.int(0, copy.length - 1)] = hostile(r, copy[0]);
    return copy;
  }
  return r.pick(scalars);
}

/** A copy of a float input (typed array or nested number array) with one value made non-finite. */
function withNonFinite(r: Rng, value: unknown): unknown {
  const bad = r.pick([NaN, Infinity, -Infinity]);
  if (value instanceof Float32Array || value instanceof Float64Array) {
    if (value.length === 0) return undefined;
    const copy = value.slice();
    copy[r.int(0, copy.length - 1)] = bad;
    return copy;
  }
  if (Array.isArray(value)) {
    const flat = value.flatMap((v, i) => (Array.isArray(v) ? v.map((_, j) => [i, j]) : [[i]]));
    if (flat.length === 0) return undefined;
    const [i, j] = r.pick(flat);
    const copy = value.map((v) => (Array.isArray(v) ? [...v] : v));
    if (j === undefined) copy[i] = bad;
    else copy[i][j] = bad;
    return copy;
  }
  return undefined;
}

/** Whether `name` appears in the message as a word of its own (so that "n" is not found inside "must"). */
function namedIn(message: string, name: string): boolean {
  const esc = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(?<![A-Za-z0-9_])${esc}(?![A-Za-z0-9_])`).test(message);
}

type Outcome = { ok: true } | { ok: false; error: unknown };
async function outcome(fn: (...a: unknown[]) => unknown, args: unknown[]): Promise<Outcome> {
  try {
    await fn(...args);
    return { ok: true };
  } catch (error) {
    return { ok: false, error };
  }
}

function show(args: unknown[]): string {
  const brief = (_k: string, v: unknown) => (ArrayBuffer.isView(v)
    ? `${v.constructor.name}(${(v as Uint8Array).length})`
    : typeof v === 'bigint' ? `${v}n` : typeof v === 'number' && !Number.isFinite(v) ? String(v) : v);
  return args.map((a) => (a === undefined ? 'undefined' : JSON.stringify(a, brief).slice(0, 100))).join(', ');
}

async function fuzz(label: string, fn: (...a: unknown[]) => unknown, spec: Spec, seed: number, deadline: number,
): Promise<string[]> {
  const r = rng(seed);
  const problems: string[] = [];
  for (let call = 0; call < CALLS && problems.length < 3 && (call < MIN_CALLS || Date.now() < deadline); call++) {
    const args = spec.valid(r);
    const kind = call === 0 ? 'valid' : r.pick(['valid', 'hostile', 'hostile', 'hostile', 'nonfinite', 'arity']);
    let mutated = args;
    let expectFinite = false;
    if (kind === 'hostile') {
      mutated = [...args];
      for (let k = r.int(1, Math.min(3, Math.max(1, args.length))); k > 0 && args.length; k--) {
        const i = r.int(0, args.length - 1);
        mutated[i] = hostile(r, args[i]);
      }
    } else if (kind === 'nonfinite' && spec.finite?.length) {
      const i = r.pick(spec.finite);
      const bad = withNonFinite(r, args[i]);
      if (bad !== undefined) {
        mutated = [...args];
        mutated[i] = bad;
        expectFinite = true;
      }
    } else if (kind === 'arity') {
      mutated = args.slice(0, r.int(0, Math.max(0, args.length - 1)));
    }
    const got = await outcome(fn, mutated);
    const at = () => `${label} call ${call} (seed ${seed}, ${kind}): (${show(mutated)})`;
    if (got.ok) {
      if (expectFinite) problems.push(`${at()}: accepted a non-finite value`);
      continue;
    }
    const e = got.error;
    if (!(e instanceof Error)) {
      problems.push(`${at()}: threw a non-Error ${String(e)}`);
      continue;
    }
    if (mutated === args) {
      problems.push(`${at()}: a valid call failed: ${e.name}: ${e.message}`);
      continue;
    }
    const names = [...spec.names, label.split('.').pop()!];
    const own = spec.nameArg === undefined ? undefined : mutated[spec.nameArg];
    if (typeof own === 'string' && own) names.push(own);
    // An engine error (a property read of null, a conversion) means an input went unchecked, whatever it names.
    if (/Cannot read properties|Cannot convert|is not a function|is not iterable|Maximum call stack/.test(e.message) ||
      !names.some((n) => namedIn(e.message, n))) {
      problems.push(`${at()}: ${e.name} names no argument: ${e.message}`);
    }
    if (expectFinite && !(e instanceof RangeError)) {
      problems.push(`${at()}: a non-finite value gave ${e.name} instead of RangeError: ${e.message}`);
    }
  }
  return problems;
}

const seedOf = (label: string) => [...label].reduce((h, c) => (Math.imul(h, 31) + c.charCodeAt(0)) >>> 0, SEED);

describe('native fuzz', () => {
  it('covers every export of the addon and of bindings/', () => {
    expect(Object.keys(native).sort()).toEqual(Object.keys(RAW).sort());
    for (const [mod, exports] of Object.entries(MODULES)) {
      const fns = Object.entries(exports).filter(([, v]) => typeof v === 'function').map(([k]) => k).sort();
      expect(fns, `bindings/${mod}.ts`).toEqual(Object.keys(BOUND[mod]).sort());
    }
  });

  it('the known crashes are RangeErrors: a size product wrapping to 0, huge outputs', async () => {
    // 2^21 · 2^21 · 2^22 = 2^64 wraps to 0 in int64: it matched an empty map and the kernel wrote past it.
    expect(() => native.resizeMap(new Float32Array(0), 2 ** 21, 2 ** 21, 2 ** 22, 4, 4, false, false))
      .toThrow(/^channels×height×width = .* exceeds the buffer limit/);
    const big = 2 ** 31 - 1, limit = /outHeight×outWidth.* exceeds the buffer limit/;
    expect(() => heatmap.resizeMap(new Float32Array(4), 2, 2, big, big)).toThrow(RangeError);
    expect(() => native.resizeMap(new Float32Array(4), 1, 2, 2, big, big, true, false)).toThrow(limit);
    await expect(heatmap.resizeMapAsync(new Float32Array(4), 2, 2, big, big)).rejects.toThrow(RangeError);
    expect(() => native.resizeMap(new Float32Array(4), 1, 2, 2, big, big, false, true)).toThrow(limit);
    expect(() => heatmap.coherenceMap(Float32Array.of(0, 1, 2, 3), 2, 2, 2 ** 30, 2 ** 30, 'left')).toThrow(RangeError);
    expect(() => imagePrep.resizeImage(new Uint8Array(12), 2, 2, big, big)).toThrow(RangeError);
    expect(() => native.resizeImage(new Uint8Array(12), 2, 2, 3, big, big, 'bilinear', false)).toThrow(limit);
  });

  it('raw addon calls return or throw an Error naming an argument', async () => {
    const problems: string[] = [];
    const deadline = Date.now() + BUDGET_MS;
    const raw = native as unknown as Record<string, (...a: unknown[]) => unknown>; // called with wrong types on purpose
    for (const [name, spec] of Object.entries(RAW)) {
      problems.push(...await fuzz(`native.${name}`, raw[name], spec, seedOf(name), deadline));
    }
    native.setDevice('auto');
    expect(problems).toEqual([]);
  });

  it('bindings/ calls return or throw an Error naming an argument', async () => {
    const problems: string[] = [];
    const deadline = Date.now() + BUDGET_MS;
    for (const [mod, specs] of Object.entries(BOUND)) {
      for (const [name, spec] of Object.entries(specs)) {
        const fn = MODULES[mod][name] as (...a: unknown[]) => unknown;
        problems.push(...await fuzz(`${mod}.${name}`, fn, spec, seedOf(`${mod}.${name}`), deadline));
      }
    }
    backend.setDevice('auto');
    expect(problems).toEqual([]);
  });
});
