import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { DatasetError } from '../src/data/datasetFiles.ts';
import { PhraseCutDataset, phraseCutGtMask, type PhraseCutTask } from '../src/data/phraseCut.ts';
import { rng } from './helpers.ts';

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

describe('PhraseCutDataset under hostile files: refused at load, naming the file, the item and the field', () => {
  type Json = Record<string, any>;
  const root = mkdtempSync(join(tmpdir(), 'hybridgl-phrasecut-hostile-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const images = () => [
    { image_id: 30, width: 10, height: 8, split: 'test' },
    { image_id: 7, width: 12, height: 9, split: 'test' },
  ];
  const tasks = () => [
    task(30, 'red car', [[[[0, 0], [4, 0], [4, 4]]]]),
    task(7, 'two dogs', [[[[0, 0], [2, 0], [2, 2]]], [[[5, 5], [8, 5], [8, 8]]]]),
    task(30, 'sky', [[[[1, 1], [3, 1], [3, 3]]]]),
  ] as unknown as Json[];
  let n = 0;
  const variant = (change: { images?: (v: Json[]) => void; tasks?: (v: Json[]) => void; text?: (t: string) => string }) => {
    const dir = join(root, String(n++));
    mkdirSync(dir);
    const im = images() as Json[], ts = tasks();
    change.images?.(im);
    change.tasks?.(ts);
    const py = (v: unknown) => JSON.stringify(v).replaceAll('"__NaN__"', 'NaN').replaceAll('"__-Infinity__"', '-Infinity');
    writeFileSync(join(dir, 'image_data_split.json'), py(im));
    writeFileSync(join(dir, 'refer_test.json'), change.text ? change.text(py(ts)) : py(ts));
    return dir;
  };
  const refusal = (dir: string) => {
    try {
      PhraseCutDataset.load(dir, 'test');
    } catch (e) {
      return e as Error;
    }
    throw new Error('loaded');
  };

  it('refuses fields of the wrong type, naming the task', () => {
    const err = refusal(variant({ tasks: (t) => (t[1].phrase = 42) }));
    expect(err).toBeInstanceOf(DatasetError);
    expect(err.message).toMatch(/refer_test\.json: task #1 \(task_id "7__two dogs"\) phrase is 42, not a string$/);
    expect(refusal(variant({ tasks: (t) => (t[0].Polygons = 'none') })).message).toMatch(/task #0 \(task_id "30__red car"\) Polygons is "none", not a list/);
    expect(refusal(variant({ tasks: (t) => (t[0].Polygons[0][0][1] = [3]) })).message).toMatch(/Polygons\[0\]\[0\]\[1\] has 1 coordinates, not \[x, y\]/);
    expect(refusal(variant({ tasks: (t) => (t[2].image_id = '30') })).message).toMatch(/task #2 \(task_id "30__sky"\) image_id is "30", not an integer/);
    expect(refusal(variant({ tasks: (t) => (t[2].task_id = null) })).message).toMatch(/task #2 \(task_id null\) task_id is null, not a string/);
    expect(refusal(variant({ images: (i) => (i[0].split = 3) })).message).toMatch(/image_data_split\.json: image #0 \(image_id 30\) split is 3, not a string/);
  });

  it('refuses NaN (as Python writes it), far-off points and image sizes 0 or 1e9', () => {
    expect(refusal(variant({ tasks: (t) => (t[0].Polygons[0][0][2][0] = '__NaN__') })).message).toMatch(/task #0 .*Polygons\[0\]\[0\]\[2\] x is NaN, not a finite number/);
    expect(refusal(variant({ tasks: (t) => (t[1].Polygons[1][0][0][1] = 1e30) })).message).toMatch(/task #1 .*Polygons\[1\]\[0\]\[0\] y is 1e\+30, outside -9\.\.18/);
    expect(refusal(variant({ images: (i) => (i[1].width = 0) })).message).toMatch(/image #1 \(image_id 7\) width is 0, outside 1\.\.65535/);
    expect(refusal(variant({ images: (i) => (i[0].height = 1e9) })).message).toMatch(/image #0 \(image_id 30\) height is 1000000000, outside/);
    expect(refusal(variant({ images: (i) => i.push({ ...i[0] }) })).message).toMatch(/image #2 repeats image_id 30/);
    expect(refusal(variant({ text: (t) => t.slice(0, 40) })).message).toMatch(/refer_test\.json: not valid JSON \(truncated\?\)/);
  });

  it('fuzz: mutated files load or are refused with a DatasetError naming the file; what loads gives its GT masks', () => {
    const r = rng(Number(process.env.HYBRIDGL_FUZZ_SEED ?? 20251207));
    const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
    const hostile = [null, '__NaN__', '__-Infinity__', 1e30, -1, 0, 1e9, 0.5, '', ' ', [], {}, true, [1], [[1, 2]], 2 ** 53];
    const mutate = (v: Json) => {
      let node: Json = v, key: string | number = Math.floor(r() * (v as unknown[]).length);
      while (node[key] !== null && typeof node[key] === 'object' && Object.keys(node[key]).length > 0 && r() < 0.8) {
        node = node[key];
        key = Array.isArray(node) ? Math.floor(r() * node.length) : pick(Object.keys(node));
      }
      if (r() < 0.8) node[key] = pick(hostile);
      else if (!Array.isArray(node)) delete node[key];
    };
    const outcomes = { loaded: 0, refused: 0 };
    for (let i = 0; i < 150; i++) {
      const k = r();
      const dir = variant(k < 0.3 ? { images: mutate } : k < 0.9 ? { tasks: mutate } : { text: (t) => t.slice(0, Math.floor(r() * t.length)) });
      let ds: PhraseCutDataset;
      try {
        ds = PhraseCutDataset.load(dir, 'test');
      } catch (e) {
        if (!(e instanceof DatasetError)) throw e;
        expect(e.message).toMatch(/(image_data_split|refer_test)\.json: /);
        outcomes.refused++;
        continue;
      }
      for (const { image, tasks: ts } of ds.byImage())
        for (const t of ts) expect(phraseCutGtMask(t, image.width, image.height).length).toBe(image.width * image.height);
      outcomes.loaded++;
    }
    expect(outcomes.refused).toBeGreaterThan(30);
    expect(outcomes.loaded).toBeGreaterThan(5);
  });
});
