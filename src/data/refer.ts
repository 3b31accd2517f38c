// Spec §0: the REFER dataset layout (refs(<splitBy>).p + instances.json), its splits, items and grouping by image.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

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

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function checkRef(r: unknown, i: number, file: string): ReferRef {
  const ref = r as ReferRef;
  const bad = (what: string) => new Error(`${file}: ref #${i} ${what}`);
  if (typeof ref !== 'object' || ref === null || Array.isArray(ref)) throw bad('is not a dict');
  for (const k of ['ref_id', 'ann_id', 'image_id', 'category_id'] as const) if (!isNum(ref[k])) throw bad(`has no integer ${k}`);
  if (typeof ref.split !== 'string') throw bad('has no split');
  if (!Array.isArray(ref.sentences)) throw bad('has no sentences list');
  ref.sentences.forEach((s, j) => {
    if (typeof s !== 'object' || s === null || !isNum(s.sent_id) || typeof s.raw !== 'string')
      throw bad(`sentence #${j} needs sent_id and raw`);
  });
  return ref;
}

export class ReferDataset {
  readonly refs: ReferRef[];
  readonly images = new Map<number, CocoImage>();
  readonly annotations = new Map<number, CocoAnnotation>();
  readonly categories = new Map<number, string>();
  readonly imageRoot: string;

  private constructor(
    readonly dataRoot: string,
    readonly dataset: ReferDatasetName,
    readonly splitBy: string,
    refs: ReferRef[],
    instances: { images: CocoImage[]; annotations: CocoAnnotation[]; categories: Array<{ id: number; name: string }> },
    imageRoot: string,
  ) {
    this.refs = refs;
    for (const im of instances.images) this.images.set(im.id, im);
    for (const a of instances.annotations) this.annotations.set(a.id, a);
    for (const c of instances.categories) this.categories.set(c.id, c.name);
    this.imageRoot = imageRoot;
    for (const r of refs) {
      if (!this.annotations.has(r.ann_id)) throw new Error(`${dataset}: ref ${r.ref_id} names annotation ${r.ann_id}, not in instances.json`);
      if (!this.images.has(r.image_id)) throw new Error(`${dataset}: ref ${r.ref_id} names image ${r.image_id}, not in instances.json`);
    }
  }

  /** Reads <dataRoot>/<dataset>/refs(<splitBy>).p and instances.json. */
  static load(dataRoot: string, dataset: ReferDatasetName, options: LoadReferOptions = {}): ReferDataset {
    if (!['refcoco', 'refcoco+', 'refcocog', 'refclef'].includes(dataset))
      throw new RangeError(`unknown REFER dataset '${dataset}' (refcoco, refcoco+, refcocog, refclef)`);
    const splitBy = options.splitBy ?? (dataset === 'refcocog' ? 'umd' : 'unc');
    const dir = join(dataRoot, dataset);
    const refsFile = join(dir, `refs(${splitBy}).p`);
    const instancesFile = join(dir, 'instances.json');
    for (const f of [refsFile, instancesFile]) if (!existsSync(f)) throw new Error(`REFER data: ${f} does not exist`);
    let raw: PickleValue;
    try {
      raw = readPickle(readFileSync(refsFile));
    } catch (err) {
      if (err instanceof PickleError) err.message = `${refsFile}: ${err.message}`;
      throw err;
    }
    if (!Array.isArray(raw)) throw new Error(`${refsFile}: expected a list of refs`);
    const refs = raw.map((r, i) => checkRef(r, i, refsFile));
    const instances = JSON.parse(readFileSync(instancesFile, 'utf8'));
    for (const k of ['images', 'annotations', 'categories'])
      if (!Array.isArray(instances?.[k])) throw new Error(`${instancesFile}: no '${k}' list`);
    const imageRoot = options.imageRoot ??
      join(dataRoot, 'images', ...(dataset === 'refclef' ? ['saiapr_tc-12'] : ['mscoco', 'images', 'train2014']));
    return new ReferDataset(dataRoot, dataset, splitBy, refs, instances, imageRoot);
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

  imagePath(image: CocoImage): string {
    return join(this.imageRoot, image.file_name);
  }
}
