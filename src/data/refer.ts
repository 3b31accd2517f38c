// Spec §0: the REFER dataset layout (refs(<splitBy>).p + instances.json), its splits, items and grouping by image.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { confinedImagePath, DatasetError, fieldChecks, MAX_IMAGE_SIDE, readDatasetJson } from './datasetFiles.ts';
import { PickleError, readPickle, type PickleValue } from './pickle.ts';

export interface ReferSentence {
  sent_id: number;
  raw: string;
  sent: string;
  tokens: string[];
}

export interface ReferRef {
  ref_id: number;
  ann_id: number;
  image_id: number;
  category_id: number;
  /** 'train', 'val', 'testA', 'testB', 'test', … as stored. */
  split: string;
  sentences: ReferSentence[];
  sent_ids: number[];
  file_name?: string;
}

export interface CocoImage {
  id: number;
  file_name: string;
  height: number;
  width: number;
}

/** A COCO RLE: `counts` compressed (string) or uncompressed (run lengths, column-major, starting with zeros). */
export interface CocoRle {
  size: [number, number];
  counts: string | number[];
}

export interface CocoAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  /** polygons [x0, y0, x1, y1, …] (refcoco*), or an RLE, or a list of RLEs. */
  segmentation: number[][] | CocoRle | CocoRle[];
  bbox: [number, number, number, number];
  area?: number;
  iscrowd?: number;
}

export type ReferDatasetName = 'refcoco' | 'refcoco+' | 'refcocog' | 'refclef';

/** The splitBy and evaluation splits the reference uses per dataset. */
export const REFER_DATASETS: Record<Exclude<ReferDatasetName, 'refclef'>, { splitBy: string; splits: string[] }> = {
  refcoco: { splitBy: 'unc', splits: ['val', 'testA', 'testB'] },
  'refcoco+': { splitBy: 'unc', splits: ['val', 'testA', 'testB'] },
  refcocog: { splitBy: 'umd', splits: ['val', 'test'] },
};

/** One evaluation item: one ref with its sentences, its image and its annotation. */
export interface ReferItem {
  ref: ReferRef;
  image: CocoImage;
  annotation: CocoAnnotation;
  /** position of the ref in the split, in the reference's order (the refs pickle's order). */
  order: number;
}

export interface ReferImageGroup {
  image: CocoImage;
  items: ReferItem[];
}

export interface LoadReferOptions {
  /** default: unc, or umd for refcocog (google also exists for refcocog). */
  splitBy?: string;
  /** where the images are; default as the reference: <dataRoot>/images/mscoco/images/train2014
   *  (<dataRoot>/images/saiapr_tc-12 for refclef). */
  imageRoot?: string;
}

/** Whether a ref's stored split belongs to the requested split, by the reference's rules (REFER.getRefIds). */
export function inReferSplit(refSplit: string, split: string): boolean {
  if (split === 'testA' || split === 'testB' || split === 'testC') return refSplit.includes(split[split.length - 1]);
  if (split === 'testAB' || split === 'testBC' || split === 'testAC' || split === 'train' || split === 'val')
    return refSplit === split;
  if (split === 'test') return refSplit.includes('test');
  throw new RangeError(`unknown REFER split '${split}' (train, val, test, testA, testB, testC, testAB, testBC, testAC)`);
}

type Checks = ReturnType<typeof fieldChecks>;

function checkRef(r: unknown, i: number, c: Checks): ReferRef {
  const where = `ref #${i}`;
  const ref = c.dict(r, where);
  for (const k of ['ref_id', 'ann_id', 'image_id', 'category_id'] as const) c.int(ref[k], `${where} ${k}`);
  const named = `${where} (ref_id ${ref.ref_id})`;
  c.str(ref.split, `${named} split`);
  const seen = new Set<number>();
  c.list(ref.sentences, `${named} sentences`).forEach((s, j) => {
    const sentence = c.dict(s, `${named} sentence #${j}`);
    const id = c.int(sentence.sent_id, `${named} sentence #${j} sent_id`);
    c.str(sentence.raw, `${named} sentence #${j} (sent_id ${id}) raw`);
    if (seen.has(id)) c.fail(named, `has sent_id ${id} twice`);
    seen.add(id);
  });
  return ref as unknown as ReferRef;
}

function checkImage(v: unknown, i: number, c: Checks): CocoImage {
  const where = `images[${i}]`;
  const im = c.dict(v, where);
  const id = c.int(im.id, `${where} id`);
  c.str(im.file_name, `${where} (id ${id}) file_name`);
  for (const k of ['height', 'width'] as const) c.int(im[k], `${where} (id ${id}) ${k}`, 1, MAX_IMAGE_SIDE);
  return im as unknown as CocoImage;
}

/** An annotation's segmentation, checked against its image: polygons of finite coordinates within the image and a
 *  margin its size (the GT rasteriser walks every edge), or RLEs of the image's size. */
function checkAnnotation(v: unknown, i: number, images: Map<number, CocoImage>, c: Checks): CocoAnnotation {
  const at = `annotations[${i}]`;
  const ann = c.dict(v, at);
  const where = `${at} (id ${c.int(ann.id, `${at} id`)})`;
  const image = images.get(c.int(ann.image_id, `${where} image_id`));
  c.int(ann.category_id, `${where} category_id`);
  const seg = ann.segmentation;
  const parts = c.list(Array.isArray(seg) ? seg : [c.dict(seg, `${where} segmentation`)], `${where} segmentation`);
  if (parts.length === 0) c.fail(`${where} segmentation`, 'is empty');
  if (parts.some((p) => Array.isArray(p) !== Array.isArray(parts[0])))
    c.fail(`${where} segmentation`, 'mixes polygons and RLEs');
  if (!image) return ann as unknown as CocoAnnotation; // refused by the refs that name it, if any do
  const { width: w, height: h } = image;
  parts.forEach((part, k) => {
    const pw = Array.isArray(seg) ? `${where} segmentation[${k}]` : `${where} segmentation`;
    if (Array.isArray(part)) {
      if (part.length % 2) c.fail(pw, `has ${part.length} coordinates, not x, y pairs`);
      part.forEach((x, j) => c.num(x, `${pw}[${j}]`, j % 2 ? -h : -w, j % 2 ? 2 * h : 2 * w));
      return;
    }
    const rle = c.dict(part, pw);
    const size = c.list(rle.size, `${pw} size`);
    if (size.length !== 2 || size[0] !== h || size[1] !== w)
      c.fail(`${pw} size`, `is ${JSON.stringify(size)}, not the image's [${h}, ${w}]`);
    if (typeof rle.counts === 'string') {
      if (!/^[0-o]*$/.test(rle.counts)) c.fail(`${pw} counts`, 'is not a compressed COCO RLE string');
    } else c.list(rle.counts, `${pw} counts`).forEach((n, j) => c.int(n, `${pw} counts[${j}]`, 0, h * w));
  });
  return ann as unknown as CocoAnnotation;
}

/** Every item of a list checked, refusing the same id twice. */
function uniqueById<T extends { id: number }>(items: unknown[], check: (v: unknown, i: number) => T, what: string,
  c: Checks): Map<number, T> {
  const byId = new Map<number, T>();
  items.forEach((v, i) => {
    const item = check(v, i);
    if (byId.has(item.id)) c.fail(`${what}[${i}]`, `repeats id ${item.id}`);
    byId.set(item.id, item);
  });
  return byId;
}

export class ReferDataset {
  readonly refs: ReferRef[];
  readonly images: Map<number, CocoImage>;
  readonly annotations: Map<number, CocoAnnotation>;
  readonly categories: Map<number, string>;
  readonly imageRoot: string;

  private constructor(
    readonly dataRoot: string,
    readonly dataset: ReferDatasetName,
    readonly splitBy: string,
    refs: ReferRef[],
    instances: { images: Map<number, CocoImage>; annotations: Map<number, CocoAnnotation>; categories: Map<number, string> },
    imageRoot: string,
  ) {
    this.refs = refs;
    this.images = instances.images;
    this.annotations = instances.annotations;
    this.categories = instances.categories;
    this.imageRoot = imageRoot;
  }

  /** Reads <dataRoot>/<dataset>/refs(<splitBy>).p and instances.json; every field the evaluation uses is checked
   *  here (a DatasetError names the file, the item and the field), before any work starts. */
  static load(dataRoot: string, dataset: ReferDatasetName, options: LoadReferOptions = {}): ReferDataset {
    if (!['refcoco', 'refcoco+', 'refcocog', 'refclef'].includes(dataset))
      throw new RangeError(`unknown REFER dataset '${dataset}' (refcoco, refcoco+, refcocog, refclef)`);
    const splitBy = options.splitBy ?? (dataset === 'refcocog' ? 'umd' : 'unc');
    const dir = join(dataRoot, dataset);
    const refsFile = join(dir, `refs(${splitBy}).p`);
    const instancesFile = join(dir, 'instances.json');
    for (const f of [refsFile, instancesFile]) if (!existsSync(f)) throw new DatasetError(f, 'does not exist (REFER data)');
    let raw: PickleValue;
    try {
      raw = readPickle(readFileSync(refsFile));
    } catch (err) {
      if (err instanceof PickleError) err.message = `${refsFile}: ${err.message}`;
      else if ((err as NodeJS.ErrnoException).code) throw new DatasetError(refsFile, `cannot be read (${(err as NodeJS.ErrnoException).code})`);
      throw err;
    }
    const rc = fieldChecks(refsFile);
    const refs = rc.list(raw, 'the top level (a list of refs)').map((r, i) => checkRef(r, i, rc));
    const refIds = new Map<number, number>();
    refs.forEach((r, i) => {
      if (refIds.has(r.ref_id)) rc.fail(`ref #${i}`, `repeats ref_id ${r.ref_id} (ref #${refIds.get(r.ref_id)})`);
      refIds.set(r.ref_id, i);
    });

    const ic = fieldChecks(instancesFile);
    const instances = ic.dict(readDatasetJson(instancesFile), 'the top level');
    const images = uniqueById(ic.list(instances.images, "'images'"), (v, i) => checkImage(v, i, ic), 'images', ic);
    const annotations = uniqueById(ic.list(instances.annotations, "'annotations'"),
      (v, i) => checkAnnotation(v, i, images, ic), 'annotations', ic);
    const categories = new Map<number, string>();
    ic.list(instances.categories, "'categories'").forEach((v, i) => {
      const cat = ic.dict(v, `categories[${i}]`);
      categories.set(ic.int(cat.id, `categories[${i}] id`), ic.str(cat.name, `categories[${i}] name`));
    });
    const imageRoot = options.imageRoot ??
      join(dataRoot, 'images', ...(dataset === 'refclef' ? ['saiapr_tc-12'] : ['mscoco', 'images', 'train2014']));
    refs.forEach((r, i) => {
      const named = `ref #${i} (ref_id ${r.ref_id})`;
      const ann = annotations.get(r.ann_id);
      if (!ann) rc.fail(named, `names annotation ${r.ann_id}, not in ${instancesFile}`);
      if (!images.has(r.image_id)) rc.fail(named, `names image ${r.image_id}, not in ${instancesFile}`);
      // The GT is drawn at the ref's image size: an annotation of another image would give a wrong number.
      if (ann!.image_id !== r.image_id) rc.fail(named, `is on image ${r.image_id} but its annotation ${r.ann_id} is on image ${ann!.image_id}`);
    });
    for (const [i, im] of [...images.values()].entries()) confinedImagePath(imageRoot, im.file_name, instancesFile, `images[${i}] (id ${im.id})`);
    return new ReferDataset(dataRoot, dataset, splitBy, refs, { images, annotations, categories }, imageRoot);
  }

  /** The refs of a split in the reference's order. */
  refsOf(split: string): ReferRef[] {
    return this.refs.filter((r) => inReferSplit(r.split, split));
  }

  /** The split's items (refs with at least one sentence), in the reference's order. */
  items(split: string): ReferItem[] {
    return this.refsOf(split).flatMap((ref, order) =>
      ref.sentences.length === 0 ? [] : [{ ref, order, image: this.images.get(ref.image_id)!, annotation: this.annotations.get(ref.ann_id)! }]);
  }

  /** The split's items grouped by image (images in order of first appearance), so that SAM runs once per image. */
  byImage(split: string): ReferImageGroup[] {
    const groups = new Map<number, ReferImageGroup>();
    for (const item of this.items(split)) {
      const g = groups.get(item.image.id) ?? { image: item.image, items: [] };
      g.items.push(item);
      groups.set(item.image.id, g);
    }
    return [...groups.values()];
  }

  /** The image's file, confined to the image root (checked at load for every image of the dataset). */
  imagePath(image: CocoImage): string {
    return confinedImagePath(this.imageRoot, image.file_name, join(this.dataRoot, this.dataset, 'instances.json'), `image ${image.id}`);
  }
}
