// Spec §0 (shards by image): `--shard auto` — the shard index and count from the scheduler that started the process.
import type { Shard } from './shard.ts';

/** The environment variable that gives the shard count where the scheduler does not (Kubernetes Indexed Jobs). */
export const SHARD_COUNT_ENV = 'HYBRIDGL_SHARD_COUNT';

export interface AutoShard {
  shard: Shard;
  /** Which convention gave it, for the log line. */
  source: string;
}

function envInt(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const text = env[name];
  if (text === undefined || text === '') return undefined;
  if (!/^\d+$/.test(text.trim())) throw new RangeError(`${name} must be a non-negative integer, got '${text}'`);
  return Number(text);
}

function checked(index: number, count: number, what: string): Shard {
  if (!(count >= 1) || !(index >= 1 && index <= count)) {
    throw new RangeError(`${what} gives shard ${index}/${count}, not 1 ≤ i ≤ n`);
  }
  return { index, count };
}

/**
 * Slurm job arrays: shard SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN + 1 of SLURM_ARRAY_TASK_COUNT (or MAX − MIN + 1);
 * the array must be contiguous (step 1). Kubernetes Indexed Jobs: shard JOB_COMPLETION_INDEX + 1 of the count
 * given (--shard-count, else HYBRIDGL_SHARD_COUNT). Slurm wins where both are set (a Slurm job inside a pod).
 */
export function autoShard(env: NodeJS.ProcessEnv, shardCount?: number): AutoShard {
  const taskId = envInt(env, 'SLURM_ARRAY_TASK_ID');
  if (taskId !== undefined) {
    const min = envInt(env, 'SLURM_ARRAY_TASK_MIN') ?? 0;
    const max = envInt(env, 'SLURM_ARRAY_TASK_MAX');
    const step = envInt(env, 'SLURM_ARRAY_TASK_STEP') ?? 1;
    if (step !== 1) throw new RangeError(`SLURM_ARRAY_TASK_STEP is ${step}: --shard auto needs a contiguous array (e.g. --array=0-7)`);
    const count = envInt(env, 'SLURM_ARRAY_TASK_COUNT') ?? (max !== undefined ? max - min + 1 : undefined);
    if (count === undefined) throw new RangeError('SLURM_ARRAY_TASK_ID is set but neither SLURM_ARRAY_TASK_COUNT nor SLURM_ARRAY_TASK_MAX is');
    const shard = checked(taskId - min + 1, count, `SLURM_ARRAY_TASK_ID ${taskId} (min ${min}, count ${count})`);
    return { shard, source: `Slurm array task ${taskId} (SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN + 1 of ${count})` };
  }
  const completion = envInt(env, 'JOB_COMPLETION_INDEX');
  if (completion !== undefined) {
    const count = shardCount ?? envInt(env, SHARD_COUNT_ENV);
    if (count === undefined) {
      throw new RangeError(`JOB_COMPLETION_INDEX is set: give the count with --shard-count N or ${SHARD_COUNT_ENV} (the Job's completions)`);
    }
    const shard = checked(completion + 1, count, `JOB_COMPLETION_INDEX ${completion} of ${count}`);
    return { shard, source: `Kubernetes Indexed Job completion index ${completion} (+1 of ${count})` };
  }
  throw new RangeError('--shard auto found no scheduler: neither SLURM_ARRAY_TASK_ID (Slurm array) nor JOB_COMPLETION_INDEX (Kubernetes Indexed Job) is set');
}
