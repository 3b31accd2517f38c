import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { rleDecode, rleFromPolygons } from '../bindings/rle.ts';
import { annotationMask } from '../src/data/gtMask.ts';
import { readPickle, writePickle, type PickleWritable } from '../src/data/pickle.ts';
import { ReferDataset } from '../src/data/refer.ts';
import { modelSettings, runEval } from '../src/eval/evaluate.ts';
import type { Manifest } from '../src/models/loadModels.ts';
import { mergeRuns, type SentenceResult } from '../src/eval/store.ts';
import { writeSynthRefer } from '../src/eval/synthRefer.ts';
import { createSegmenter, SegmentError } from '../src/segmenter.ts';
import { runHybridgl } from './runProcess.ts';
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

  /** A copy of the synthetic data with its instances and refs changed. */
  const changed = (name: string, change: { instances?: (j: Record<string, any>) => void; refs?: (r: Record<string, any>[]) => void }) => {
    const data = join(dir, name);
    cpSync(join(dir, 'data'), data, { recursive: true });
    const inst = join(data, 'refcoco', 'instances.json'), refsFile = join(data, 'refcoco', 'refs(unc).p');
    const j = JSON.parse(readFileSync(inst, 'utf8'));
    change.instances?.(j);
    writeFileSync(inst, JSON.stringify(j));
    const refs = readPickle(readFileSync(refsFile)) as Record<string, any>[];
    change.refs?.(refs);
    writeFileSync(refsFile, writePickle(refs as PickleWritable));
    return data;
  };

  it('refuses an image whose decoded size differs from instances.json, naming it (it gave a wrong oIoU)', async () => {
    // Width and height swapped: the same pixel count, so the old loop scored masks against a GT of another shape.
    const data = changed('resized', { instances: (j) => Object.assign(j.images[0], { width: 120, height: 160 }) });
    const err = await run(join(dir, 'resized-run'), { data }).then(() => null, (e: Error) => e);
    expect(err).toBeInstanceOf(SegmentError);
    expect((err as SegmentError).kind).toBe('badInput');
    expect(err!.message).toMatch(/COCO_train2014_000000001000\.jpg is 160×120 but .*instances\.json \(image 1000\) lists 120×160/);
  });

  it('records a blank sentence as skipped with its reason and goes on; resume keeps it skipped', async () => {
    const data = changed('blank', { refs: (r) => (r[1].sentences[0].raw = ' \u200b ') });
    const out = join(dir, 'blank-run');
    const full = JSON.parse(readFileSync(join(dir, 'full', 'summary.json'), 'utf8'));
    const summary = await run(out, { data });
    const sentId = (readPickle(readFileSync(join(data, 'refcoco', 'refs(unc).p'))) as Record<string, any>[])[1].sentences[0].sent_id;
    expect(summary.sentences).toBe(full.sentences - 1);
    expect(summary.skipped).toBe(1);
    expect(summary.skippedSentences).toEqual([{ ref_id: 1, sent_id: sentId, reason: 'blank (nothing visible in the sentence)' }]);
    expect(summary.complete).toBe(true);
    const skippedLine = lines(out).find((l) => l.skipped);
    expect(skippedLine).toMatchObject({ ref_id: 1, sent_id: sentId, skipped: 'blank (nothing visible in the sentence)' });
    expect(lines(out).length).toBe(full.sentences);
    expect(await run(out, { data, resume: true })).toEqual(summary);
  });

  it('refuses unusable dataset files as bad input naming the file (exit 3 on the command line, no stack)', async () => {
    const data = changed('nan', { instances: (j) => (j.images[2].height = -1) });
    await expect(run(join(dir, 'nan-run'), { data })).rejects.toThrow(/instances\.json: images\[2\] \(id 1002\) height is -1, outside 1\.\.65535/);
    const r = await runHybridgl(['eval', '--data', data, '--dataset', 'refcoco', '--split', 'val', '--models', join(dir, 'no-models'),
      '--out', join(dir, 'cli-run')]);
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/instances\.json: images\[2\] \(id 1002\) height is -1/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);
});

describe('modelSettings', () => {
  it('records the files an int8 run loads: its int8 trunk and head, fp32 for SAM, text and GEM', () => {
    const dir = join(import.meta.dirname, 'fixtures', 'models');
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
    const sha = (model: string, precision: string) => manifest.files.find((f) => f.model === model && f.precision === precision)!.sha256;
    const { precision, models, configuration } = modelSettings(dir, 'int8', 'G2L');
    expect(precision).toBe('int8');
    expect(models).toMatchObject({ sam_encoder: sha('sam_encoder', 'fp32'), sam_decoder: sha('sam_decoder', 'fp32'),
      clip_trunk: sha('clip_trunk', 'int8'), clip_head_g2l: sha('clip_head_g2l', 'int8'), clip_text: sha('clip_text', 'fp32'),
      gem_visual: sha('gem_visual', 'fp32') });
    expect(Object.values(models)).not.toContain('missing');
    expect(configuration.differences).toContain('precision int8 (the paper: fp32)');
  });
});
