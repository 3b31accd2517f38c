// The command line end to end on the e2e fixture models: segment (one-shot and JSONL), eval with resume, shards,
// merge and report on the synthetic REFER set, and bench.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CLIP_VOCAB_PATH } from './sharedData.ts';

const root = join(import.meta.dirname, '..');
const MODELS = join(root, 'test', 'fixtures', 'e2e', 'models');
const cli = (args: string[], input?: string) =>
  spawnSync(process.execPath, [join(root, 'bin', 'hybridgl.js'), ...args], {
    encoding: 'utf8', input, cwd: root, env: { ...process.env, HYBRIDGL_VOCAB: CLIP_VOCAB_PATH },
  });

describe.skipIf(!existsSync(CLIP_VOCAB_PATH))('hybridgl on the fixture models', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hybridgl-cli-e2e-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('segment writes the result JSON and one overlay per expression', async () => {
    const json = join(dir, 'result.json'), out = join(dir, 'overlay.png');
    const r = cli(['segment', 'assets/demo.jpg', 'the dog on the left', 'the bowl', '--models', MODELS, '--json', json, '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/proposals; decode/);
    const results = JSON.parse(readFileSync(json, 'utf8'));
    expect(results.map((x: { expression: string }) => x.expression)).toEqual(['the dog on the left', 'the bowl']);
    for (const x of results) {
      expect(Object.keys(x)).toEqual(expect.arrayContaining(['expression', 'mask', 'bbox', 'score', 'proposal', 'parse', 'candidates', 'timings']));
      expect(x.mask.size).toEqual([320, 480]);
    }
    for (const f of ['overlay.0.png', 'overlay.1.png']) expect((await sharp(join(dir, f)).metadata()).width).toBe(480);
    expect(cli(['segment', 'assets/nope.jpg', 'x', '--models', MODELS]).status).toBe(3);
    expect(cli(['segment', 'assets/demo.jpg', ' ', '--models', MODELS]).status).toBe(3);
  });

  it('segment --exif-orientation follows the EXIF orientation (the default keeps the stored one, decodeCorpus)', async () => {
    const turned = join(dir, 'demo_orientation6.jpg');
    await sharp('assets/demo.jpg').withMetadata({ orientation: 6 }).toFile(turned);
    const r = cli(['segment', turned, 'the dog', '--models', MODELS, '--exif-orientation', '--colour-managed']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)[0].mask.size).toEqual([480, 320]);
  });

  it('segment --jsonl answers every line, errors included, with the models loaded once', () => {
    const input = [
      JSON.stringify({ image: 'assets/demo.jpg', expressions: ['the dog'] }),
      'not json',
      JSON.stringify({ image: 'assets/missing.jpg', expressions: ['the dog'] }),
      JSON.stringify({ image: 'assets/demo.jpg', expressions: [''] }),
      JSON.stringify({ image: 'assets/demo.jpg', expressions: ['the bowl', 'the person'] }),
    ].join('\n');
    const r = cli(['segment', '--jsonl', '--models', MODELS], input);
    expect(r.status).toBe(1); // some lines failed
    const out = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(out.map((o) => o.line)).toEqual([1, 2, 3, 4, 5]);
    expect(out[0].results).toHaveLength(1);
    expect(out[1].error).toMatch(/not JSON/);
    expect(out[2].error).toMatch(/cannot read/);
    expect(out[3].error).toMatch(/empty/);
    expect(out[4].results).toHaveLength(2);
    expect(r.stderr.match(/loading models/g)).toHaveLength(1);
  });

  it('eval, resume, shards, merge and report on the synthetic REFER set', () => {
    const data = join(dir, 'synth');
    expect(cli(['synth-refer', data]).status).toBe(0);
    const base = ['--data', data, '--dataset', 'refcoco', '--split', 'testA', '--models', MODELS];
    const full = join(dir, 'run-full');
    const r = cli(['eval', ...base, '--out', full]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/pure hybridgl: [\d.]+ \/ [\d.]+/);
    const summary = JSON.parse(readFileSync(join(full, 'summary.json'), 'utf8'));
    const lines = readFileSync(join(full, 'results.jsonl'), 'utf8').trim().split('\n');
    expect(summary.sentences).toBe(lines.length);
    expect(summary.hybrid).toHaveProperty('oIoU');
    // An interrupted run continued with --resume ends with the same totals.
    const partial = join(dir, 'run-partial');
    expect(cli(['eval', ...base, '--out', partial, '--limit-images', '1']).status).toBe(0);
    expect(cli(['eval', ...base, '--out', partial, '--resume']).status).toBe(0);
    expect(JSON.parse(readFileSync(join(partial, 'summary.json'), 'utf8'))).toEqual(summary);
    for (const i of [1, 2]) expect(cli(['eval', ...base, '--out', join(dir, `shard${i}`), '--shard', `${i}/2`]).status).toBe(0);
    expect(cli(['eval', 'merge', '--out', join(dir, 'merged'), join(dir, 'shard1'), join(dir, 'shard2')]).status).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'merged', 'summary.json'), 'utf8'))).toEqual(summary);
    const rep = cli(['eval', 'report', full, '--data', data, '--dataset', 'refcoco']);
    expect(rep.status, rep.stderr).toBe(0);
    const html = readFileSync(join(full, 'report.html'), 'utf8');
    expect(html).toMatch(/<table/);
    expect(html).toMatch(/data:image\/png;base64/);
    expect(readdirSync(full)).toEqual(expect.arrayContaining(['report.md', 'report.html', 'results.jsonl', 'summary.json', 'run.json']));
  });

  it('bench prints per-stage percentiles and writes them as JSON', () => {
    const json = join(dir, 'bench.json');
    const r = cli(['bench', 'assets/demo.jpg', '--models', MODELS, '--iterations', '2', '--warmup', '0', '--json', json]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/p50 ms/);
    const b = JSON.parse(readFileSync(json, 'utf8'));
    const stages = b.stages.map((s: { stage: string }) => s.stage);
    expect(stages).toEqual(expect.arrayContaining(['samEncoder', 'samDecoder', 'samPostprocess', 'clipInputs', 'clipTrunk', 'clipHead', 'gem', 'text', 'coherence']));
    expect(b.throughput.imagesPerSecond).toBeGreaterThan(0);
  });
});
