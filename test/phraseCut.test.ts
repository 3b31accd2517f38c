import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { PhraseCutDataset, phraseCutGtMask, type PhraseCutTask } from '../src/data/phraseCut.ts';

const golden = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'phrasecut', 'pil_polygons.json'), 'utf8')) as {
  cases: Array<{ width: number; height: number; polygons: number[][][]; mask: string }>;
};

function unpackBits(b64: string, n: number): Uint8Array {
  const bytes = Buffer.from(b64, 'base64');
  const out = new Uint8Array(n);
  for (let p = 0; p < n; p++) out[p] = (bytes[p >> 3] >> (7 - (p & 7))) & 1;
  return out;
}

const task = (image_id: number, phrase: string, Polygons: number[][][][], extra = {}): PhraseCutTask =>
  ({ task_id: `${image_id}__${phrase}`, image_id, phrase, instance_boxes: Polygons.map(() => [0, 0, 1, 1]), Polygons, ...extra });

describe('phraseCutGtMask', () => {
  it(`matches PIL's polygon fill and the reference's union on ${golden.cases.length} random cases`, () => {
    let mismatched = 0;
    for (const c of golden.cases) {
      // One instance per polygon here; the GT is the union either way.
      const got = phraseCutGtMask(task(1, 'x', c.polygons.map((p) => [p])), c.width, c.height);
      const want = unpackBits(c.mask, c.width * c.height);
      if (!Buffer.from(got).equals(Buffer.from(want))) mismatched++;
    }
    expect(mismatched).toBe(0);
  });

  it('fills a hand-checked square including its edges', () => {
    const m = phraseCutGtMask(task(1, 'x', [[[[1, 1], [3, 1], [3, 2.9], [1, 2.9]]]]), 5, 4);
    // int() truncation: y 2.9 → 2; PIL fills rows 1..2, columns 1..3.
    expect(Array.from(m)).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0]);
  });
});

describe('PhraseCutDataset', () => {
  const root = mkdtempSync(join(tmpdir(), 'hybridgl-phrasecut-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  writeFileSync(join(root, 'image_data_split.json'), JSON.stringify([
    { image_id: 30, width: 10, height: 8, split: 'test' },
    { image_id: 7, width: 12, height: 9, split: 'test' },
    { image_id: 5, width: 12, height: 9, split: 'val' },
  ]));
  writeFileSync(join(root, 'refer_test.json'), JSON.stringify([
    task(30, 'red car', [[[[0, 0], [4, 0], [4, 4]]]]),
    task(7, 'two dogs', [[[[0, 0], [2, 0], [2, 2]]], [[[5, 5], [8, 5], [8, 8]]]]),
    task(30, 'sky', [[[[1, 1], [3, 1], [3, 3]]]]),
  ]));
  writeFileSync(join(root, 'refer_val.json'), JSON.stringify([task(5, 'tree', [[[[0, 0], [1, 0], [1, 1]]]])]));

  it('groups tasks by image, images sorted by id, tasks in file order', () => {
    const ds = PhraseCutDataset.load(root, 'test');
    expect(ds.byImage().map((g) => [g.image.image_id, g.tasks.map((t) => t.phrase)])).toEqual([
      [7, ['two dogs']],
      [30, ['red car', 'sky']],
    ]);
    expect(ds.imagePath(ds.byImage()[0].image)).toBe(join(root, 'images', '7.jpg'));
    expect(PhraseCutDataset.load(root, 'val_test').byImage().map((g) => g.image.image_id)).toEqual([5, 7, 30]);
  });

  it('names missing files and images', () => {
    expect(() => PhraseCutDataset.load(root, 'train')).toThrow(/refer_train\.json: does not exist/);
    writeFileSync(join(root, 'refer_miniv.json'), JSON.stringify([task(99, 'x', [])]));
    expect(() => PhraseCutDataset.load(root, 'miniv')).toThrow(/refer_miniv\.json: task #0 \(task_id "99__x"\) is on image 99, which .*image_data_split\.json does not list in split miniv/);
  });
});
