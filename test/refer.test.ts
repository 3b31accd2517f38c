import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { rleDecode, rleEncode, rleFromPolygons } from '../bindings/rle.ts';
import { annotationMask as gtMask, combinePartMasks, decodeUncompressedRle, type GtMaskOptions } from '../src/data/gtMask.ts';
import type { CocoAnnotation, CocoImage } from '../src/data/refer.ts';
import { DatasetError } from '../src/data/datasetFiles.ts';
import { PickleError, readPickle, writePickle, type PickleWritable } from '../src/data/pickle.ts';
import { inReferSplit, REFER_DATASETS, ReferDataset } from '../src/data/refer.ts';
import { writeSynthRefer } from '../src/eval/synthRefer.ts';
import { rng } from './helpers.ts';

const root = mkdtempSync(join(tmpdir(), 'hybridgl-refer-'));
beforeAll(() => writeSynthRefer(root));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('inReferSplit (REFER.getRefIds rules)', () => {
  it('matches testA/testB by letter, test by substring, train/val exactly', () => {
    expect(inReferSplit('testA', 'testA')).toBe(true);
    expect(inReferSplit('testAB', 'testB')).toBe(true);
    expect(inReferSplit('testB', 'testA')).toBe(false);
    expect(inReferSplit('testB', 'test')).toBe(true);
    expect(inReferSplit('val', 'val')).toBe(true);
    expect(inReferSplit('valB', 'val')).toBe(false);
    expect(() => inReferSplit('val', 'validation')).toThrow(/unknown REFER split 'validation'/);
  });

  it('knows the evaluation splits per dataset', () => {
    expect(REFER_DATASETS.refcocog).toEqual({ splitBy: 'umd', splits: ['val', 'test'] });
    expect(REFER_DATASETS['refcoco+'].splits).toEqual(['val', 'testA', 'testB']);
  });
});

describe('ReferDataset on the synthetic data', () => {
  it('loads refs, instances and the reference image root', () => {
    const ds = ReferDataset.load(root, 'refcoco');
    expect(ds.splitBy).toBe('unc');
    expect(ds.refs).toHaveLength(13);
    expect(ds.categories.get(1)).toBe('circle');
    expect(ds.imageRoot).toBe(join(root, 'images', 'mscoco', 'images', 'train2014'));
    expect(ds.imagePath(ds.images.get(1000)!)).toBe(join(ds.imageRoot, 'COCO_train2014_000000001000.jpg'));
    expect(ReferDataset.load(root, 'refcoco', { imageRoot: '/imgs' }).imagePath(ds.images.get(1001)!)).toBe('/imgs/COCO_train2014_000000001001.png');
  });

  it('gives items per split in the pickle order and groups them by image', () => {
    const ds = ReferDataset.load(root, 'refcoco');
    const val = ds.items('val');
    expect(val.map((it) => it.ref.ref_id)).toEqual([0, 1, 2, 3]);
    expect(val.map((it) => it.order)).toEqual([0, 1, 2, 3]);
    expect(val[0].ref.sentences.map((s) => s.raw)).toEqual(['red circle on the left', 'the left red ball']);
    expect(val[0].annotation.id).toBe(val[0].ref.ann_id);
    const counts = ['val', 'testA', 'testB'].map((s) => ds.items(s).length);
    expect(counts.reduce((a, b) => a + b)).toBe(13);
    const groups = ds.byImage('testB');
    expect(groups.map((g) => [g.image.id, g.items.length])).toEqual([[1004, 3], [1005, 2]]);
  });

  it('names what is missing or malformed', () => {
    expect(() => ReferDataset.load(root, 'refcocog')).toThrow(/refs\(umd\)\.p: does not exist/);
    expect(() => ReferDataset.load(root, 'coco' as never)).toThrow(/unknown REFER dataset 'coco'/);
    const bad = join(root, 'bad');
    mkdirSync(join(bad, 'refcoco'), { recursive: true });
    writeFileSync(join(bad, 'refcoco', 'instances.json'), JSON.stringify({ images: [], annotations: [], categories: [] }));
    writeFileSync(join(bad, 'refcoco', 'refs(unc).p'), writePickle([{ ref_id: 1, ann_id: 2, image_id: 3, category_id: 1, split: 'val' }]));
    expect(() => ReferDataset.load(bad, 'refcoco')).toThrow(/refs\(unc\)\.p: ref #0 \(ref_id 1\) sentences is missing, not a list/);
    writeFileSync(join(bad, 'refcoco', 'refs(unc).p'), writePickle([{ ref_id: 1, ann_id: 2, image_id: 3, category_id: 1, split: 'val', sentences: [] }]));
    expect(() => ReferDataset.load(bad, 'refcoco')).toThrow(/ref #0 \(ref_id 1\) names annotation 2, not in .*instances\.json/);
    // A pickle error names the file (and stays a PickleError).
    writeFileSync(join(bad, 'refcoco', 'refs(unc).p'), Uint8Array.from([0x80, 2, 0x5d, 0x63, 0x2e]));
    const err = (() => { try { ReferDataset.load(bad, 'refcoco'); } catch (e) { return e as Error; } })();
    expect(err).toBeInstanceOf(PickleError);
    expect(err!.message).toBe(`${join(bad, 'refcoco', 'refs(unc).p')}: pickle: refused opcode GLOBAL (0x63 'c'): it would call code at byte 3`);
  });
});

describe('ReferDataset under hostile files: refused at load, naming the file, the item and the field', () => {
  type Json = Record<string, any>;
  const imageRoot = () => join(root, 'images', 'mscoco', 'images', 'train2014');
  let v = 0;
  /** A copy of the synthetic refcoco with its instances (as data or text) and refs changed. */
  const variant = (change: { instances?: (j: Json) => void; text?: (t: string) => string; refs?: (r: Json[]) => void }) => {
    const dir = join(root, 'variants', String(v++));
    mkdirSync(join(dir, 'refcoco'), { recursive: true });
    const instances = JSON.parse(readFileSync(join(root, 'refcoco', 'instances.json'), 'utf8'));
    change.instances?.(instances);
    // Python's json.dump writes float('nan') as NaN: placed here as a marker string.
    const text = JSON.stringify(instances).replaceAll('"__NaN__"', 'NaN').replaceAll('"__Infinity__"', 'Infinity');
    writeFileSync(join(dir, 'refcoco', 'instances.json'), change.text ? change.text(text) : text);
    const refs = readPickle(readFileSync(join(root, 'refcoco', 'refs(unc).p'))) as Json[];
    change.refs?.(refs);
    writeFileSync(join(dir, 'refcoco', 'refs(unc).p'), writePickle(refs as PickleWritable));
    return dir;
  };
  const load = (dir: string) => ReferDataset.load(dir, 'refcoco', { imageRoot: imageRoot() });
  const refusal = (dir: string) => {
    try {
      load(dir);
    } catch (e) {
      return e as Error;
    }
    throw new Error('loaded');
  };
  const polygonAnn = (j: Json) => j.annotations.findIndex((a: Json) => Array.isArray(a.segmentation[0]));

  it('reads NaN as Python writes it, and refuses it where a number must be finite', () => {
    const dir = variant({ instances: (j) => (j.annotations[polygonAnn(j)].segmentation[0][3] = '__NaN__') });
    const err = refusal(dir);
    expect(err).toBeInstanceOf(DatasetError);
    expect(err.message).toMatch(/instances\.json: annotations\[0\] \(id 100\) segmentation\[0\]\[3\] is NaN, not a finite number$/);
    // NaN in a field the evaluation does not use (area) is no reason to refuse the dataset.
    expect(load(variant({ instances: (j) => (j.annotations[0].area = '__NaN__') })).annotations.get(100)!.area).toBeNaN();
  });

  it('names a truncated or malformed JSON file', () => {
    const cut = refusal(variant({ text: (t) => t.slice(0, Math.floor(t.length / 2)) }));
    expect(cut.message).toMatch(/instances\.json: not valid JSON \(truncated\?\)/);
    expect(refusal(variant({ text: (t) => `{\n"images": [}\n${t}` })).message).toMatch(/instances\.json: not valid JSON: Unexpected token/);
  });

  it('refuses polygons with null or far-off coordinates, and RLEs of another size', () => {
    expect(refusal(variant({ instances: (j) => (j.annotations[0].segmentation[0][1] = null) })).message)
      .toMatch(/annotations\[0\] \(id 100\) segmentation\[0\]\[1\] is null, not a finite number/);
    expect(refusal(variant({ instances: (j) => (j.annotations[0].segmentation[0][2] = 1e30) })).message)
      .toMatch(/annotations\[0\] \(id 100\) segmentation\[0\]\[2\] is 1e\+30, outside -160\.\.320/);
    expect(refusal(variant({ instances: (j) => j.annotations[0].segmentation[0].pop() })).message)
      .toMatch(/segmentation\[0\] has \d+ coordinates, not x, y pairs/);
    const rle = (j: Json) => j.annotations.find((a: Json) => !Array.isArray(a.segmentation));
    expect(refusal(variant({ instances: (j) => (rle(j).segmentation.size = [1, 1]) })).message).toMatch(/segmentation size is \[1,1\], not the image's/);
    expect(refusal(variant({ instances: (j) => (rle(j).segmentation.counts[1] = -5) })).message).toMatch(/segmentation counts\[1\] is -5, outside 0\.\./);
  });

  it('refuses image sizes of 0 or 1e9 and ids of the wrong type', () => {
    expect(refusal(variant({ instances: (j) => (j.images[0].height = 0) })).message).toMatch(/images\[0\] \(id 1000\) height is 0, outside 1\.\.65535/);
    expect(refusal(variant({ instances: (j) => (j.images[1].width = 1e9) })).message).toMatch(/images\[1\] \(id 1001\) width is 1000000000, outside 1\.\.65535/);
    expect(refusal(variant({ instances: (j) => (j.images[0].id = '1000') })).message).toMatch(/images\[0\] id is "1000", not an integer/);
    expect(refusal(variant({ refs: (r) => (r[2].ann_id = 1.5) })).message).toMatch(/refs\(unc\)\.p: ref #2 ann_id is 1\.5, not an integer/);
    expect(refusal(variant({ refs: (r) => (r[0].sentences[1].raw = 7) })).message).toMatch(/ref #0 \(ref_id 0\) sentence #1 \(sent_id 1\) raw is 7, not a string/);
  });

  it('refuses a duplicate ref, sentence, image or annotation, and a ref whose annotation is on another image', () => {
    expect(refusal(variant({ refs: (r) => r.push({ ...r[1] }) })).message).toMatch(/refs\(unc\)\.p: ref #13 repeats ref_id 1 \(ref #1\)/);
    expect(refusal(variant({ refs: (r) => (r[0].sentences[1].sent_id = r[0].sentences[0].sent_id) })).message).toMatch(/ref #0 \(ref_id 0\) has sent_id 0 twice/);
    expect(refusal(variant({ instances: (j) => j.images.push({ ...j.images[0] }) })).message).toMatch(/instances\.json: images\[6\] repeats id 1000/);
    expect(refusal(variant({ instances: (j) => j.annotations.push({ ...j.annotations[0] }) })).message).toMatch(/annotations\[\d+\] repeats id 100/);
    expect(refusal(variant({ refs: (r) => (r[0].image_id = 1001) })).message).toMatch(/ref #0 \(ref_id 0\) is on image 1001 but its annotation 100 is on image 1000/);
  });

  it('confines image file names to the image root', () => {
    const named = (name: string) => refusal(variant({ instances: (j) => (j.images[0].file_name = name) })).message;
    expect(named('../../refcoco/instances.json')).toMatch(/images\[0\] \(id 1000\) file_name "\.\.\/\.\.\/refcoco\/instances\.json" leads out of the image root/);
    expect(named('sub/../../x.jpg')).toMatch(/leads out of the image root/);
    expect(named('/etc/passwd')).toMatch(/file_name "\/etc\/passwd" is an absolute path/);
    expect(named('C:\\x.jpg')).toMatch(/is an absolute path/);
    expect(named('')).toMatch(/is empty/);
    // A subdirectory of the root is fine.
    const ds = load(variant({ instances: (j) => (j.images[0].file_name = 'sub/x.jpg') }));
    expect(ds.imagePath(ds.images.get(1000)!)).toBe(join(imageRoot(), 'sub', 'x.jpg'));
  });

  it('fuzz: mutated instances and refs load, or are refused with a DatasetError/PickleError naming the file; what loads gives its GT', () => {
    const r = rng(Number(process.env.HYBRIDGL_FUZZ_SEED ?? 20251207));
    const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
    const hostile = [null, '__NaN__', '__Infinity__', 1e30, -1, 0, 1e9, 0.5, 'x', '../../x', [], {}, true, [1, 2], 2 ** 53];
    /** A random container and key inside v (a path to a leaf or a branch). */
    const target = (v: Json): [Json, string | number] => {
      let node: Json = v, key: string | number = pick(Object.keys(v));
      while (node[key] !== null && typeof node[key] === 'object' && Object.keys(node[key]).length > 0 && r() < 0.75) {
        node = node[key];
        key = Array.isArray(node) ? Math.floor(r() * node.length) : pick(Object.keys(node));
      }
      return [node, key];
    };
    const mutate = (v: Json) => {
      const [node, key] = target(v);
      const k = r();
      if (k < 0.7) node[key] = pick(hostile);
      else if (k < 0.85 && !Array.isArray(node)) delete node[key];
      else if (Array.isArray(node)) node.push(structuredClone(node[Math.floor(r() * node.length)]));
    };
    const outcomes = { loaded: 0, refused: 0 };
    for (let i = 0; i < 120; i++) {
      const which = r();
      const dir = variant(which < 0.45 ? { instances: mutate } : which < 0.9 ? { refs: (refs) => mutate(refs as unknown as Json) }
        : { text: (t) => t.slice(0, Math.floor(r() * t.length)) });
      let ds: ReferDataset;
      try {
        ds = load(dir);
      } catch (e) {
        if (!(e instanceof DatasetError || e instanceof PickleError)) throw e;
        expect(e.message).toMatch(/instances\.json: |refs\(unc\)\.p: /);
        outcomes.refused++;
        continue;
      }
      for (const split of ['val', 'testA', 'testB'])
        for (const it of ds.items(split)) {
          const m = gtMask(it.annotation, it.image, { rleFromPolygons, rleDecode });
          expect(m.length).toBe(it.image.width * it.image.height);
          expect(ds.imagePath(it.image).startsWith(imageRoot())).toBe(true);
        }
      outcomes.loaded++;
    }
    expect(outcomes.refused).toBeGreaterThan(30);
    expect(outcomes.loaded).toBeGreaterThan(5);
  });
});

describe('GT mask helpers', () => {
  it('decodes an uncompressed RLE column-major into a row-major mask', () => {
    // 2×3, column-major pixels: (0,0)=0, (1,0)=1, (0,1)=1, then zeros.
    expect(Array.from(decodeUncompressedRle({ size: [2, 3], counts: [1, 2, 3] }))).toEqual([0, 1, 0, 1, 0, 0]);
    expect(() => decodeUncompressedRle({ size: [2, 3], counts: [1, 2] })).toThrow(/cover 3 pixels, not 2×3/);
    expect(() => decodeUncompressedRle({ size: [2, 3], counts: [1, 9] })).toThrow(/more than 2×3/);
  });

  it('drops pixels two parts share (QUIRK gt-overlap), or takes the union', () => {
    const a = Uint8Array.from([1, 1, 0, 0]), b = Uint8Array.from([0, 1, 1, 0]);
    expect(Array.from(combinePartMasks([a, b], 4))).toEqual([1, 0, 1, 0]);
    expect(Array.from(combinePartMasks([a, b], 4, false))).toEqual([1, 1, 1, 0]);
    // The uint8 sum wraps as numpy's astype(uint8): 257 parts on a pixel sum to 1.
    const many = Array.from({ length: 257 }, () => Uint8Array.from([1]));
    expect(Array.from(combinePartMasks(many, 1))).toEqual([1]);
  });
});

describe('annotationMask (REFER.getMask + gt-overlap) on the synthetic data', () => {
  const annotationMask = (ann: CocoAnnotation, image: CocoImage, options?: GtMaskOptions) =>
    gtMask(ann, image, { rleFromPolygons, rleDecode }, options);

  it('decodes the RLE annotation to the drawn shape', () => {
    const ds = ReferDataset.load(root, 'refcoco');
    const ann = [...ds.annotations.values()].find((a) => !Array.isArray(a.segmentation))!;
    const image = ds.images.get(ann.image_id)!;
    const m = annotationMask(ann, image);
    expect(m.reduce((a, v) => a + v, 0)).toBe(ann.area);
    expect(Array.from(m)).toEqual(Array.from(decodeUncompressedRle(ann.segmentation as never)));
  });

  it('rasterises polygons close to the drawn shapes, and drops the cross\'s shared centre (QUIRK gt-overlap)', () => {
    const ds = ReferDataset.load(root, 'refcoco');
    for (const ann of ds.annotations.values()) {
      if (!Array.isArray(ann.segmentation)) continue;
      const image = ds.images.get(ann.image_id)!;
      const quirk = annotationMask(ann, image), union = annotationMask(ann, image, { gtOverlap: false });
      const count = (m: Uint8Array) => m.reduce((a, v) => a + v, 0);
      // frPoly and the synthetic drawing (pixel centres) differ only along the outline.
      expect(Math.abs(count(union) - ann.area!) / ann.area!).toBeLessThan(0.12);
      if ((ann.segmentation as number[][]).length === 2) {
        const at = (m: Uint8Array, x: number, y: number) => m[y * image.width + x];
        expect([at(quirk, 50, 60), at(union, 50, 60)]).toEqual([0, 1]); // the centre both bars cover
        expect([at(quirk, 30, 60), at(union, 30, 60)]).toEqual([1, 1]); // an arm
        expect(count(union) - count(quirk)).toBeGreaterThan(200); // about (2·26/3)² pixels
      } else expect(Buffer.from(quirk).equals(Buffer.from(union))).toBe(true);
    }
  });

  it('decodes compressed and lists of RLEs, applying the rule across parts', () => {
    const image = { id: 1, file_name: 'x.jpg', height: 3, width: 4 };
    const a = Uint8Array.from([1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0]);
    const b = Uint8Array.from([0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0]);
    const ann = (segmentation: unknown) => ({ id: 9, image_id: 1, category_id: 1, bbox: [0, 0, 1, 1], segmentation }) as never;
    expect(Array.from(annotationMask(ann(rleEncode(a, 3, 4)), image))).toEqual(Array.from(a));
    const both = ann([rleEncode(a, 3, 4), rleEncode(b, 3, 4)]);
    expect(Array.from(annotationMask(both, image))).toEqual([1, 0, 1, 0, 1, 0, 1, 0, 0, 0, 0, 0]);
    expect(Array.from(annotationMask(both, image, { gtOverlap: false }))).toEqual([1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 0, 0]);
    expect(() => annotationMask(ann(rleEncode(a, 4, 3)), image)).toThrow(/RLE size 4,3 differs from the image's 3×4/);
    expect(() => annotationMask(ann([]), image)).toThrow(/empty segmentation/);
  });
});
