// Spec §2 and §10: segment-anything's SamAutomaticMaskGenerator in full: crop layers, point batches, the crop-edge
// filter, uncropping, NMS within each crop and across crops, and the small-region clean-up.
import { rleDecodeBatchAsync, rleEncodeBatchAsync, type Rle } from '../../bindings/rle.ts';
import { samBatchMasksAsync, samSmallRegionsAsync } from '../../bindings/samCrops.ts';
import { samPointGrid, samTransformCoords, type SamPostResult } from '../../bindings/samPost.ts';
import type { Models } from '../models/loadModels.ts';
import { batchedNms } from './batchedNms.ts';
import { prepareSamInput, SAM_IMAGE_SIZE, type RgbImage } from './preprocess.ts';
import { timed, type Timings } from './timing.ts';

export interface AmgOptions {
  pointsPerSide?: number;
  pointsPerBatch?: number;
  predIouThresh?: number;
  stabilityScoreThresh?: number;
  stabilityScoreOffset?: number;
  boxNmsThresh?: number;
  cropNLayers?: number;
  cropNmsThresh?: number;
  cropOverlapRatio?: number;
  cropNPointsDownscaleFactor?: number;
  minMaskRegionArea?: number;
  maskThreshold?: number;
}

/** HybridGL's RefCOCO settings (spec §2); the rest are segment-anything's defaults. */
export const AMG_DEFAULTS: Required<AmgOptions> = {
  pointsPerSide: 8,
  pointsPerBatch: 64,
  predIouThresh: 0.7,
  stabilityScoreThresh: 0.7,
  stabilityScoreOffset: 1.0,
  boxNmsThresh: 0.7,
  cropNLayers: 0,
  cropNmsThresh: 0.7,
  cropOverlapRatio: 512 / 1500,
  cropNPointsDownscaleFactor: 1,
  minMaskRegionArea: 800,
  maskThreshold: 0,
};

/** Hybridgl_main_PhraseCut.py's generator (spec §10). */
export const PHRASECUT_AMG: Required<AmgOptions> = {
  ...AMG_DEFAULTS,
  pointsPerSide: 64,
  predIouThresh: 0.86,
  stabilityScoreThresh: 0.92,
  cropNLayers: 1,
  cropNPointsDownscaleFactor: 2,
  minMaskRegionArea: 100,
};

/** Where the generator is in an image: reported after each batch of points (PhraseCut's settings send ~8,000 points
 *  through the decoder per image, minutes on a CPU). */
export interface AmgProgress {
  /** the crop being decoded (1-based) and how many there are. */
  crop: number;
  crops: number;
  /** points decoded so far over all crops, and in all. */
  points: number;
  pointsTotal: number;
}

/** XYXY, x1/y1 exclusive, in the original frame. */
export type CropBox = [number, number, number, number];

/** The decoder's outputs for one batch of points: points × masks per point × 256² logits and their IoUs. */
export interface DecodedBatch {
  lowResLogits: Float32Array;
  iouPredictions: Float32Array;
}

/**
 * Opens one crop (the encoder runs on the cropped image) and returns its batch decoder, which takes points as
 * (x, y) pairs in the crop's frame.
 */
export type OpenCrop = (crop: CropBox, cropIndex: number) => Promise<(points: Float64Array) => Promise<DecodedBatch>>;

/** postprocessSamMasks' result over all crops (pointCoords in the original frame, proposalIndex within the
 *  proposal's crop: point × masks per point + mask), with the image's size and each proposal's crop. */
export interface AmgResult extends SamPostResult {
  height: number;
  width: number;
  /** count × 4 XYXY: the crop each proposal came from. */
  cropBoxes: Int32Array;
}

function resolve(options: AmgOptions): Required<AmgOptions> {
  const opt = { ...AMG_DEFAULTS, ...options };
  for (const k of Object.keys(opt) as Array<keyof AmgOptions>) {
    if (!(k in AMG_DEFAULTS)) throw new TypeError(`options.${k} is not a known SAM generator option`);
    const v = opt[k];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`options.${k} must be a finite number, got ${String(v)}`);
  }
  const ints: Array<[keyof AmgOptions, number]> = [
    ['pointsPerSide', 1], ['pointsPerBatch', 1], ['cropNLayers', 0], ['cropNPointsDownscaleFactor', 1],
    ['minMaskRegionArea', 0],
  ];
  for (const [k, min] of ints) {
    if (!Number.isInteger(opt[k]) || opt[k] < min) throw new RangeError(`options.${k} must be an integer >= ${min}, got ${opt[k]}`);
  }
  if (opt.cropNLayers > 8) throw new RangeError(`options.cropNLayers must be at most 8, got ${opt.cropNLayers}`);
  return opt;
}

/** segment-anything's generate_crop_boxes: the full image, then 2^(i+1)² overlapping crops per layer i. */
export function samCropBoxes(height: number, width: number, nLayers: number, overlapRatio: number): { boxes: CropBox[]; layers: number[] } {
  const boxes: CropBox[] = [[0, 0, width, height]];
  const layers = [0];
  const shortSide = Math.min(height, width);
  const cropLen = (orig: number, n: number, overlap: number) => Math.ceil((overlap * (n - 1) + orig) / n);
  for (let layer = 0; layer < nLayers; layer++) {
    const perSide = 2 ** (layer + 1);
    const overlap = Math.trunc(overlapRatio * shortSide * (2 / perSide));
    const cw = cropLen(width, perSide, overlap), ch = cropLen(height, perSide, overlap);
    for (let i = 0; i < perSide; i++) {
      for (let j = 0; j < perSide; j++) {
        const x0 = Math.trunc((cw - overlap) * i), y0 = Math.trunc((ch - overlap) * j);
        boxes.push([x0, y0, Math.min(x0 + cw, width), Math.min(y0 + ch, height)]);
        layers.push(layer + 1);
      }
    }
  }
  return { boxes, layers };
}

/** build_all_layer_point_grids: int(pointsPerSide / factor^layer) points per side on layer `layer`. */
export function samLayerPointsPerSide(pointsPerSide: number, layer: number, factor: number): number {
  return Math.trunc(pointsPerSide / factor ** layer);
}

/** is_box_near_crop_edge: an edge within 20 px of the crop's edge, and not of the image's. */
function nearCropEdge(box: ArrayLike<number>, crop: CropBox, width: number, height: number): boolean {
  const image = [0, 0, width, height];
  for (let c = 0; c < 4; c++) {
    const v = box[c] + crop[c % 2];
    if (Math.abs(v - crop[c]) <= 20 && !(Math.abs(v - image[c]) <= 20)) return true;
  }
  return false;
}

interface CropRecords {
  crop: CropBox;
  rles: Rle[];
  boxes: number[];        // crop frame XYXY
  iou: number[];
  stability: number[];
  points: number[];       // crop frame (x, y)
  proposal: number[];
}

async function processCrop(
  crop: CropBox, layer: number, cropIndex: number, height: number, width: number, opt: Required<AmgOptions>,
  openCrop: OpenCrop, onBatch?: (points: number) => void,
): Promise<CropRecords> {
  const [x0, y0, x1, y1] = crop;
  const ch = y1 - y0, cw = x1 - x0;
  const perSide = samLayerPointsPerSide(opt.pointsPerSide, layer, opt.cropNPointsDownscaleFactor);
  if (perSide < 1) {
    throw new RangeError(`crop layer ${layer} has no points: pointsPerSide ${opt.pointsPerSide} / ` +
      `cropNPointsDownscaleFactor ${opt.cropNPointsDownscaleFactor}^${layer} < 1`);
  }
  const grid = samPointGrid(ch, cw, perSide);
  const decode = await openCrop(crop, cropIndex);
  const rec: CropRecords = { crop, rles: [], boxes: [], iou: [], stability: [], points: [], proposal: [] };
  const points = perSide * perSide;
  for (let start = 0; start < points; start += opt.pointsPerBatch) {
    const n = Math.min(opt.pointsPerBatch, points - start);
    const batchPoints = grid.slice(2 * start, 2 * (start + n));
    const out = await decode(batchPoints);
    const proposals = out.iouPredictions.length;
    if (proposals % n !== 0) {
      throw new RangeError(`the decoder returned ${proposals} IoU predictions for ${n} points`);
    }
    const perPoint = proposals / n;
    const bm = await samBatchMasksAsync(out.lowResLogits, out.iouPredictions, ch, cw, opt);
    const pixels = ch * cw;
    const kept: number[] = [];
    for (let k = 0; k < bm.count; k++) if (!nearCropEdge(bm.boxes.subarray(4 * k, 4 * k + 4), crop, width, height)) kept.push(k);
    let masks = bm.masks;
    if (kept.length !== bm.count) {
      masks = new Uint8Array(kept.length * pixels);
      kept.forEach((k, r) => masks.set(bm.masks.subarray(k * pixels, (k + 1) * pixels), r * pixels));
    }
    for (const rle of await rleEncodeBatchAsync(masks, kept.length, ch, cw)) rec.rles.push(rle); // a batch's size: no spread
    for (const k of kept) {
      rec.boxes.push(...bm.boxes.subarray(4 * k, 4 * k + 4));
      rec.iou.push(bm.predictedIoU[k]);
      rec.stability.push(bm.stability[k]);
      const p = Math.floor(bm.proposal[k] / perPoint);
      rec.points.push(batchPoints[2 * p], batchPoints[2 * p + 1]);
      rec.proposal.push((start + p) * perPoint + (bm.proposal[k] % perPoint));
    }
    onBatch?.(n);
  }
  const keep = batchedNms(Float32Array.from(rec.boxes), Float32Array.from(rec.iou), opt.boxNmsThresh);
  const pick = <T>(a: T[], width1: number): T[] => Array.from(keep).flatMap((k) => a.slice(width1 * k, width1 * (k + 1)));
  return {
    crop,
    rles: pick(rec.rles, 1),
    boxes: pick(rec.boxes, 4).map((v, i) => v + crop[i % 2]),
    iou: pick(rec.iou, 1),
    stability: pick(rec.stability, 1),
    points: pick(rec.points, 2).map((v, i) => v + crop[i % 2]),
    proposal: pick(rec.proposal, 1),
  };
}

/**
 * segment-anything's SamAutomaticMaskGenerator.generate with binary masks: every crop's batches, the edge filter,
 * NMS within the crop, uncropping, NMS across crops (scores 1 / crop area: smaller crops win), then the small-region
 * clean-up and its NMS. Returns the proposals in the reference's order; count 0 when none survives.
 */
export async function generateAmgMasks(height: number, width: number, openCrop: OpenCrop, options: AmgOptions = {},
  onProgress?: (progress: AmgProgress) => void): Promise<AmgResult> {
  const opt = resolve(options);
  const { boxes: crops, layers } = samCropBoxes(height, width, opt.cropNLayers, opt.cropOverlapRatio);
  const pointsTotal = layers.reduce((sum, l) => sum + samLayerPointsPerSide(opt.pointsPerSide, l, opt.cropNPointsDownscaleFactor) ** 2, 0);
  let points = 0;
  const perCrop: CropRecords[] = [];
  for (let c = 0; c < crops.length; c++) {
    const onBatch = (n: number) => onProgress?.({ crop: c + 1, crops: crops.length, points: (points += n), pointsTotal });
    perCrop.push(await processCrop(crops[c], layers[c], c, height, width, opt, openCrop, onBatch));
  }

  // The records of all crops, concatenated in crop order.
  const cropOf: number[] = [];
  perCrop.forEach((r, c) => r.iou.forEach(() => cropOf.push(c)));
  const all = {
    boxes: perCrop.flatMap((r) => r.boxes),
    iou: perCrop.flatMap((r) => r.iou),
    stability: perCrop.flatMap((r) => r.stability),
    points: perCrop.flatMap((r) => r.points),
    proposal: perCrop.flatMap((r) => r.proposal),
    rles: perCrop.flatMap((r) => r.rles),
  };
  let order = Array.from(cropOf.keys());
  if (crops.length > 1) {
    const scores = Float32Array.from(cropOf, (c) => {
      const [x0, y0, x1, y1] = crops[c];
      return 1 / ((x1 - x0) * (y1 - y0));
    });
    order = Array.from(batchedNms(Float32Array.from(all.boxes), scores, opt.cropNmsThresh));
  }

  // Dense masks in the original frame of the survivors.
  const pixels = height * width;
  let masks = new Uint8Array(order.length * pixels);
  for (let r = 0; r < order.length; r++) {
    const i = order[r];
    const [x0, y0, x1, y1] = crops[cropOf[i]];
    const cw = x1 - x0;
    const local = await rleDecodeBatchAsync([all.rles[i]]);
    for (let y = 0; y < y1 - y0; y++) masks.set(local.subarray(y * cw, (y + 1) * cw), r * pixels + (y + y0) * width + x0);
  }
  let boxes = order.flatMap((i) => all.boxes.slice(4 * i, 4 * i + 4));

  if (opt.minMaskRegionArea > 0 && order.length > 0) {
    const cleaned = await samSmallRegionsAsync(masks, height, width, opt.minMaskRegionArea);
    const scores = Float32Array.from(cleaned.changed, (c) => (c ? 0 : 1));
    const keep = Array.from(batchedNms(Float32Array.from(cleaned.boxes), scores, Math.max(opt.boxNmsThresh, opt.cropNmsThresh)));
    const next = new Uint8Array(keep.length * pixels);
    keep.forEach((k, r) => next.set(cleaned.masks.subarray(k * pixels, (k + 1) * pixels), r * pixels));
    // Unchanged masks keep their boxes from the crop (the reference only rewrites the changed ones).
    boxes = keep.flatMap((k) => Array.from(cleaned.changed[k] ? cleaned.boxes.subarray(4 * k, 4 * k + 4) : boxes.slice(4 * k, 4 * k + 4)));
    order = keep.map((k) => order[k]);
    masks = next;
  }

  const count = order.length;
  const xyxy = Int32Array.from(boxes);
  const xywh = new Int32Array(4 * count);
  for (let r = 0; r < count; r++) {
    xywh[4 * r] = xyxy[4 * r];
    xywh[4 * r + 1] = xyxy[4 * r + 1];
    xywh[4 * r + 2] = xyxy[4 * r + 2] - xyxy[4 * r];
    xywh[4 * r + 3] = xyxy[4 * r + 3] - xyxy[4 * r + 1];
  }
  return {
    height,
    width,
    count,
    masks,
    boxesXYXY: xyxy,
    boxesXYWH: xywh,
    predictedIoU: Float32Array.from(order, (i) => all.iou[i]),
    stabilityScore: Float32Array.from(order, (i) => all.stability[i]),
    pointCoords: Float64Array.from(order.flatMap((i) => all.points.slice(2 * i, 2 * i + 2))),
    proposalIndex: Int32Array.from(order, (i) => all.proposal[i]),
    cropBoxes: Int32Array.from(order.flatMap((i) => crops[cropOf[i]])),
  };
}

/** The crop's pixels, HWC RGB. */
function cropImage({ rgb, width }: RgbImage, [x0, y0, x1, y1]: CropBox): RgbImage {
  const cw = x1 - x0, ch = y1 - y0;
  const out = new Uint8Array(ch * cw * 3);
  for (let y = 0; y < ch; y++) out.set(rgb.subarray(((y0 + y) * width + x0) * 3, ((y0 + y) * width + x1) * 3), y * cw * 3);
  return { rgb: out, height: ch, width: cw };
}

/** OpenCrop on the models: SAM's encoder on the cropped image resized to 1024, the decoder on each batch. */
export function modelCropOpener(image: RgbImage, models: Models, timings?: Timings): OpenCrop {
  return async (crop) => {
    const part = cropImage(image, crop);
    const sam = await timed(timings, 'samPreprocess', () => prepareSamInput(part));
    const embeddings = await timed(timings, 'samEncoder', () =>
      models.samEncoder({ data: sam.pixels, dims: [1, 3, SAM_IMAGE_SIZE, SAM_IMAGE_SIZE] }));
    return async (points) => {
      const n = points.length / 2;
      const inFrame = samTransformCoords(points, part.height, part.width, SAM_IMAGE_SIZE);
      const decoded = await timed(timings, 'samDecoder', () => models.samDecoder(
        embeddings,
        { data: Float32Array.from(inFrame), dims: [n, 1, 2] },
        { data: new Float32Array(n).fill(1), dims: [n, 1] },
      ));
      return { lowResLogits: decoded.lowResLogits.data, iouPredictions: decoded.iouPredictions.data };
    };
  };
}
