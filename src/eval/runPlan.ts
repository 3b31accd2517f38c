// Spec §0: what an eval run sets out to do — its settings, shard and planned items, stored in RUNDIR/run.json
// before the first result — and whether its results are exactly that. Resume, merge and summaries check against
// it, so no number is reported from incomplete or mismatched work. Independent of the dataset (REFER, PhraseCut).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { RunConfiguration } from './paperConfig.ts';
import type { Shard } from './shard.ts';

export const RUN_PLAN_FORMAT = 'hybridgl-run';

export interface RunPlan {
  format: typeof RUN_PLAN_FORMAT;
  version: 1;
  /** What makes two runs comparable (dataset, split, fusion, precision, model hashes, …): equal on resume and
   *  across the shards of a merge. */
  settings: Record<string, unknown>;
  /** This run's shard of the split; absent: the whole split. */
  shard?: Shard;
  /** Set when the run was cut to its first N images (--limit-images): not a whole split or shard. */
  limitImages?: number;
  /** How many items (sentences) the run set out to evaluate, and a digest of their keys. */
  items: number;
  itemsDigest: string;
  /** What ran (SAM type, CLIP, checkpoints, fusion, precision) and how it differs from the paper's configuration:
   *  recorded for people and reports, not compared on resume (the model hashes in `settings` are). */
  configuration?: RunConfiguration;
}

/** A run directory or a set of them that cannot be used as asked (a usage error: exit 2 on the command line). */
export class RunPlanError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunPlanError';
  }
}

/** sha256 of the sorted, distinct keys, one a line. */
export function digestKeys(keys: Iterable<string>): string {
  const sorted = [...new Set(keys)].sort();
  return createHash('sha256').update(sorted.join('\n')).digest('hex');
}

export function makePlan(settings: Record<string, unknown>, keys: string[],
  options: { shard?: Shard; limitImages?: number; configuration?: RunConfiguration } = {}): RunPlan {
  const distinct = new Set(keys);
  if (distinct.size !== keys.length) throw new RangeError('makePlan: an item key is planned twice');
  return {
    format: RUN_PLAN_FORMAT, version: 1, settings,
    ...(options.shard ? { shard: { index: options.shard.index, count: options.shard.count } } : {}),
    ...(options.limitImages !== undefined ? { limitImages: options.limitImages } : {}),
    items: distinct.size, itemsDigest: digestKeys(distinct),
    ...(options.configuration ? { configuration: options.configuration } : {}),
  };
}

export function isRunPlan(value: unknown): value is RunPlan {
  const p = value as RunPlan;
  return typeof p === 'object' && p !== null && p.format === RUN_PLAN_FORMAT && p.version === 1 &&
    typeof p.settings === 'object' && p.settings !== null && Number.isSafeInteger(p.items) && typeof p.itemsDigest === 'string';
}

/** The plan in runDir/run.json, or null when there is none (or one written before run plans existed). */
export function readPlan(runDir: string, file = 'run.json'): RunPlan | null {
  const path = join(runDir, file);
  if (!existsSync(path)) return null;
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    throw new RunPlanError(`${path} is not valid JSON`);
  }
  return isRunPlan(value) ? value : null;
}

/** What differs between two settings objects, as "key: a ≠ b" lines (empty when equal). */
export function settingsDiff(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys
    .filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]))
    .map((k) => `${k}: ${JSON.stringify(a[k]) ?? '(none)'} ≠ ${JSON.stringify(b[k]) ?? '(none)'}`);
}

const shardText = (s: Shard | undefined) => (s ? `${s.index}/${s.count}` : 'none');

/** Refuses to resume `existing` as `wanted` when their settings or shard differ. */
export function checkResumable(runDir: string, existing: RunPlan | null, wanted: RunPlan): void {
  if (!existing) throw new RunPlanError(`${runDir} has results but no run plan (run.json): use another --out`);
  const diff = settingsDiff(existing.settings, wanted.settings);
  if (shardText(existing.shard) !== shardText(wanted.shard)) diff.push(`shard: ${shardText(existing.shard)} ≠ ${shardText(wanted.shard)}`);
  if (diff.length) throw new RunPlanError(`${runDir} holds a different run; cannot resume it with other settings (${diff.join('; ')})`);
}

export interface Completeness {
  /** Every planned item has a result and there is no other. */
  complete: boolean;
  planned: number;
  done: number;
}

/** Whether `keys` (the results' item keys) are exactly the plan's items. */
export function completeness(plan: RunPlan, keys: string[]): Completeness {
  const done = new Set(keys).size;
  return { complete: done === plan.items && digestKeys(keys) === plan.itemsDigest, planned: plan.items, done };
}

/**
 * The plan of the union of shard runs, after checking that they are one split's shards 1…n, each exactly once,
 * each whole (not --limit-images) and complete, all with the same settings, no item in two of them. The first problem found is thrown as a
 * RunPlanError naming the shard directory.
 */
export function mergePlans(runs: Array<{ dir: string; plan: RunPlan | null; keys: string[] }>): RunPlan {
  if (runs.length === 0) throw new RunPlanError('merge: no shard directories given');
  let first: { dir: string; plan: RunPlan } | undefined;
  const byIndex = new Map<number, string>();
  for (const run of runs) {
    const { dir, plan } = run;
    if (!plan) throw new RunPlanError(`merge: ${dir} has no run plan (run.json): rerun that shard`);
    if (!plan.shard) throw new RunPlanError(`merge: ${dir} is not a shard (run without --shard)`);
    const where = `shard ${plan.shard.index}/${plan.shard.count} (${dir})`;
    if (first) {
      const diff = settingsDiff(first.plan.settings, plan.settings);
      if (diff.length) throw new RunPlanError(`merge: ${where} was made with other settings than ${first.dir} (${diff.join('; ')})`);
      if (plan.shard.count !== first.plan.shard!.count)
        throw new RunPlanError(`merge: ${where} is from a split into ${plan.shard.count}, ${first.dir} into ${first.plan.shard!.count}`);
    } else first = { dir, plan };
    if (byIndex.has(plan.shard.index)) throw new RunPlanError(`merge: ${where} is given twice (also ${byIndex.get(plan.shard.index)})`);
    byIndex.set(plan.shard.index, dir);
    if (plan.limitImages !== undefined)
      throw new RunPlanError(`merge: ${where} was cut to ${plan.limitImages} images (--limit-images): not a whole shard`);
    const c = completeness(plan, run.keys);
    if (!c.complete)
      throw new RunPlanError(`merge: ${where} is incomplete (${c.done} of ${c.planned} planned items${c.done > c.planned ? ' or others' : ''}): ` +
        'finish it with --resume first');
  }
  const count = first!.plan.shard!.count;
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((i) => !byIndex.has(i));
  if (missing.length) throw new RunPlanError(`merge: shard(s) ${missing.map((i) => `${i}/${count}`).join(', ')} missing`);
  const owner = new Map<string, string>();
  for (const run of runs)
    for (const k of run.keys) {
      if (owner.has(k)) throw new RunPlanError(`merge: item ${k} is in both ${owner.get(k)} and ${run.dir}`);
      owner.set(k, run.dir);
    }
  return makePlan(first!.plan.settings, [...owner.keys()], { configuration: first!.plan.configuration });
}
