import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { autoShard } from '../src/eval/shardAuto.ts';

const EXAMPLES = join(import.meta.dirname, '..', 'examples');

describe('autoShard', () => {
  it('Slurm: task id − min + 1 of the count, or of max − min + 1', () => {
    expect(autoShard({ SLURM_ARRAY_TASK_ID: '5', SLURM_ARRAY_TASK_MIN: '4', SLURM_ARRAY_TASK_COUNT: '3' }).shard).toEqual({ index: 2, count: 3 });
    expect(autoShard({ SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_MAX: '8' }).shard).toEqual({ index: 1, count: 8 });
    expect(autoShard({ SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_COUNT: '4' }).source).toMatch(/Slurm/);
  });
  it('Slurm: a stepped array, a missing count, an id out of range are errors', () => {
    expect(() => autoShard({ SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_MAX: '8', SLURM_ARRAY_TASK_STEP: '2' }))
      .toThrow(/contiguous/);
    expect(() => autoShard({ SLURM_ARRAY_TASK_ID: '2' })).toThrow(/SLURM_ARRAY_TASK_COUNT/);
    expect(() => autoShard({ SLURM_ARRAY_TASK_ID: '4', SLURM_ARRAY_TASK_COUNT: '4' })).toThrow(/1 ≤ i ≤ n/);
    expect(() => autoShard({ SLURM_ARRAY_TASK_ID: 'x', SLURM_ARRAY_TASK_COUNT: '4' })).toThrow(/SLURM_ARRAY_TASK_ID/);
  });
  it('Kubernetes: completion index + 1 of --shard-count or HYBRIDGL_SHARD_COUNT', () => {
    expect(autoShard({ JOB_COMPLETION_INDEX: '0' }, 3).shard).toEqual({ index: 1, count: 3 });
    const k = autoShard({ JOB_COMPLETION_INDEX: '2', HYBRIDGL_SHARD_COUNT: '3' });
    expect(k.shard).toEqual({ index: 3, count: 3 });
    expect(k.source).toMatch(/Kubernetes/);
    expect(() => autoShard({ JOB_COMPLETION_INDEX: '0' })).toThrow(/--shard-count/);
    expect(() => autoShard({ JOB_COMPLETION_INDEX: '3' }, 3)).toThrow(/1 ≤ i ≤ n/);
  });
  it('Slurm wins over Kubernetes; neither is an error', () => {
    expect(autoShard({ SLURM_ARRAY_TASK_ID: '0', SLURM_ARRAY_TASK_COUNT: '2', JOB_COMPLETION_INDEX: '1' }, 2).shard.index).toBe(1);
    expect(() => autoShard({})).toThrow(/no scheduler/);
  });
});

/** Every shard 1..n exactly once. */
function expectPartition(shards: Array<{ index: number; count: number }>, n: number): void {
  expect(shards.map((s) => s.count)).toEqual(Array(n).fill(n));
  expect(shards.map((s) => s.index).sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
}

describe('examples/', () => {
  it('the Slurm array scripts give every task its own shard and output, and the merge joins them', () => {
    // Submitted to a real Slurm by test/slurmExamples.test.ts (in CI); here, what holds without a cluster.
    for (const name of ['eval-array.sbatch', 'phrasecut-array.sbatch']) {
      const script = readFileSync(join(EXAMPLES, 'slurm', name), 'utf8');
      const m = /^#SBATCH --array=(\d+)-(\d+)\s*$/m.exec(script);
      expect(m, name).not.toBeNull();
      const [min, max] = [Number(m![1]), Number(m![2])];
      const evalLine = script.replace(/\\\n\s*/g, '').split('\n').find((l) => l.startsWith('hybridgl eval'))!;
      expect(evalLine).toMatch(/--shard auto --resume/);
      expect(evalLine).toMatch(/--out "\$RUNS\/shard-\$SLURM_ARRAY_TASK_ID"/);
      // A preempted task is requeued, resumes, and keeps the killed attempt's log.
      expect(script).toMatch(/^#SBATCH --requeue$/m);
      expect(script).toMatch(/^#SBATCH --open-mode=append$/m);
      const shards = [];
      for (let id = min; id <= max; id++) {
        const env = { SLURM_ARRAY_TASK_ID: String(id), SLURM_ARRAY_TASK_MIN: String(min), SLURM_ARRAY_TASK_MAX: String(max), SLURM_ARRAY_TASK_COUNT: String(max - min + 1) };
        shards.push(autoShard(env).shard);
      }
      expectPartition(shards, max - min + 1);
    }
    expect(readFileSync(join(EXAMPLES, 'slurm', 'merge.sbatch'), 'utf8')).toMatch(/hybridgl eval merge --out "\$RUNS\/merged" "\$RUNS"\/shard-\*/);
    expect(readFileSync(join(EXAMPLES, 'slurm', 'submit.sh'), 'utf8')).toMatch(/--kill-on-invalid-dep=yes --dependency=afterok:"\$array" merge\.sbatch/);
    for (const f of readdirSync(join(EXAMPLES, 'slurm'))) {
      const r = spawnSync('bash', ['-n', join(EXAMPLES, 'slurm', f)], { encoding: 'utf8' });
      expect(r.status, `${f}: ${r.stderr}`).toBe(0);
    }
  });

  it('the Kubernetes Indexed Job gives every index its own shard and output, and the merge waits for all', () => {
    const list = JSON.parse(readFileSync(join(EXAMPLES, 'kubernetes', 'eval-indexed-job.json'), 'utf8'));
    const [job, merge] = list.items;
    expect(job.spec.completionMode).toBe('Indexed');
    const n = job.spec.completions;
    const container = job.spec.template.spec.containers[0];
    const env = Object.fromEntries(container.env.map((e: { name: string; value: string }) => [e.name, e.value]));
    expect(Number(env.HYBRIDGL_SHARD_COUNT)).toBe(n);
    expect(container.args[0]).toMatch(/--shard auto/);
    expect(container.args[0]).toMatch(/--out \/runs\/shard-\$JOB_COMPLETION_INDEX/);
    expectPartition(Array.from({ length: n }, (_, i) => autoShard({ JOB_COMPLETION_INDEX: String(i), ...env }).shard), n);
    const mergeArgs = merge.spec.template.spec.containers[0].args[0];
    expect(mergeArgs).toContain(`-eq ${n} ]`);
    expect(mergeArgs).toMatch(/hybridgl eval merge --out \/runs\/merged \/runs\/shard-\*/);
  });
});
