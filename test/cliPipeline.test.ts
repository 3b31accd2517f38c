// The command line end to end on the e2e fixture models: segment (one-shot and JSONL), eval with resume, shards,
// merge and report on the synthetic REFER set, and bench.
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DEFAULT_MAX_PIXELS } from '../src/pipeline/imageBudget.ts';
import { runHybridgl } from './runProcess.ts';
import { CLIP_VOCAB_PATH } from './sharedData.ts';

const root = join(import.meta.dirname, '..');
const MODELS = join(root, 'test', 'fixtures', 'e2e', 'models');
const cli = (args: string[], input?: string) => runHybridgl(args, { input, env: { ...process.env, HYBRIDGL_VOCAB: CLIP_VOCAB_PATH } });

describe.skipIf(!existsSync(CLIP_VOCAB_PATH))('hybridgl on the fixture models', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hybridgl-cli-e2e-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('segment writes the result JSON and one overlay per expression', async () => {
    const json = join(dir, 'result.json'), out = join(dir, 'overlay.png');
    const r = (await cli(['segment', 'assets/demo.jpg', 'the dog on the left', 'the bowl', '--models', MODELS, '--json', json, '--out', out]));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/proposals; decode/);
    const results = JSON.parse(readFileSync(json, 'utf8'));
    expect(results.map((x: { expression: string }) => x.expression)).toEqual(['the dog on the left', 'the bowl']);
    for (const x of results) {
      expect(Object.keys(x)).toEqual(expect.arrayContaining(['expression', 'mask', 'bbox', 'score', 'proposal', 'parse', 'candidates', 'timings']));
      expect(x.mask.size).toEqual([320, 480]);
    }
    for (const f of ['overlay.0.png', 'overlay.1.png']) expect((await sharp(join(dir, f)).metadata()).width).toBe(480);
    expect((await cli(['segment', 'assets/nope.jpg', 'x', '--models', MODELS])).status).toBe(3);
    expect((await cli(['segment', 'assets/demo.jpg', ' ', '--models', MODELS])).status).toBe(3);
  });

  it('segment --exif-orientation follows the EXIF orientation (the default keeps the stored one, decodeCorpus)', async () => {
    const turned = join(dir, 'demo_orientation6.jpg');
    await sharp('assets/demo.jpg').withMetadata({ orientation: 6 }).toFile(turned);
    const r = (await cli(['segment', turned, 'the dog', '--models', MODELS, '--exif-orientation', '--colour-managed']));
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)[0].mask.size).toEqual([480, 320]);
  });

  it('refuses an image over the pixel budget from its header (exit 3), before decoding it', async () => {
    const huge = join(dir, 'huge.png');
    await sharp({ create: { width: 16000, height: 16000, channels: 3, background: { r: 0, g: 0, b: 0 } } }).png({ compressionLevel: 9 }).toFile(huge);
    const r = (await cli(['segment', huge, 'the dog', '--models', MODELS]));
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(new RegExp(`image '.*huge\\.png' is 16000×16000 = 256\\.0 Mpixel, over maxPixels ${DEFAULT_MAX_PIXELS} .*--max-pixels`));
    expect(r.stderr).not.toMatch(/proposals|\n\s+at /);
    const small = (await cli(['segment', 'assets/demo.jpg', 'the dog', '--models', MODELS, '--max-pixels', '100000']));
    expect(small.status).toBe(3);
    expect(small.stderr).toMatch(/480×320 = 0\.2 Mpixel, over maxPixels 100000/);
    expect((await cli(['segment', 'assets/demo.jpg', 'the dog', '--models', MODELS, '--max-pixels', '153600', '--json', join(dir, 'fits.json')])).status).toBe(0);
  });

  it('draws an overlay for an expression with control characters; rejects invisible-only and non-string ones', async () => {
    const out = join(dir, 'bell.png');
    const r = (await cli(['segment', 'assets/demo.jpg', 'the dog\u0007 <&>', '--models', MODELS, '--out', out]));
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)[0].expression).toBe('the dog\u0007 <&>');
    expect((await sharp(out).metadata()).width).toBe(480);
    const invisible = (await cli(['segment', 'assets/demo.jpg', '\u200b\u200d\ufeff', '--models', MODELS]));
    expect(invisible.status).toBe(3);
    expect(invisible.stderr).toMatch(/expressions\[0\] is empty/);
    const typed = (await cli(['segment', '--jsonl', '--models', MODELS], JSON.stringify({ image: 'assets/demo.jpg', expressions: ['the dog', 'x', 7] })));
    expect(JSON.parse(typed.stdout).error).toBe('expressions[2] must be a string or { text: string }, got number');
  });

  it('checks every model the settings need at load (exit 4 before any image work)', async () => {
    for (const [drop, flags] of [['clip_head_g2l', []], ['clip_text', []], ['gem_visual', []], ['sam_decoder', ['--no-guidance']]] as const) {
      const models = join(dir, `models-without-${drop}`);
      cpSync(MODELS, models, { recursive: true });
      const manifest = JSON.parse(readFileSync(join(models, 'manifest.json'), 'utf8'));
      manifest.files = manifest.files.filter((f: { model: string }) => f.model !== drop);
      writeFileSync(join(models, 'manifest.json'), JSON.stringify(manifest));
      const r = (await cli(['segment', 'assets/demo.jpg', 'the dog', '--models', models, ...flags]));
      expect(r.status, drop).toBe(4);
      expect(r.stderr).toMatch(new RegExp(`no fp32 file for ${drop} in manifest\\.json`));
      expect(r.stderr).not.toMatch(/\d+ proposals;|\n\s+at /);
    }
    // GEM is not needed without guidance.
    const noGem = join(dir, 'models-without-gem_visual');
    expect((await cli(['segment', 'assets/demo.jpg', 'the dog', '--models', noGem, '--no-guidance', '--json', join(dir, 'nogem.json')])).status).toBe(0);
  });

  it('segment --jsonl answers every line, errors included, with the models loaded once', async () => {
    const input = [
      JSON.stringify({ image: 'assets/demo.jpg', expressions: ['the dog'] }),
      '',
      '   ',
      'not json',
      JSON.stringify({ image: 'assets/missing.jpg', expressions: ['the dog'] }),
      JSON.stringify({ image: 'assets/demo.jpg', expressions: [''] }),
      JSON.stringify({ image: 'assets/demo.jpg', expressions: ['the bowl', 'the person'] }),
    ].join('\n');
    const r = (await cli(['segment', '--jsonl', '--models', MODELS], input));
    expect(r.status).toBe(1); // some lines failed
    const out = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    // Blank lines get no output line; "line" counts every input line.
    expect(out.map((o) => o.line)).toEqual([1, 4, 5, 6, 7]);
    expect(out[0].results).toHaveLength(1);
    expect(out[1].error).toMatch(/not JSON/);
    expect(out[2].error).toMatch(/cannot read/);
    expect(out[3].error).toMatch(/empty/);
    expect(out[4].results).toHaveLength(2);
    expect(r.stderr.match(/loading models/g)).toHaveLength(1);
  });

  it('eval, resume, shards, merge and report on the synthetic REFER set', async () => {
    const data = join(dir, 'synth');
    expect((await cli(['synth-refer', data])).status).toBe(0);
    const base = ['--data', data, '--dataset', 'refcoco', '--split', 'testA', '--models', MODELS];
    const full = join(dir, 'run-full');
    const r = (await cli(['eval', ...base, '--out', full]));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/pure hybridgl: [\d.]+ \/ [\d.]+/);
    const summary = JSON.parse(readFileSync(join(full, 'summary.json'), 'utf8'));
    const lines = readFileSync(join(full, 'results.jsonl'), 'utf8').trim().split('\n');
    expect(summary.sentences).toBe(lines.length);
    expect(summary.hybrid).toHaveProperty('oIoU');
    // An interrupted run continued with --resume ends with the same totals.
    const partial = join(dir, 'run-partial');
    expect((await cli(['eval', ...base, '--out', partial, '--limit-images', '1'])).status).toBe(0);
    expect((await cli(['eval', ...base, '--out', partial, '--resume'])).status).toBe(0);
    expect(JSON.parse(readFileSync(join(partial, 'summary.json'), 'utf8'))).toEqual(summary);
    for (const i of [1, 2]) expect((await cli(['eval', ...base, '--out', join(dir, `shard${i}`), '--shard', `${i}/2`])).status).toBe(0);
    expect((await cli(['eval', 'merge', '--out', join(dir, 'merged'), join(dir, 'shard1'), join(dir, 'shard2')])).status).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'merged', 'summary.json'), 'utf8'))).toEqual(summary);
    expect(summary).toMatchObject({ complete: true, wholeSplit: true, planned: lines.length });
    const rep = (await cli(['eval', 'report', full, '--data', data, '--dataset', 'refcoco']));
    expect(rep.status, rep.stderr).toBe(0);
    const html = readFileSync(join(full, 'report.html'), 'utf8');
    expect(html).toMatch(/<table/);
    expect(html).toMatch(/data:image\/png;base64/);
    expect(readdirSync(full)).toEqual(expect.arrayContaining(['report.md', 'report.html', 'results.jsonl', 'summary.json', 'run.json']));
  }, 300_000); // seven eval runs, each a process that loads the models

  it('eval merge refuses incomplete, missing and duplicated shards; usage errors leave a run untouched (after the eval test)', async () => {
    const data = join(dir, 'synth'), full = join(dir, 'run-full');
    const base = ['--data', data, '--dataset', 'refcoco', '--split', 'testA', '--models', MODELS];
    expect(existsSync(join(dir, 'shard2', 'results.jsonl'))).toBe(true);
    // A shard cut short (a kill: some lines, no summary) is refused by merge, naming it; nothing is written.
    const cut = join(dir, 'shard2-cut');
    cpSync(join(dir, 'shard2'), cut, { recursive: true });
    rmSync(join(cut, 'summary.json'));
    const shardLines = readFileSync(join(cut, 'results.jsonl'), 'utf8').trimEnd().split('\n');
    expect(shardLines.length).toBeGreaterThan(1);
    writeFileSync(join(cut, 'results.jsonl'), shardLines[0] + '\n');
    const refused = (await cli(['eval', 'merge', '--out', join(dir, 'merged-cut'), join(dir, 'shard1'), cut]));
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(new RegExp(`shard 2/2 \\(${cut}\\) is incomplete \\(1 of ${shardLines.length} planned items\\)`));
    expect(existsSync(join(dir, 'merged-cut'))).toBe(false);
    expect((await cli(['eval', 'merge', '--out', join(dir, 'merged-one'), join(dir, 'shard1')])).stderr).toMatch(/shard\(s\) 2\/2 missing/);
    expect((await cli(['eval', 'merge', '--out', join(dir, 'merged-two'), join(dir, 'shard1'), join(dir, 'shard1'), join(dir, 'shard2')])).stderr)
      .toMatch(/shard 1\/2 .* is given twice/);
    // Usage errors on an existing run: exit 2, one line, the run untouched.
    const before = readFileSync(join(full, 'results.jsonl'), 'utf8');
    for (const [extra, message] of [[[], /already has results: pass --resume/], [['--resume', '--split', 'testB'], /split: "testA" ≠ "testB"/],
      [['--resume', '--fusion', 'L2G'], /fusion: "G2L" ≠ "L2G"/], [['--resume', '--shard', '1/2'], /shard: none ≠ 1\/2/]] as Array<[string[], RegExp]>) {
      const args = extra.includes('--split') ? base.filter((a, i) => a !== '--split' && base[i - 1] !== '--split') : base;
      const again = (await cli(['eval', ...args, '--out', full, ...extra]));
      expect(again.status, extra.join(' ')).toBe(2);
      expect(again.stderr).toMatch(message);
      expect(again.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(readFileSync(join(full, 'results.jsonl'), 'utf8')).toBe(before);
  });

  it('bench prints per-stage percentiles and writes them as JSON', async () => {
    const json = join(dir, 'bench.json');
    const r = (await cli(['bench', 'assets/demo.jpg', '--models', MODELS, '--iterations', '2', '--warmup', '0', '--json', json]));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/p50 ms/);
    const b = JSON.parse(readFileSync(json, 'utf8'));
    const stages = b.stages.map((s: { stage: string }) => s.stage);
    expect(stages).toEqual(expect.arrayContaining(['samEncoder', 'samDecoder', 'samPostprocess', 'clipInputs', 'clipTrunk', 'clipHead', 'gem', 'text', 'coherence']));
    expect(b.throughput.imagesPerSecond).toBeGreaterThan(0);
    const bad = await cli(['bench', 'assets/demo.jpg', '--models', MODELS, '--text-cache', '1.5']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--text-cache must be a non-negative integer/);
  });
});
