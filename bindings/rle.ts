// COCO run-length encoding, identical to pycocotools 2.0.8 (maskApi.c): runs are column-major and start with a run
// of zeros; `counts` is COCO's compressed string. Masks on this side are row-major H×W Uint8Arrays (non-zero = set).
import { native } from './native.ts';
import { checkInt, checkUint8, describe } from './validate.ts';

/** A compressed COCO RLE, as in COCO annotations (`counts` as a string). */
export type Rle = { size: [number, number]; counts: string };

const MAX_PIXELS = 2 ** 31 - 1;

function checkSize(height: unknown, width: unknown, name = ''): [number, number] {
  const h = checkInt(height, `${name}height`);
  const w = checkInt(width, `${name}width`);
  if (h * w > MAX_PIXELS) throw new RangeError(`${name}height×width = ${h * w} exceeds ${MAX_PIXELS}`);
  return [h, w];
}

/** Checks a list of RLEs and splits it into the counts strings and a [h, w, …] size array for the addon. */
function packRles(rles: unknown, name: string): { counts: string[]; sizes: Uint32Array } {
  if (!Array.isArray(rles)) throw new TypeError(`${name} must be an array of RLEs, got ${describe(rles)}`);
  const counts: string[] = new Array(rles.length);
  const sizes = new Uint32Array(2 * rles.length);
  rles.forEach((r, i) => {
    const item = `${name}[${i}]`;
    if (r === null || typeof r !== 'object') throw new TypeError(`${item} must be an RLE object, got ${describe(r)}`);
    const { size, counts: c } = r as Partial<Rle>;
    if (!Array.isArray(size) || size.length !== 2) {
      throw new TypeError(`${item}.size must be [height, width], got ${describe(size)}`);
    }
    [sizes[2 * i], sizes[2 * i + 1]] = checkSize(size[0], size[1], `${item}.size `);
    if (typeof c !== 'string') throw new TypeError(`${item}.counts must be a string, got ${describe(c)}`);
    counts[i] = c;
  });
  return { counts, sizes };
}

/** Runs a call on one RLE packed as a list of one, so that errors name `rle` rather than `rle[0]`. */
function onOne<T>(rle: unknown, call: (counts: string[], sizes: Uint32Array) => T): T {
  try {
    const { counts, sizes } = packRles([rle], 'rle');
    return call(counts, sizes);
  } catch (err) {
    if (err instanceof Error) err.message = err.message.replace(/^rle\[0\]/, 'rle');
    throw err;
  }
}

function toRles(counts: string[], height: number, width: number): Rle[] {
  return counts.map((c) => ({ size: [height, width], counts: c }));
}

function encodeArgs(masks: unknown, n: unknown, height: unknown, width: unknown) {
  const [h, w] = checkSize(height, width);
  const count = checkInt(n, 'n');
  return [checkUint8(masks, 'masks', count * h * w), count, h, w] as const;
}

/** Encodes one row-major height×width mask. */
export function rleEncode(mask: Uint8Array, height: number, width: number): Rle {
  const [h, w] = checkSize(height, width);
  checkUint8(mask, 'mask', h * w);
  return { size: [h, w], counts: native.rleEncode(mask, 1, h, w, false)[0] };
}

/** Encodes n masks of height×width stored back to back. */
export function rleEncodeBatch(masks: Uint8Array, n: number, height: number, width: number): Rle[] {
  const args = encodeArgs(masks, n, height, width);
  return toRles(native.rleEncode(...args, false), args[2], args[3]);
}

/** rleEncodeBatch off the JS thread. */
export async function rleEncodeBatchAsync(masks: Uint8Array, n: number, height: number, width: number): Promise<Rle[]> {
  const args = encodeArgs(masks, n, height, width);
  return toRles(await native.rleEncode(...args, true), args[2], args[3]);
}

/** Decodes one RLE into a row-major 0/1 mask. */
export function rleDecode(rle: Rle): Uint8Array {
  return onOne(rle, (counts, sizes) => native.rleDecode(counts, sizes, 'rle', false));
}

/** Decodes RLEs of one size into n row-major 0/1 masks back to back. */
export function rleDecodeBatch(rles: Rle[]): Uint8Array {
  const { counts, sizes } = packRles(rles, 'rles');
  return native.rleDecode(counts, sizes, 'rles', false);
}

/** rleDecodeBatch off the JS thread. */
export async function rleDecodeBatchAsync(rles: Rle[]): Promise<Uint8Array> {
  const { counts, sizes } = packRles(rles, 'rles');
  return native.rleDecode(counts, sizes, 'rles', true);
}

/** Number of set pixels. */
export function rleArea(rle: Rle): number {
  return onOne(rle, (counts, sizes) => native.rleArea(counts, sizes, 'rle')[0]);
}

/** Areas of several RLEs. */
export function rleAreaBatch(rles: Rle[]): Float64Array {
  const { counts, sizes } = packRles(rles, 'rles');
  return native.rleArea(counts, sizes, 'rles');
}

/** Bounding box [x, y, w, h] as pycocotools 2.0.8's toBbox (an empty mask gives zeros). */
export function rleToBbox(rle: Rle): [number, number, number, number] {
  const b: Float64Array = onOne(rle, (counts, sizes) => native.rleToBbox(counts, sizes, 'rle'));
  return [b[0], b[1], b[2], b[3]];
}

/** Boxes of several RLEs, n×4 [x, y, w, h]. */
export function rleToBboxBatch(rles: Rle[]): Float64Array {
  const { counts, sizes } = packRles(rles, 'rles');
  return native.rleToBbox(counts, sizes, 'rles');
}

/** Union (or, with intersect, intersection) of one or more RLEs of the same size. */
export function rleMerge(rles: Rle[], intersect = false): Rle {
  if (typeof intersect !== 'boolean') throw new TypeError(`intersect must be a boolean, got ${describe(intersect)}`);
  const { counts, sizes } = packRles(rles, 'rles');
  const merged: string = native.rleMerge(counts, sizes, 'rles', intersect);
  return { size: [sizes[0], sizes[1]], counts: merged };
}

function iouArgs(dt: unknown, gt: unknown, iscrowd: unknown) {
  const d = packRles(dt, 'dt');
  const g = packRles(gt, 'gt');
  if (!Array.isArray(iscrowd)) throw new TypeError(`iscrowd must be an array of booleans, got ${describe(iscrowd)}`);
  if (iscrowd.length !== g.counts.length) {
    throw new RangeError(`iscrowd has length ${iscrowd.length}, expected gt.length = ${g.counts.length}`);
  }
  const crowd = new Uint8Array(iscrowd.length);
  iscrowd.forEach((c, i) => {
    if (typeof c !== 'boolean' && c !== 0 && c !== 1) {
      throw new TypeError(`iscrowd[${i}] must be a boolean, got ${describe(c)}`);
    }
    crowd[i] = c ? 1 : 0;
  });
  return [d.counts, d.sizes, g.counts, g.sizes, crowd] as const;
}

/**
 * IoU of every dt against every gt (row-major dt.length × gt.length), as pycocotools' `iou`: for a crowd gt the
 * union is the dt's area; pairs whose boxes do not overlap give 0; pairs of different sizes whose boxes overlap
 * give −1.
 */
export function rleIoU(dt: Rle[], gt: Rle[], iscrowd: boolean[]): Float64Array {
  return native.rleIoU(...iouArgs(dt, gt, iscrowd), false);
}

/** rleIoU off the JS thread. */
export async function rleIoUAsync(dt: Rle[], gt: Rle[], iscrowd: boolean[]): Promise<Float64Array> {
  return native.rleIoU(...iouArgs(dt, gt, iscrowd), true);
}

/** Flattens polygons [[x0, y0, x1, y1, …], …] into coordinates and offsets, checking every number. */
function packPolygons(polygons: unknown, name: string, limitLog2 = 22): [Float64Array, Uint32Array] {
  const limit = 2 ** limitLog2;
  if (!Array.isArray(polygons)) throw new TypeError(`${name} must be an array of arrays, got ${describe(polygons)}`);
  const offsets = new Uint32Array(polygons.length + 1);
  polygons.forEach((p, i) => {
    if (!Array.isArray(p) && !(p instanceof Float64Array)) {
      throw new TypeError(`${name}[${i}] must be an array of numbers, got ${describe(p)}`);
    }
    offsets[i + 1] = offsets[i] + p.length;
  });
  const coords = new Float64Array(offsets[polygons.length]);
  polygons.forEach((p: ArrayLike<unknown>, i) => {
    for (let j = 0; j < p.length; j++) {
      const v = p[j];
      if (typeof v !== 'number' || !(Math.abs(v) <= limit)) {
        throw new RangeError(`${name}[${i}][${j}] must be a finite number within ±2^${limitLog2}, got ${describe(v)}`);
      }
      coords[offsets[i] + j] = v;
    }
  });
  return [coords, offsets];
}

/**
 * Rasterises each polygon [x0, y0, x1, y1, …] (pixel coordinates) into its own RLE, as pycocotools'
 * frPyObjects/frPoly; a trailing odd coordinate is ignored and fewer than two points give an empty mask.
 */
export function rleFromPolygons(polygons: number[][], height: number, width: number): Rle[] {
  const [h, w] = checkSize(height, width);
  return toRles(native.rleFromPolygons(...packPolygons(polygons, 'polygons'), h, w, false), h, w);
}

/** rleFromPolygons off the JS thread. */
export async function rleFromPolygonsAsync(polygons: number[][], height: number, width: number): Promise<Rle[]> {
  const [h, w] = checkSize(height, width);
  return toRles(await native.rleFromPolygons(...packPolygons(polygons, 'polygons'), h, w, true), h, w);
}

/** Rasterises boxes [x, y, w, h] as pycocotools' frBbox (the polygon of the four corners). */
export function rleFromBoxes(boxes: number[][], height: number, width: number): Rle[] {
  const [h, w] = checkSize(height, width);
  const [coords, offsets] = packPolygons(boxes, 'boxes', 21);
  offsets.forEach((o, i) => {
    if (i > 0 && o - offsets[i - 1] !== 4) throw new RangeError(`boxes[${i - 1}] must be [x, y, w, h]`);
  });
  return toRles(native.rleFromBoxes(coords, h, w), h, w);
}

/** Compresses uncompressed runs (column-major, starting with zeros) as pycocotools' frUncompressedRLE. */
export function rleFromCounts(counts: ArrayLike<number>, height: number, width: number): Rle {
  const [h, w] = checkSize(height, width);
  let runs: Uint32Array;
  if (counts instanceof Uint32Array) {
    runs = counts;
  } else if (Array.isArray(counts)) {
    runs = Uint32Array.from(counts, (c, i) => checkInt(c, `counts[${i}]`, 0, 2 ** 32 - 1));
  } else {
    throw new TypeError(`counts must be an array of integers or a Uint32Array, got ${describe(counts)}`);
  }
  return { size: [h, w], counts: native.rleFromCounts(runs, h, w) };
}

/** The uncompressed runs of an RLE. */
export function rleToCounts(rle: Rle): Uint32Array {
  return onOne(rle, (counts, sizes) => native.rleToCounts(counts, sizes, 'rle'));
}
