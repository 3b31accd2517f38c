// examples/slurm/ submitted, unchanged, to a real Slurm (scripts/ci/slurm-cluster.sh starts a one-node cluster and sets
// SLURM_CONF): array tasks as jobs, the merge after afterok equal to one unsharded run, a task preempted mid-run
// (scontrol requeue) that resumes with nothing lost or counted twice, and a task failing for good that cancels the merge.
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { writeSynthPhraseCut } from '../src/eval/synthPhraseCut.ts';
import { writeSynthRefer } from '../src/eval/synthRefer.ts';
import { runHybridgl, runProcess, type ProcessResult } from './runProcess.ts';
import { CLIP_VOCAB_PATH } from './sharedData.ts';

const root = join(import.meta.dirname, '..');
const EXAMPLES = join(root, 'examples', 'slurm');
const MODELS = join(root, 'test', 'fixtures', 'e2e', 'models');

/** A Slurm that answers: SLURM_CONF set and the partition up. .ci/run sets HYBRIDGL_REQUIRE_SLURM, so there a missing
 * cluster fails instead of skipping. */
const clusterUp = process.env.SLURM_CONF !== undefined &&
  spawnSync('sinfo', ['-h', '-o', '%a'], { encoding: 'utf8', timeout: 10_000 }).stdout?.trim() === 'up';
const required = process.env.HYBRIDGL_REQUIRE_SLURM === '1';
const runnable = clusterUp && existsSync(CLIP_VOCAB_PATH);

type Job = Record<string, string>;

/** `scontrol show job -o`: one record per job (every task of an array), as key → value. */
function jobs(id: string | number): Job[] {
  const r = spawnSync('scontrol', ['show', 'job', '-o', String(id)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`scontrol show job ${id}: ${r.stderr}`);
  return r.stdout.trim().split('\n').map((line) => Object.fromEntries([...line.matchAll(/(\w+)=(\S*)/g)].map((m) => [m[1], m[2]])));
}
const task = (array: number, index: number) => jobs(array).find((j) => j.ArrayTaskId === String(index))!;
const FINISHED = /^(COMPLETED|FAILED|CANCELLED|TIMEOUT|OUT_OF_MEMORY|NODE_FAIL|BOOT_FAIL|DEADLINE)$/;

function scontrol(...args: string[]): void {
  const r = spawnSync('scontrol', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`scontrol ${args.join(' ')}: ${r.stderr}`);
}

async function waitFor(what: string, ready: () => boolean, seconds = 240, explain: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${seconds} s waiting for ${what}\n${explain()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Complete result lines (a line cut by a kill has no newline yet). */
function resultLines(runDir: string): Array<Record<string, unknown>> {
  const file = join(runDir, 'results.jsonl');
  if (!existsSync(file)) return [];
  const text = readFileSync(file, 'utf8');
  return text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter(Boolean).map((l) => JSON.parse(l));
}
const key = (r: Record<string, unknown>) => `${r.ref_id}/${r.sent_id ?? r.task_id}`;
const byKey = (rows: Array<Record<string, unknown>>) => [...rows].sort((a, b) => key(a).localeCompare(key(b)));

describe.skipIf(!runnable && !required)('examples/slurm on a one-node Slurm', () => {
  let dir: string, slurmDir: string, env: NodeJS.ProcessEnv;
  let refer: string, phraseCut: string;
  let unsharded: { refer: Promise<ProcessResult>; phraseCut: Promise<ProcessResult> };

  beforeAll(async () => {
    expect(clusterUp, `HYBRIDGL_REQUIRE_SLURM=1 but no Slurm answers (SLURM_CONF=${process.env.SLURM_CONF}); run under scripts/ci/slurm-cluster.sh run`).toBe(true);
    expect(existsSync(CLIP_VOCAB_PATH), `${CLIP_VOCAB_PATH} is missing`).toBe(true);
    dir = mkdtempSync(join(tmpdir(), 'hybridgl-slurm-examples-'));
    // The examples byte for byte, copied so that their logs/ land beside the copy, not in the checkout.
    slurmDir = join(dir, 'slurm');
    cpSync(EXAMPLES, slurmDir, { recursive: true });
    for (const f of readdirSync(EXAMPLES)) expect(readFileSync(join(slurmDir, f)).equals(readFileSync(join(EXAMPLES, f)))).toBe(true);
    // `hybridgl` on the jobs' PATH, as an installed package puts it.
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'hybridgl'), `#!/bin/sh\nexec "${process.execPath}" "${join(root, 'bin', 'hybridgl.js')}" "$@"\n`);
    chmodSync(join(bin, 'hybridgl'), 0o755);
    // One ONNX Runtime thread per task: the test cluster's CPU slots are more than the machine's cores.
    env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, HYBRIDGL_VOCAB: CLIP_VOCAB_PATH, HYBRIDGL_THREADS: '1', MODELS };
    refer = join(dir, 'refer');
    phraseCut = join(dir, 'VGPhraseCut_v0');
    await writeSynthRefer(refer);
    await writeSynthPhraseCut(phraseCut);
    // The unsharded runs the merges must equal, started now so that they overlap the Slurm jobs.
    unsharded = {
      refer: runHybridgl(['eval', '--data', refer, '--dataset', 'refcoco', '--split', 'test', '--models', MODELS, '--out', join(dir, 'refer-unsharded')], { env }),
      phraseCut: runHybridgl(['eval', '--data', phraseCut, '--dataset', 'phrasecut', '--split', 'test', '--models', MODELS,
        '--sam-points-per-side', '2', '--out', join(dir, 'phrasecut-unsharded')], { env }),
    };
  });
  afterAll(async () => {
    if (!dir) return;
    await Promise.allSettled([unsharded?.refer, unsharded?.phraseCut]);
    rmSync(dir, { recursive: true, force: true });
  });

  /** submit.sh with these variables and arguments: the array job's id and the merge's. */
  async function submit(vars: Record<string, string>, args: string[]): Promise<{ array: number; merge: number }> {
    const r = await runProcess(join(slurmDir, 'submit.sh'), args, { env: { ...env, ...vars } });
    expect(r.status, r.stderr).toBe(0);
    const merge = Number(/^Submitted batch job (\d+)$/m.exec(r.stdout)?.[1]);
    const dependency = jobs(merge)[0].Dependency;
    const array = Number(/^afterok:(\d+)_\*/.exec(dependency)?.[1]);
    expect(array, dependency).toBeGreaterThan(0);
    return { array, merge };
  }

  const log = (name: string) => readFileSync(join(slurmDir, 'logs', name), 'utf8');
  const logs = () => {
    const d = join(slurmDir, 'logs');
    return existsSync(d) ? readdirSync(d).map((f) => `--- ${f}\n${readFileSync(join(d, f), 'utf8')}`).join('\n') : '(no logs)';
  };

  for (const c of [
    { name: 'RefCOCO testA+testB', script: 'eval-array.sbatch', prefix: 'hybridgl-eval', unsharded: 'refer-unsharded',
      vars: () => ({ DATA: refer, SPLIT: 'test' }), run: () => unsharded.refer, target: 0 },
    // Shorter settings for CI: a 2×2 SAM grid (recorded in run.json) instead of the reference's 64×64.
    { name: 'PhraseCut test', script: 'phrasecut-array.sbatch', prefix: 'hybridgl-phrasecut', unsharded: 'phrasecut-unsharded',
      vars: () => ({ DATA: phraseCut, SAM_POINTS_PER_SIDE: '2' }), run: () => unsharded.phraseCut, target: 1 },
  ]) {
    it(`${c.name}: two array tasks, one preempted mid-run and requeued, the merge after afterok equals an unsharded run`, async () => {
      const runs = join(dir, `${c.prefix}-runs`);
      // Two shards by image id mod 2, so the target task's shard has two images and can be stopped between them
      // (RefCOCO test: 1002 and 1004 in task 0; PhraseCut: 2001 and 2003 in task 1).
      const { array, merge } = await submit({ ...c.vars(), RUNS: runs }, [c.script, '--array=0-1']);
      expect(jobs(merge)[0]).toMatchObject({ JobState: 'PENDING', Reason: 'Dependency', Dependency: `afterok:${array}_*(unfulfilled)` });

      // Preempted once its first image's lines are written, before its last: Slurm kills it and queues it again.
      const shard = join(runs, `shard-${c.target}`);
      await waitFor(`a result line in ${shard}`, () => resultLines(shard).length > 0, 240, logs);
      expect(existsSync(join(shard, 'summary.json')), 'the target task finished before it could be preempted').toBe(false);
      scontrol('requeue', `${array}_${c.target}`);
      await waitFor('the requeued task to be pending', () => task(array, c.target).JobState === 'PENDING', 60);
      const planned = JSON.parse(readFileSync(join(shard, 'run.json'), 'utf8')).items;
      const before = resultLines(shard).length;
      expect(before).toBeGreaterThan(0);
      expect(before).toBeLessThan(planned);
      // Slurm starts it again by itself, cred_expire + 1 s after the requeue (10 s on the CI cluster, 120 by default).
      await waitFor('the merge to finish', () => FINISHED.test(jobs(merge)[0].JobState), 240, logs);
      const tasks = jobs(array), mergeJob = jobs(merge)[0];
      expect(mergeJob.JobState, logs()).toBe('COMPLETED');
      expect(tasks.map((t) => [t.ArrayTaskId, t.JobState, t.ExitCode, t.Restarts]).sort())
        .toEqual([['0', 'COMPLETED', '0:0', c.target === 0 ? '1' : '0'], ['1', 'COMPLETED', '0:0', c.target === 1 ? '1' : '0']]);
      for (const t of tasks) expect(mergeJob.StartTime >= t.EndTime, `merge started ${mergeJob.StartTime}, task ${t.ArrayTaskId} ended ${t.EndTime}`).toBe(true);

      // Logs where the sbatch files say; the preempted task's log keeps both attempts (--open-mode=append).
      const targetLog = log(`${c.prefix}-${array}_${c.target}.out`);
      expect(targetLog.match(/--shard auto: shard \d\/2 from Slurm array task/g)).toHaveLength(2);
      expect(targetLog).toMatch(/CANCELLED AT \S+ DUE TO JOB REQUEUE/);
      expect(log(`${c.prefix}-${array}_${1 - c.target}.out`)).toMatch(new RegExp(`--shard auto: shard ${2 - c.target}/2 from Slurm array task ${1 - c.target}`));
      expect(log(`hybridgl-merge-${merge}.out`)).toMatch(/wrote .*merged\/summary\.json[\s\S]*wrote .*report\.html/);

      // Nothing lost or counted twice: the resumed shard has each planned sentence once.
      const shardLines = resultLines(shard);
      expect(new Set(shardLines.map(key)).size).toBe(shardLines.length);
      expect(shardLines).toHaveLength(planned);
      const u = await c.run();
      expect(u.status, u.stderr).toBe(0);
      const full = join(dir, c.unsharded);
      expect(JSON.parse(readFileSync(join(runs, 'merged', 'summary.json'), 'utf8'))).toEqual(JSON.parse(readFileSync(join(full, 'summary.json'), 'utf8')));
      expect(byKey(resultLines(join(runs, 'merged')))).toEqual(byKey(resultLines(full)));
    }, 400_000);
  }

  it('a task that fails for good cancels the merge (afterok), with the reason in its log', async () => {
    // The defaults of eval-array.sbatch (refcoco val, four tasks); shard 0's directory already holds another run.
    const runs = join(dir, 'failing-runs');
    expect((await unsharded.refer).status).toBe(0);
    cpSync(join(dir, 'refer-unsharded'), join(runs, 'shard-0'), { recursive: true });
    const { array, merge } = await submit({ DATA: refer, RUNS: runs }, []);
    await waitFor('the merge to be cancelled', () => FINISHED.test(jobs(merge)[0].JobState), 120, logs);
    expect(jobs(merge)[0]).toMatchObject({ JobState: 'CANCELLED', Reason: 'DependencyNeverSatisfied', Dependency: `afterok:${array}_*(failed)` });
    expect(task(array, 0)).toMatchObject({ JobState: 'FAILED', ExitCode: '2:0' });
    expect(log(`hybridgl-eval-${array}_0.out`))
      .toMatch(/shard-0 holds a different run; cannot resume it with other settings \(split: "test" ≠ "val"; shard: none ≠ 1\/4\)/);
    // The other tasks need not finish: the merge will not run.
    spawnSync('scancel', [String(array)]);
    await waitFor('the array to leave the queue', () => jobs(array).every((t) => FINISHED.test(t.JobState)), 60);
    expect(existsSync(join(slurmDir, 'logs', `hybridgl-merge-${merge}.out`))).toBe(false);
    expect(existsSync(join(runs, 'merged'))).toBe(false);
  }, 200_000);
});
