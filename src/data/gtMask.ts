// Spec §0: the ground-truth mask of a REFER annotation (REFER.getMask, with QUIRK gt-overlap).
import type { CocoAnnotation, CocoImage, CocoRle } from './refer.ts';

export interface GtMaskOptions {
  /** QUIRK gt-overlap (default true): as the reference, per-polygon masks are summed (as uint8) and only pixels
   *  whose sum is exactly 1 are ground truth, so pixels two polygons of the object share are not. false: union. */
  gtOverlap?: boolean;
}

/** The RLE operations the GT needs (the native RLE kernels provide them). */
export interface GtRleOps {
  rleFromPolygons(polygons: number[][], height: number, width: number): Array<{ size: [number, number]; counts: string }>;
  rleDecode(rle: { size: [number, number]; counts: string }): Uint8Array;
}

/** Decodes an uncompressed COCO RLE (run lengths over the column-major pixels, zeros first) to a row-major mask. */
export function decodeUncompressedRle(rle: { size: [number, number]; counts: number[] }, what = 'RLE'): Uint8Array {
  const [h, w] = rle.size;
  if (!Number.isInteger(h) || !Number.isInteger(w) || h < 0 || w < 0) throw new RangeError(`${what}: bad size [${h}, ${w}]`);
  const out = new Uint8Array(h * w);
  let p = 0;
  rle.counts.forEach((run, k) => {
    if (!Number.isInteger(run) || run < 0) throw new RangeError(`${what}: counts[${k}] is not a run length`);
    if (p + run > h * w) throw new RangeError(`${what}: runs cover more than ${h}×${w} pixels`);
    if (k % 2 === 1)
      for (let q = p; q < p + run; q++) out[(q % h) * w + Math.floor(q / h)] = 1;
    p += run;
  });
  if (p !== h * w) throw new RangeError(`${what}: runs cover ${p} pixels, not ${h}×${w}`);
  return out;
}

/** Combines an object's per-part masks: the sum must be exactly 1 (QUIRK gt-overlap; uint8 sum as numpy's astype),
 *  or the union. */
export function combinePartMasks(parts: Uint8Array[], pixels: number, gtOverlap = true): Uint8Array {
  const sum = new Uint8Array(pixels); // wraps mod 256 like the reference's astype(np.uint8)
  for (const m of parts) {
    if (m.length !== pixels) throw new RangeError(`combinePartMasks: a part has ${m.length} pixels, not ${pixels}`);
    for (let p = 0; p < pixels; p++) sum[p] += m[p];
  }
  for (let p = 0; p < pixels; p++) sum[p] = gtOverlap ? +(sum[p] === 1) : +(sum[p] !== 0);
  return sum;
}

/** The row-major H×W GT mask of an annotation (polygons, an RLE, or a list of RLEs). */
export function annotationMask(ann: CocoAnnotation, image: CocoImage, rle: GtRleOps, options: GtMaskOptions = {}): Uint8Array {
  const { height: h, width: w } = image;
  const what = `annotation ${ann.id}`;
  const seg = ann.segmentation;
  let parts: Uint8Array[];
  if (Array.isArray(seg) && seg.length > 0 && Array.isArray(seg[0])) {
    parts = rle.rleFromPolygons(seg as number[][], h, w).map((r) => rle.rleDecode(r));
  } else {
    const rles = (Array.isArray(seg) ? seg : [seg]) as CocoRle[];
    parts = rles.map((r, k) => {
      if (typeof r !== 'object' || r === null || !Array.isArray(r.size)) throw new Error(`${what}: segmentation #${k} is neither polygons nor an RLE`);
      if (r.size[0] !== h || r.size[1] !== w) throw new Error(`${what}: RLE size ${r.size} differs from the image's ${h}×${w}`);
      return typeof r.counts === 'string'
        ? rle.rleDecode({ size: r.size, counts: r.counts })
        : decodeUncompressedRle({ size: r.size, counts: r.counts }, what);
    });
  }
  if (parts.length === 0) throw new Error(`${what}: empty segmentation`);
  return combinePartMasks(parts, h * w, options.gtOverlap ?? true);
}
