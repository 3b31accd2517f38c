// Spec §0: a small deterministic synthetic dataset in the REFER layout (refcoco, splitBy unc, val/testA/testB).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import sharp from 'sharp';

import { writePickle, type PickleWritable } from '../data/pickle.ts';

type Rgb = [number, number, number];
type Kind = 'circle' | 'square' | 'triangle' | 'cross';

export interface ShapeSpec {
  kind: Kind;
  colour: keyof typeof COLOURS;
  cx: number;
  cy: number;
  r: number;
  /** the referring expressions of this shape (none: a distractor only). */
  says: string[];
  /** store the annotation as an (uncompressed) RLE instead of polygons. */
  rle?: boolean;
}

interface ImageSpec {
  width: number;
  height: number;
  split: 'val' | 'testA' | 'testB';
  format: 'jpg' | 'png';
  shapes: ShapeSpec[];
}

export const COLOURS = {
  red: [220, 40, 40] as Rgb,
  green: [40, 170, 60] as Rgb,
  blue: [40, 70, 210] as Rgb,
  yellow: [235, 200, 30] as Rgb,
};

const CATEGORIES: Record<Kind, number> = { circle: 1, square: 2, triangle: 3, cross: 4 };

// Six images, two per split; one cross made of two overlapping polygons (QUIRK gt-overlap), one RLE annotation.
const IMAGES: ImageSpec[] = [
  { width: 160, height: 120, split: 'val', format: 'jpg', shapes: [
    { kind: 'circle', colour: 'red', cx: 35, cy: 60, r: 22, says: ['red circle on the left', 'the left red ball'] },
    { kind: 'square', colour: 'blue', cx: 120, cy: 58, r: 20, says: ['blue square on the right'] },
  ] },
  { width: 128, height: 96, split: 'val', format: 'png', shapes: [
    { kind: 'triangle', colour: 'green', cx: 64, cy: 30, r: 20, says: ['green triangle at the top'] },
    { kind: 'circle', colour: 'yellow', cx: 64, cy: 72, r: 16, says: ['yellow circle below the triangle'], rle: true },
  ] },
  { width: 160, height: 120, split: 'testA', format: 'jpg', shapes: [
    { kind: 'circle', colour: 'blue', cx: 30, cy: 40, r: 18, says: ['small blue circle'] },
    { kind: 'circle', colour: 'blue', cx: 105, cy: 70, r: 34, says: ['big blue circle on the right', 'larger blue circle'] },
  ] },
  { width: 160, height: 120, split: 'testA', format: 'jpg', shapes: [
    { kind: 'cross', colour: 'red', cx: 50, cy: 60, r: 26, says: ['red cross'] },
    { kind: 'square', colour: 'yellow', cx: 125, cy: 35, r: 16, says: ['yellow square in the corner'] },
    { kind: 'triangle', colour: 'blue', cx: 120, cy: 90, r: 18, says: [] },
  ] },
  { width: 160, height: 120, split: 'testB', format: 'jpg', shapes: [
    { kind: 'square', colour: 'green', cx: 40, cy: 60, r: 24, says: ['green square on the left'] },
    { kind: 'square', colour: 'red', cx: 80, cy: 60, r: 14, says: ['red square in the middle'] },
    { kind: 'square', colour: 'green', cx: 125, cy: 60, r: 20, says: ['green square on the right'] },
  ] },
  { width: 144, height: 108, split: 'testB', format: 'jpg', shapes: [
    { kind: 'triangle', colour: 'yellow', cx: 45, cy: 60, r: 26, says: ['yellow triangle left of the circle'] },
    { kind: 'circle', colour: 'green', cx: 105, cy: 55, r: 24, says: ['green circle'] },
  ] },
];

/** The shape's outline as polygons (flat [x0, y0, x1, y1, …], pixel coordinates, 2 decimals as in COCO). */
export function polygonsOf(s: ShapeSpec): number[][] {
  const round = (v: number) => Math.round(v * 100) / 100;
  const flat = (pts: Array<[number, number]>) => pts.flatMap(([x, y]) => [round(x), round(y)]);
  const { cx, cy, r } = s;
  switch (s.kind) {
    case 'circle':
      return [flat(Array.from({ length: 24 }, (_, k) => [cx + r * Math.cos((k * Math.PI) / 12), cy + r * Math.sin((k * Math.PI) / 12)]))];
    case 'square':
      return [flat([[cx - r, cy - r], [cx + r, cy - r], [cx + r, cy + r], [cx - r, cy + r]])];
    case 'triangle':
      return [flat([[cx, cy - r], [cx + r, cy + r * 0.8], [cx - r, cy + r * 0.8]])];
    case 'cross': {
      const t = r / 3;
      return [
        flat([[cx - r, cy - t], [cx + r, cy - t], [cx + r, cy + t], [cx - r, cy + t]]),
        flat([[cx - t, cy - r], [cx + t, cy - r], [cx + t, cy + r], [cx - t, cy + r]]),
      ];
    }
  }
}

/** Even-odd point-in-polygon test of a pixel centre. */
function inside(poly: number[], x: number, y: number): boolean {
  let c = false;
  for (let i = 0, j = poly.length - 2; i < poly.length; j = i, i += 2) {
    const [xi, yi, xj, yj] = [poly[i], poly[i + 1], poly[j], poly[j + 1]];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) c = !c;
  }
  return c;
}

/** The shape's pixels (row-major), as drawn: the union of its polygons at pixel centres. */
export function rasterise(polys: number[][], h: number, w: number): Uint8Array {
  const m = new Uint8Array(h * w);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) m[y * w + x] = +polys.some((p) => inside(p, x + 0.5, y + 0.5));
  return m;
}

/** Uncompressed COCO RLE of a row-major mask (column-major runs, zeros first). */
function uncompressedRle(m: Uint8Array, h: number, w: number): { size: [number, number]; counts: number[] } {
  const counts: number[] = [];
  let value = 0, run = 0;
  for (let x = 0; x < w; x++)
    for (let y = 0; y < h; y++) {
      if (m[y * w + x] !== value) counts.push(run), (run = 0), (value = m[y * w + x]);
      run++;
    }
  counts.push(run);
  return { size: [h, w], counts };
}

export interface SynthReferSummary {
  images: number;
  refs: number;
  sentences: number;
  files: string[];
}

/**
 * Writes the dataset under dir: refcoco/refs(unc).p, refcoco/instances.json and
 * images/mscoco/images/train2014/COCO_train2014_<id>.<jpg|png>. Same input, same bytes.
 */
export async function writeSynthRefer(dir: string): Promise<SynthReferSummary> {
  const dataDir = join(dir, 'refcoco');
  const imageDir = join(dir, 'images', 'mscoco', 'images', 'train2014');
  mkdirSync(dataDir, { recursive: true });
  mkdirSync(imageDir, { recursive: true });
  const images: PickleWritable[] = [], annotations: PickleWritable[] = [], refs: PickleWritable[] = [];
  const files: string[] = [];
  let annId = 100, refId = 0, sentId = 0;
  for (const [i, spec] of IMAGES.entries()) {
    const imageId = 1000 + i;
    const { width: w, height: h } = spec;
    const fileName = `COCO_train2014_${String(imageId).padStart(12, '0')}.${spec.format}`;
    // A soft gradient background, then the shapes in order (later ones on top).
    const rgb = new Uint8Array(h * w * 3);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) rgb.set([200 + Math.round((40 * x) / w), 205, 215 - Math.round((30 * y) / h)], (y * w + x) * 3);
    for (const shape of spec.shapes) {
      const polys = polygonsOf(shape);
      const mask = rasterise(polys, h, w);
      for (let p = 0; p < h * w; p++) if (mask[p]) rgb.set(COLOURS[shape.colour], p * 3);
      const xs = polys.flatMap((p) => p.filter((_, k) => k % 2 === 0)), ys = polys.flatMap((p) => p.filter((_, k) => k % 2 === 1));
      const [x0, y0] = [Math.min(...xs), Math.min(...ys)];
      const bbox = [x0, y0, Math.max(...xs) - x0, Math.max(...ys) - y0];
      const id = annId++;
      annotations.push({
        id, image_id: imageId, category_id: CATEGORIES[shape.kind], iscrowd: 0,
        segmentation: shape.rle ? uncompressedRle(mask, h, w) : polys,
        area: mask.reduce((a, v) => a + v, 0), bbox,
      });
      if (shape.says.length === 0) continue;
      const sentences = shape.says.map((raw) => ({ tokens: raw.split(' '), raw, sent_id: sentId++, sent: raw.toLowerCase() }));
      refs.push({
        sent_ids: sentences.map((s) => s.sent_id), file_name: fileName.replace(/\.\w+$/, `_${id}.${spec.format}`), ann_id: id,
        ref_id: refId++, image_id: imageId, split: spec.split, sentences, category_id: CATEGORIES[shape.kind],
      });
    }
    const img = sharp(Buffer.from(rgb), { raw: { width: w, height: h, channels: 3 } });
    const bytes = spec.format === 'png' ? await img.png().toBuffer() : await img.jpeg({ quality: 92 }).toBuffer();
    writeFileSync(join(imageDir, fileName), bytes);
    files.push(join(imageDir, fileName));
    images.push({ id: imageId, file_name: fileName, height: h, width: w, license: 1 });
  }
  const categories = Object.entries(CATEGORIES).map(([name, id]) => ({ id, name, supercategory: 'shape' }));
  writeFileSync(join(dataDir, 'instances.json'), JSON.stringify({ images, annotations, categories }));
  writeFileSync(join(dataDir, 'refs(unc).p'), writePickle(refs));
  files.push(join(dataDir, 'instances.json'), join(dataDir, 'refs(unc).p'));
  const sentences = refs.reduce<number>((a, r) => a + ((r as { sentences: unknown[] }).sentences.length), 0);
  return { images: images.length, refs: refs.length, sentences, files };
}
