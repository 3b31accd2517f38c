import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { rleDecode, rleEncode, rleFromPolygons } from '../bindings/rle.ts';
import { annotationMask as gtMask, combinePartMasks, decodeUncompressedRle, type GtMaskOptions } from '../src/data/gtMask.ts';
import type { CocoAnnotation, CocoImage } from '../src/data/refer.ts';
import { PickleError, writePickle } from '../src/data/pickle.ts';
import { inReferSplit, REFER_DATASETS, ReferDataset } from '../src/data/refer.ts';
import { writeSynthRefer } from '../src/eval/synthRefer.ts';

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
