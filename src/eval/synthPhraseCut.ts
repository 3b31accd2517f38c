// Spec §10: a small synthetic VGPhraseCut_v0 (image_data_split.json, refer_test.json, images/<id>.jpg) with the
// shapes of the synthetic REFER set, so the PhraseCut eval runs end to end offline. Same input, same bytes.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import sharp from 'sharp';

import { COLOURS, polygonsOf, rasterise, type ShapeSpec } from './synthRefer.ts';

interface PhraseSpec {
  phrase: string;
  /** indices of the image's shapes that are the phrase's instances. */
  instances: number[];
}

interface ImageSpec {
  width: number;
  height: number;
  shapes: ShapeSpec[];
  phrases: PhraseSpec[];
}

const shape = (kind: ShapeSpec['kind'], colour: ShapeSpec['colour'], cx: number, cy: number, r: number): ShapeSpec =>
  ({ kind, colour, cx, cy, r, says: [] });

const IMAGES: ImageSpec[] = [
  {
    width: 160, height: 120,
    shapes: [shape('circle', 'red', 35, 60, 22), shape('square', 'blue', 120, 58, 20)],
    phrases: [{ phrase: 'red circle', instances: [0] }, { phrase: 'blue square', instances: [1] }],
  },
  {
    width: 144, height: 108,
    shapes: [shape('circle', 'blue', 30, 40, 16), shape('circle', 'blue', 105, 70, 26), shape('cross', 'red', 40, 85, 14)],
    phrases: [{ phrase: 'blue circles', instances: [0, 1] }, { phrase: 'red cross', instances: [2] }],
  },
  {
    width: 128, height: 96,
    shapes: [shape('triangle', 'green', 64, 30, 20), shape('square', 'yellow', 64, 74, 14)],
    phrases: [{ phrase: 'green triangle', instances: [0] }, { phrase: 'yellow square below the triangle', instances: [1] }],
  },
];

export interface SynthPhraseCutSummary {
  images: number;
  tasks: number;
  files: string[];
}

/** Writes the dataset under dir (the VGPhraseCut_v0 layout): polygons as PhraseCut lists of [x, y] points. */
export async function writeSynthPhraseCut(dir: string): Promise<SynthPhraseCutSummary> {
  const imageDir = join(dir, 'images');
  mkdirSync(imageDir, { recursive: true });
  const info: object[] = [], tasks: object[] = [], files: string[] = [];
  for (const [i, spec] of IMAGES.entries()) {
    const imageId = 2001 + i;
    const { width: w, height: h } = spec;
    const rgb = new Uint8Array(h * w * 3);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) rgb.set([200 + Math.round((40 * x) / w), 205, 215 - Math.round((30 * y) / h)], (y * w + x) * 3);
    const polygons = spec.shapes.map((s) => polygonsOf(s));
    for (const [k, s] of spec.shapes.entries()) {
      const mask = rasterise(polygons[k], h, w);
      for (let p = 0; p < h * w; p++) if (mask[p]) rgb.set(COLOURS[s.colour], p * 3);
    }
    for (const [t, p] of spec.phrases.entries()) {
      const instances = p.instances.map((k) => polygons[k].map((flat) => flat.flatMap((v, j) => (j % 2 === 0 ? [[v, flat[j + 1]]] : []))));
      const boxes = instances.map((polys) => {
        const xs = polys.flat().map((q) => q[0]), ys = polys.flat().map((q) => q[1]);
        return [Math.min(...xs), Math.min(...ys), Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys)];
      });
      const words = p.phrase.split(' ');
      tasks.push({
        task_id: `${imageId}__${t}`, image_id: imageId, phrase: p.phrase, instance_boxes: boxes, Polygons: instances,
        phrase_structure: { name: words[1] ?? words[0], attributes: words.length > 1 ? [words[0]] : [], relation_descriptions: [] },
      });
    }
    const file = join(imageDir, `${imageId}.jpg`);
    writeFileSync(file, await sharp(Buffer.from(rgb), { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 92 }).toBuffer());
    files.push(file);
    info.push({ image_id: imageId, width: w, height: h, split: 'test', url: `synthetic://${imageId}` });
  }
  writeFileSync(join(dir, 'image_data_split.json'), JSON.stringify(info));
  writeFileSync(join(dir, 'refer_test.json'), JSON.stringify(tasks));
  files.push(join(dir, 'image_data_split.json'), join(dir, 'refer_test.json'));
  return { images: IMAGES.length, tasks: tasks.length, files };
}
