// eval --workers: worker shards nest in the node's shard; --workers 2 gives exactly the results of --workers 1.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { shardOfImage } from '../src/eval/shard.ts';
import { writeSynthRefer } from '../src/eval/synthRefer.ts';
import { workerShard } from '../src/eval/workers.ts';
import { CLIP_VOCAB_PATH } from './sharedData.ts';

const root = join(import.meta.dirname, '..');
const MODELS = join(root, 'test', 'fixtures', 'e2e', 'models');

describe('workerShard', () => {
  it('the workers of a node shard partition exactly its images', () => {
    for (const node of [undefined, { index: 2, count: 3 }]) {
      const ids = Array.from({ length: 200 }, (_, i) => 1000 + i);
      const inNode = ids.filter((id) => !node || shardOfImage(id, node.count) === node.index - 1);
      const seen: number[] = [];
      for (let w = 0; w < 4; w++) {
        const s = workerShard(node, w, 4);
        seen.push(...ids.filter((id) => shardOfImage(id, s.count) === s.index - 1));
      }
      expect(seen.sort((a, b) => a - b)).toEqual(inNode);
    }
  });
});

function cli(args: string[]): Promise<{ status: number | null; stderr: string }> {
  const child = spawn(process.execPath, [join(root, 'bin', 'hybridgl.js'), ...args], {
    cwd: root, env: { ...process.env, HYBRIDGL_VOCAB: CLIP_VOCAB_PATH }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stderr })));
}

describe.skipIf(!existsSync(CLIP_VOCAB_PATH))('eval --workers on the fixture models', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hybridgl-workers-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const read = (run: string) => ({
    summary: JSON.parse(readFileSync(join(run, 'summary.json'), 'utf8')),
    lines: readFileSync(join(run, 'results.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l))
      .sort((a, b) => a.ref_id - b.ref_id || a.sent_id - b.sent_id),
    meta: JSON.parse(readFileSync(join(run, 'run.json'), 'utf8')),
  });

  it('--workers 2 equals --workers 1: summary, every line, run.json', async () => {
    const data = join(dir, 'synth');
    await writeSynthRefer(data);
    const base = ['eval', '--data', data, '--dataset', 'refcoco', '--split', 'testA', '--models', MODELS];
    const [one, two] = await Promise.all([cli([...base, '--out', join(dir, 'w1'), '--workers', '1']),
      cli([...base, '--out', join(dir, 'w2'), '--workers', '2'])]);
    expect(one.status, one.stderr).toBe(0);
    expect(two.status, two.stderr).toBe(0);
    expect(two.stderr).toMatch(/\[worker 1\/2\]/);
    expect(two.stderr).toMatch(/\[worker 2\/2\]/);
    const a = read(join(dir, 'w1')), b = read(join(dir, 'w2'));
    expect(b.summary).toEqual(a.summary);
    expect(b.lines).toEqual(a.lines);
    expect(b.meta).toEqual(a.meta);
    expect(existsSync(join(dir, 'w2', 'workers', '1-of-2', 'results.jsonl'))).toBe(true);
    // A second run into a directory of the other kind is refused instead of overwriting results.
    const clash = await cli([...base, '--out', join(dir, 'w1'), '--workers', '2']);
    expect(clash.status).not.toBe(0);
    expect(clash.stderr).toMatch(/without --workers/);
  }, 300_000);
});

describe('runWorkers', () => {
  it('--devices: one worker per device, CUDA_VISIBLE_DEVICES and --device cuda, nested shards, merged', async () => {
    const { runWorkers } = await import('../src/eval/workers.ts');
    const { writeFileSync, mkdirSync } = await import('node:fs');
    const dir = mkdtempSync(join(tmpdir(), 'hybridgl-workers-fake-'));
    // A stand-in for `hybridgl eval`: records its arguments and environment as a one-line run of its shard.
    const fake = join(dir, 'fake-eval.mjs');
    writeFileSync(fake, `
      import { mkdirSync, writeFileSync } from 'node:fs';
      import { join } from 'node:path';
      const args = process.argv.slice(2);
      const at = (k) => args[args.indexOf(k) + 1];
      const out = at('--out'), [index, count] = at('--shard').split('/').map(Number);
      mkdirSync(out, { recursive: true });
      writeFileSync(join(out, 'run.json'), JSON.stringify({ dataset: 'x', shard: { index, count } }));
      const p = { intersection: 1, union: 2, iou: 0.5 };
      writeFileSync(join(out, 'results.jsonl'), JSON.stringify({ ref_id: index, sent_id: 0, image_id: index, hybrid: p, guided: p,
        args, cuda: process.env.CUDA_VISIBLE_DEVICES, device: process.env.HYBRIDGL_DEVICE, threads: process.env.HYBRIDGL_THREADS }) + '\\n');
    `);
    const out = join(dir, 'run');
    const logs: string[] = [];
    const summary = await runWorkers({
      args: ['--dataset', 'x'], out, workers: 2, devices: ['3', '5'], shard: { index: 2, count: 3 },
      log: (m) => logs.push(m), command: [process.execPath, fake],
    });
    expect(summary.sentences).toBe(2);
    const lines = readFileSync(join(out, 'results.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    // Worker w of 2 inside node shard 2/3: shard 2 + 3w of 6.
    expect(lines.map((l) => l.ref_id)).toEqual([2, 5]);
    expect(lines.map((l) => l.cuda)).toEqual(['3', '5']);
    expect(lines.every((l) => l.device === 'cuda' && l.args.includes('--device') && l.args.at(-1) === 'cuda')).toBe(true);
    expect(lines[0].args.slice(0, 3)).toEqual(['eval', '--dataset', 'x']);
    expect(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'))).toEqual({ dataset: 'x', shard: { index: 2, count: 3 } });
    await expect(runWorkers({ args: [], out: join(dir, 'bad'), workers: 2, devices: ['0'], log: () => {}, command: [process.execPath, fake] }))
      .rejects.toThrow(/--devices lists 1/);
    mkdirSync(join(dir, 'fail'), { recursive: true });
    await expect(runWorkers({ args: [], out: join(dir, 'fail'), workers: 2, log: () => {}, command: [process.execPath, '-e', 'process.exit(3)'] }))
      .rejects.toThrow(/worker\(s\) 1 \(exit 3\), 2 \(exit 3\) failed/);
    rmSync(dir, { recursive: true, force: true });
  });
});
