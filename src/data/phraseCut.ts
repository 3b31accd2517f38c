// Spec §0 (PhraseCut variant): the VGPhraseCut_v0 files as the reference's PhraseCut script reads them, and its GT.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { DatasetError, describeValue, fieldChecks, MAX_IMAGE_SIDE, readDatasetJson } from './datasetFiles.ts';

/** One referring task of refer_<split>.json (fields the reference uses; others are kept as they are). */
export interface PhraseCutTask {
  task_id: string;
  image_id: number;
  phrase: string;
  phrase_structure?: { name?: string; attributes?: string[]; relation_descriptions?: unknown[]; [k: string]: unknown };
  /** per instance, [x, y, w, h]. */
  instance_boxes: number[][];
  /** per instance, its polygons, each a list of [x, y] points. */
  Polygons: number[][][][];
  [extra: string]: unknown;
}

/** One entry of image_data_split.json. */
export interface PhraseCutImage {
  image_id: number;
  width: number;
  height: number;
  split: string;
  [extra: string]: unknown;
}

export interface PhraseCutImageGroup {
  image: PhraseCutImage;
  /** the image's tasks in file order. */
  tasks: PhraseCutTask[];
}

export interface LoadPhraseCutOptions {
  /** default <root>/images, holding <image_id>.jpg. */
  imageRoot?: string;
}

/**
 * The PhraseCut data under root (the reference's PhraseCutDataset/data/VGPhraseCut_v0): image_data_split.json and
 * refer_<split>.json for each of the splits named in `split` joined by '_' (e.g. 'test', 'val_test').
 */
export class PhraseCutDataset {
  readonly imageRoot: string;
  private readonly groups: PhraseCutImageGroup[];

  private constructor(readonly root: string, groups: PhraseCutImageGroup[], imageRoot: string) {
    this.groups = groups;
    this.imageRoot = imageRoot;
  }

  /** Reads the files; every field the evaluation uses is checked here (a DatasetError names the file, the item and
   *  the field), before any work starts. */
  static load(root: string, split: string, options: LoadPhraseCutOptions = {}): PhraseCutDataset {
    const splits = split.split('_');
    const infoFile = join(root, 'image_data_split.json');
    if (!existsSync(infoFile)) throw new DatasetError(infoFile, 'does not exist (PhraseCut data)');
    const ic = fieldChecks(infoFile);
    const images = new Map<number, PhraseCutImage>();
    const listed = new Set<number>();
    ic.list(readDatasetJson(infoFile), 'the top level (a list of images)').forEach((v, i) => {
      const where = `image #${i}`;
      const im = ic.dict(v, where);
      const id = ic.int(im.image_id, `${where} image_id`);
      for (const k of ['width', 'height'] as const) ic.int(im[k], `${where} (image_id ${id}) ${k}`, 1, MAX_IMAGE_SIDE);
      ic.str(im.split, `${where} (image_id ${id}) split`);
      if (listed.has(id)) ic.fail(where, `repeats image_id ${id}`);
      listed.add(id);
      if (splits.includes(im.split as string)) images.set(id, im as PhraseCutImage);
    });
    const tasksByImage = new Map<number, PhraseCutTask[]>();
    for (const s of splits) {
      const file = join(root, `refer_${s}.json`);
      if (!existsSync(file)) throw new DatasetError(file, 'does not exist (PhraseCut data)');
      const tc = fieldChecks(file);
      tc.list(readDatasetJson(file), 'the top level (a list of tasks)').forEach((v, i) => {
        const task = checkTask(v, i, images, split, infoFile, tc);
        const list = tasksByImage.get(task.image_id);
        if (list) list.push(task);
        else tasksByImage.set(task.image_id, [task]);
      });
    }
    // The reference sorts the image ids and, per image, keeps the tasks in file order.
    const groups = [...tasksByImage.keys()].sort((a, b) => a - b).map((id) => ({ image: images.get(id)!, tasks: tasksByImage.get(id)! }));
    return new PhraseCutDataset(root, groups, options.imageRoot ?? join(root, 'images'));
  }

  /** The images (ascending id) with their tasks. */
  byImage(): PhraseCutImageGroup[] {
    return this.groups;
  }

  imagePath(image: PhraseCutImage): string {
    return join(this.imageRoot, `${image.image_id}.jpg`);
  }
}

/** A task with the fields the evaluation uses checked: its image listed, its polygons lists of [x, y] points of
 *  finite numbers within the image and a margin its size (the rasteriser walks every edge). */
function checkTask(v: unknown, i: number, images: Map<number, PhraseCutImage>, split: string, infoFile: string,
  c: ReturnType<typeof fieldChecks>): PhraseCutTask {
  const task = c.dict(v, `task #${i}`);
  const where = `task #${i} (task_id ${describeValue(task.task_id)})`;
  c.str(task.task_id, `${where} task_id`);
  const imageId = c.int(task.image_id, `${where} image_id`);
  c.str(task.phrase, `${where} phrase`);
  const image = images.get(imageId) ?? c.fail(where, `is on image ${imageId}, which ${infoFile} does not list in split ${split}`);
  const { width: w, height: h } = image;
  c.list(task.Polygons, `${where} Polygons`).forEach((instance, k) =>
    c.list(instance, `${where} Polygons[${k}]`).forEach((polygon, j) =>
      c.list(polygon, `${where} Polygons[${k}][${j}]`).forEach((point, p) => {
        const at = `${where} Polygons[${k}][${j}][${p}]`;
        const xy = c.list(point, at);
        if (xy.length !== 2) c.fail(at, `has ${xy.length} coordinates, not [x, y]`);
        c.num(xy[0], `${at} x`, -w, 2 * w);
        c.num(xy[1], `${at} y`, -h, 2 * h);
      })));
  return task as PhraseCutTask;
}

/**
 * A task's GT as the reference builds it: every polygon of every instance, points truncated to int, filled by
 * PIL's ImageDraw.polygon (Pillow 9.4, fill = outline = 1, so only the fill is drawn), then the union; polygons of
 * fewer than 2 points are skipped. Row-major H×W, 0/1.
 */
export function phraseCutGtMask(task: PhraseCutTask, width: number, height: number): Uint8Array {
  const mask = new Uint8Array(width * height);
  for (const instance of task.Polygons)
    for (const polygon of instance) {
      if (polygon.length < 2) continue;
      pilFillPolygon(mask, width, height, polygon.map(([x, y]) => [Math.trunc(x), Math.trunc(y)]));
    }
  return mask;
}

interface Edge {
  x0: number;
  y0: number;
  xmin: number;
  xmax: number;
  ymin: number;
  ymax: number;
  dx: number; // float32
}

const f32 = Math.fround;
// Pillow's rounding macros, in float arithmetic.
const roundUp = (f: number) => (f >= 0 ? Math.floor(f32(f + 0.5)) : -Math.floor(f32(Math.abs(f) + 0.5)));
const roundDown = (f: number) => (f >= 0 ? Math.ceil(f32(f - 0.5)) : -Math.ceil(f32(Math.abs(f) - 0.5)));

function makeEdge(x0: number, y0: number, x1: number, y1: number): Edge {
  return {
    x0, y0, xmin: Math.min(x0, x1), xmax: Math.max(x0, x1), ymin: Math.min(y0, y1), ymax: Math.max(y0, y1),
    dx: y0 === y1 ? 0 : f32((x1 - x0) / (y1 - y0)),
  };
}

/** Sets a clipped horizontal run x0..x1 (either order) of row y, as Pillow's hline8. */
function hline(mask: Uint8Array, w: number, h: number, x0: number, y: number, x1: number): void {
  if (y < 0 || y >= h) return;
  if (x0 > x1) [x0, x1] = [x1, x0];
  if (x0 >= w || x1 < 0) return;
  mask.fill(1, y * w + Math.max(x0, 0), y * w + Math.min(x1, w - 1) + 1);
}

/**
 * Fills an integer polygon into a mode-'L' image (value 1) exactly as Pillow 9.4's ImagingDrawPolygon with
 * fill: its edge list (merging consecutive horizontal runs), then polygon_generic's float32 scan-line, including
 * its corner handling (which writes to an intersection slot indexed by the edge number, as Pillow does).
 */
export function pilFillPolygon(mask: Uint8Array, w: number, h: number, points: Array<[number, number]>): void {
  const count = points.length;
  if (count === 0) return;
  const edges: Edge[] = [];
  let i = 0;
  for (; i < count - 1; i++) {
    const [x0, y0] = points[i], [x1, y1] = points[i + 1];
    if (y0 === y1 && i !== 0 && y0 === points[i - 1][1]) {
      const last = edges[edges.length - 1], px = points[i - 1][0];
      if (x1 > x0 && x0 > px) {
        last.xmax = x1;
        continue;
      } else if (x1 < x0 && x0 < px) {
        last.xmin = x1;
        continue;
      }
    }
    edges.push(makeEdge(x0, y0, x1, y1));
  }
  if (points[i][0] !== points[0][0] || points[i][1] !== points[0][1])
    edges.push(makeEdge(points[i][0], points[i][1], points[0][0], points[0][1]));

  let ymin = h - 1, ymax = 0;
  const table: Edge[] = [];
  for (const e of edges) {
    ymin = Math.min(ymin, e.ymin);
    ymax = Math.max(ymax, e.ymax);
    if (e.ymin === e.ymax) {
      hline(mask, w, h, e.xmin, e.ymin, e.xmax);
      continue;
    }
    table.push(e);
  }
  ymin = Math.max(ymin, 0);
  ymax = Math.min(ymax, h);
  const xAt = (e: Edge, y: number) => f32(f32(f32(y - e.y0) * e.dx) + e.x0);
  const xx = new Float32Array(table.length * 2);
  for (let y = ymin; y <= ymax; y++) {
    let j = 0;
    for (let t = 0; t < table.length; t++) {
      const cur = table[t];
      if (y < cur.ymin || y > cur.ymax) continue;
      xx[j++] = xAt(cur, y);
      if (y === cur.ymax && y < ymax) {
        xx[j] = xx[j - 1];
        j++;
      } else if (cur.dx !== 0 && Math.round(xx[j - 1]) === xx[j - 1]) {
        for (let k = 0; k < t; k++) {
          const other = table[k];
          if ((cur.dx > 0 && other.dx <= 0) || (cur.dx < 0 && other.dx >= 0)) continue;
          if (((y === cur.ymin && y === other.ymin) || (y === cur.ymax && y === other.ymax)) && xx[j - 1] === xAt(other, y)) {
            const offset = y === ymax ? -1 : 1;
            const a = xAt(cur, y + offset), b = xAt(other, y + offset);
            if (y === cur.ymax) xx[k] = cur.dx > 0 ? Math.max(a, b) + 1 : Math.min(a, b) - 1;
            else xx[k] = cur.dx > 0 ? Math.min(a, b) : Math.max(a, b) + 1;
            break;
          }
        }
      }
    }
    const row = xx.subarray(0, j).sort();
    for (let k = 1; k < j; k += 2) hline(mask, w, h, roundUp(row[k - 1]), y, roundDown(row[k]));
  }
}
