import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { rleDecode, rleFromPolygons } from '../bindings/rle.ts';
import { annotationMask } from '../src/data/gtMask.ts';
import { ReferDataset } from '../src/data/refer.ts';
import { runEval } from '../src/eval/evaluate.ts';
import { mergeRuns, type SentenceResult } from '../src/eval/store.ts';
import { writeSynthRefer } from '../src/eval/synthRefer.ts';
import { createSegmenter } from '../src/segmenter.ts';
import { standInModels, VOCAB } from './standInModels.ts';

const lines = (dir: string): SentenceResult[] =>
  readFileSync(join(dir, 'results.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));

describe.skipIf(!existsSync(VOCAB))('runEval on the synthetic REFER dataset (stand-in backbones)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hybridgl-eval-'));
    await writeSynthRefer(join(dir, 'data'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = async (out: string, extra: Partial<Parameters<typeof runEval>[0]> = {}) =>
    runEval({ data: join(dir, 'data'), dataset: 'refcoco', split: 'val', models: await createSegmenter({ models: standInModels() }), out, ...extra });

  it('writes one line per sentence whose counts a plain recount of the masks confirms', async () => {
    const out = join(dir, 'full');
    const summary = await run(out);
    const ds = ReferDataset.load(join(dir, 'data'), 'refcoco');
    const expected = ds.items('val').reduce((s, it) => s + it.ref.sentences.length, 0);
    const results = lines(out);
    expect(results.length).toBe(expected);
    expect(summary.sentences).toBe(expected);
    // Hand check: recount I and U from the stored RLEs and the ground truth, then oIoU and mIoU.
    let sumI = 0, sumU = 0, sumIoU = 0;
    for (const r of results) {
      const ref = ds.refs.find((x) => x.ref_id === r.ref_id)!;
      const gt = annotationMask(ds.annotations.get(ref.ann_id)!, ds.images.get(ref.image_id)!, { rleFromPolygons, rleDecode });
      const pred = rleDecode(r.hybrid.rle!);
      let I = 0, U = 0;
      for (let p = 0; p < gt.length; p++) {
        I += pred[p] & gt[p];
        U += pred[p] | gt[p];
      }
      expect([r.hybrid.intersection, r.hybrid.union]).toEqual([I, U]);
      sumI += I, sumU += U, sumIoU += U ? I / U : 0;
      expect(Object.keys(r.guidedByK!).length).toBe(Math.min(6, r.proposals!));
    }
    expect(summary.hybrid.oIoU).toBeCloseTo((100 * sumI) / sumU, 10);
    expect(summary.hybrid.mIoU).toBeCloseTo((100 * sumIoU) / results.length, 10);
    expect(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')).sentences).toBe(expected);
    // What ran is recorded, and that it is not the paper's configuration (stand-in models: no SAM type, no CLIP).
    for (const file of ['run.json', 'summary.json']) {
      const { configuration } = JSON.parse(readFileSync(join(out, file), 'utf8'));
      expect(configuration).toMatchObject({ samType: 'unknown', fusion: 'G2L', precision: 'fp32', paper: false });
      expect(configuration.differences[0]).toBe('SAM unknown (the paper: vit_h)');
    }
  });

  it('resumes without losing or repeating a sentence, and shards merge to the same totals', async () => {
    const full = JSON.parse(readFileSync(join(dir, 'full', 'summary.json'), 'utf8'));
    const out = join(dir, 'resumed');
    await run(out, { limitImages: 1 });
    const partial = lines(out).length;
    await expect(run(out)).rejects.toThrow(/--resume/);
    const resumed = await run(out, { resume: true });
    const all = lines(out);
    expect(partial).toBeLessThan(all.length);
    expect(new Set(all.map((r) => `${r.ref_id}/${r.sent_id}`)).size).toBe(all.length);
    expect(resumed).toEqual(full);
    const s1 = join(dir, 's1'), s2 = join(dir, 's2');
    await run(s1, { shard: { index: 1, count: 2 } });
    await run(s2, { shard: { index: 2, count: 2 } });
    expect(mergeRuns([s1, s2], join(dir, 'merged'))).toEqual(full);
  });
});
