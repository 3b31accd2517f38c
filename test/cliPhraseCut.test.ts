// PhraseCut end to end on the fixture models and the synthetic set: eval (SAM with a crop layer, a small grid for
// speed), shards through the Slurm and Kubernetes conventions merged to the unsharded totals, report.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CLIP_VOCAB_PATH } from './sharedData.ts';

const root = join(import.meta.dirname, '..');
const MODELS = join(root, 'test', 'fixtures', 'e2e', 'models');
const SCHEDULER_VARS = ['SLURM_ARRAY_TASK_ID', 'SLURM_ARRAY_TASK_MIN', 'SLURM_ARRAY_TASK_MAX', 'SLURM_ARRAY_TASK_COUNT',
  'SLURM_ARRAY_TASK_STEP', 'JOB_COMPLETION_INDEX', 'HYBRIDGL_SHARD_COUNT'];
/** Runs the CLI without blocking the test worker (the runs take a while). */
function cli(args: string[], env: Record<string, string> = {}): Promise<{ status: number | null; stderr: string }> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !SCHEDULER_VARS.includes(k)));
  const child = spawn(process.execPath, [join(root, 'bin', 'hybridgl.js'), ...args], {
    cwd: root, env: { ...base, HYBRIDGL_VOCAB: CLIP_VOCAB_PATH, ...env }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stderr })));
}
const lines = (dir: string) => readFileSync(join(dir, 'results.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const byKey = (rows: Array<{ ref_id: number }>) => [...rows].sort((a, b) => a.ref_id - b.ref_id);

describe.skipIf(!existsSync(CLIP_VOCAB_PATH))('hybridgl eval --dataset phrasecut on the fixture models', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hybridgl-phrasecut-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('evaluates the synthetic set; Slurm and Kubernetes shards merge to the same totals; report', async () => {
    const data = join(dir, 'VGPhraseCut_v0');
    expect((await cli(['synth-phrasecut', data])).status).toBe(0);
    // Two images (ids 2001, 2002) keep it fast: the set is cut to them here, since merge refuses --limit-images shards.
    for (const file of ['image_data_split.json', 'refer_test.json']) {
      const rows = JSON.parse(readFileSync(join(data, file), 'utf8')) as Array<{ image_id: number }>;
      writeFileSync(join(data, file), JSON.stringify(rows.filter((x) => x.image_id <= 2002)));
    }
    // The reference's grid is 64×64 (with crops); 2 per side keeps the test fast, the crop layer stays.
    const base = ['eval', '--dataset', 'phrasecut', '--data', data, '--split', 'test', '--models', MODELS, '--sam-points-per-side', '2'];
    const full = join(dir, 'full');
    // Each shard below takes one of the two images (shards go by id mod 2).
    const r = await cli([...base, '--out', full]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/pure hybridgl: [\d.]+ \/ [\d.]+/);
    expect(r.stderr).toMatch(/w\/ spatial guidance: [\d.]+ \/ [\d.]+/);
    const summary = JSON.parse(readFileSync(join(full, 'summary.json'), 'utf8'));
    const rows = lines(full);
    expect(rows).toHaveLength(4);
    expect(summary.sentences).toBe(4);
    expect(rows.map((x) => x.task_id)).toEqual(['2001__0', '2001__1', '2002__0', '2002__1']);
    expect(JSON.parse(readFileSync(join(full, 'run.json'), 'utf8')).settings).toMatchObject({ dataset: 'phrasecut', split: 'test', sam: { pointsPerSide: 2 }, localImage: 'resized-800' });

    const slurm = await cli([...base, '--out', join(dir, 'shard-0'), '--shard', 'auto'],
      { SLURM_ARRAY_TASK_ID: '0', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_COUNT: '2' });
    expect(slurm.status, slurm.stderr).toBe(0);
    expect(slurm.stderr).toMatch(/--shard auto: shard 1\/2 from Slurm/);
    const k8s = await cli([...base, '--out', join(dir, 'shard-1'), '--shard', 'auto'], { JOB_COMPLETION_INDEX: '1', HYBRIDGL_SHARD_COUNT: '2' });
    expect(k8s.status, k8s.stderr).toBe(0);
    expect(k8s.stderr).toMatch(/--shard auto: shard 2\/2 from Kubernetes/);
    const merged = join(dir, 'merged');
    expect((await cli(['eval', 'merge', '--out', merged, join(dir, 'shard-0'), join(dir, 'shard-1')])).status).toBe(0);
    expect(JSON.parse(readFileSync(join(merged, 'summary.json'), 'utf8'))).toEqual(summary);
    expect(byKey(lines(merged))).toEqual(byKey(rows));

    const rep = await cli(['eval', 'report', full]);
    expect(rep.status, rep.stderr).toBe(0);
    expect(readFileSync(join(full, 'report.md'), 'utf8')).toMatch(/phrasecut/i);
  }, 300_000);

  it('--shard auto without a scheduler is a usage error', async () => {
    const r = await cli(['eval', '--dataset', 'phrasecut', '--data', join(dir, 'VGPhraseCut_v0'), '--split', 'test', '--models', MODELS,
      '--out', join(dir, 'x'), '--shard', 'auto']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/no scheduler/);
  });
});
