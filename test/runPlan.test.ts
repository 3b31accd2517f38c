// Run plans: what a run set out to do, completeness, and the merge refusals (incomplete, missing, duplicated,
// other settings, cut by --limit-images, no plan).
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { completeness, digestKeys, makePlan, RunPlanError, settingsDiff } from '../src/eval/runPlan.ts';
import { inShard, type Shard } from '../src/eval/shard.ts';
import { mergeRuns, ResultStore, type SentenceResult } from '../src/eval/store.ts';

const root = mkdtempSync(join(tmpdir(), 'hybridgl-plan-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const newDir = () => join(root, `run${dirs++}`);

// 64 sentences over 16 images; results whose oIoU differs between a whole shard and part of it.
const ALL: SentenceResult[] = Array.from({ length: 64 }, (_, i) => {
  const union = 100 + 37 * i, intersection = (i * 61) % union;
  const p = { intersection, union, iou: intersection / union };
  return { ref_id: 10 + (i >> 1), sent_id: 500 + i, image_id: 900 + (i % 16), hybrid: p, guided: p };
});
const SETTINGS = { dataset: 'refcoco', split: 'testA', splitBy: 'unc', fusion: 'G2L', precision: 'fp32', models: { sam_encoder: 'ab12' } };
const key = (s: SentenceResult) => `${s.ref_id}/${s.sent_id}`;

/** A shard run: its plan names all its sentences; `stopAfter` leaves it cut short (a kill, no summary). */
function shardRun(shard: Shard, options: { stopAfter?: number; settings?: Record<string, unknown>; limitImages?: number } = {}) {
  const dir = newDir();
  const mine = ALL.filter((s) => inShard(s.image_id, shard));
  const store = ResultStore.open(dir, { plan: makePlan(options.settings ?? SETTINGS, mine.map(key), { shard, limitImages: options.limitImages }) });
  for (const s of mine.slice(0, options.stopAfter ?? Infinity)) store.append(s);
  if (options.stopAfter === undefined) store.writeSummary();
  return dir;
}

describe('run plans', () => {
  it('digests item keys independently of order and tells complete from incomplete', () => {
    expect(digestKeys(['b', 'a'])).toBe(digestKeys(['a', 'b']));
    const plan = makePlan(SETTINGS, ['1/1', '1/2', '2/3']);
    expect(plan).toMatchObject({ format: 'hybridgl-run', version: 1, items: 3 });
    expect(completeness(plan, ['2/3', '1/1', '1/2'])).toEqual({ complete: true, planned: 3, done: 3 });
    expect(completeness(plan, ['1/1', '1/2']).complete).toBe(false);
    expect(completeness(plan, ['1/1', '1/2', '9/9']).complete).toBe(false); // as many, but not the planned ones
    expect(() => makePlan(SETTINGS, ['1/1', '1/1'])).toThrow(/planned twice/);
    expect(settingsDiff({ a: 1, b: 'x' }, { a: 1, b: 'y', c: true })).toEqual(['b: "x" ≠ "y"', 'c: (none) ≠ true']);
  });

  it('writes the plan before any result and says in summary.json whether the run is complete', () => {
    const dir = newDir();
    const plan = makePlan(SETTINGS, ALL.map(key));
    const store = ResultStore.open(dir, { plan });
    expect(JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'))).toEqual(plan);
    for (const s of ALL.slice(0, 20)) store.append(s);
    expect(store.writeSummary()).toMatchObject({ sentences: 20, complete: false, planned: 64, wholeSplit: true });
    for (const s of ALL.slice(20)) store.append(s);
    expect(JSON.parse(JSON.stringify(store.writeSummary()))).toEqual(JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')));
    expect(JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'))).toMatchObject({ sentences: 64, complete: true, wholeSplit: true });
    const shard = shardRun({ index: 1, count: 2 });
    expect(JSON.parse(readFileSync(join(shard, 'summary.json'), 'utf8'))).toMatchObject({ complete: true, wholeSplit: false });
  });

  it('checks an existing run before writing anything: no resume, other settings or another shard are refused', () => {
    const dir = shardRun({ index: 1, count: 2 }, { stopAfter: 5 });
    const before = readFileSync(join(dir, 'results.jsonl'), 'utf8');
    const plan = (settings: Record<string, unknown>, shard?: Shard) =>
      makePlan(settings, ALL.filter((s) => inShard(s.image_id, shard)).map(key), { shard });
    expect(() => ResultStore.open(dir, { plan: plan(SETTINGS, { index: 1, count: 2 }) })).toThrow(RunPlanError);
    expect(() => ResultStore.open(dir, { plan: plan(SETTINGS, { index: 1, count: 2 }) })).toThrow(/already has results: pass --resume/);
    expect(() => ResultStore.open(dir, { resume: true, plan: plan({ ...SETTINGS, split: 'testB' }, { index: 1, count: 2 }) }))
      .toThrow(/different run.*split: "testA" ≠ "testB"/);
    expect(() => ResultStore.open(dir, { resume: true, plan: plan({ ...SETTINGS, fusion: 'L2G' }, { index: 1, count: 2 }) }))
      .toThrow(/fusion: "G2L" ≠ "L2G"/);
    expect(() => ResultStore.open(dir, { resume: true, plan: plan(SETTINGS, { index: 2, count: 2 }) })).toThrow(/shard: 1\/2 ≠ 2\/2/);
    expect(readFileSync(join(dir, 'results.jsonl'), 'utf8')).toBe(before);
    const fresh = newDir();
    ResultStore.check(fresh, { plan: plan(SETTINGS) });
    expect(existsSync(fresh)).toBe(false);
    // The same settings and shard resume, even with another extent (e.g. another --limit-images).
    expect(ResultStore.open(dir, { resume: true, plan: plan(SETTINGS, { index: 1, count: 2 }) }).size).toBe(5);
  });
});

describe('merge refuses what would give a wrong number', () => {
  it('merges complete shards into a complete run', () => {
    const merged = mergeRuns([shardRun({ index: 1, count: 2 }), shardRun({ index: 2, count: 2 })], newDir());
    expect(merged).toMatchObject({ sentences: 64, complete: true, planned: 64, wholeSplit: true });
  });

  it('refuses an incomplete shard (a killed run: some lines, no summary), naming it', () => {
    const a = shardRun({ index: 1, count: 2 });
    const b = shardRun({ index: 2, count: 2 }, { stopAfter: 10 });
    const out = newDir();
    const err = (() => { try { mergeRuns([a, b], out); } catch (e) { return e as Error; } })();
    expect(err).toBeInstanceOf(RunPlanError);
    expect(err!.message).toBe(`merge: shard 2/2 (${b}) is incomplete (10 of 32 planned items): finish it with --resume first`);
    expect(existsSync(out)).toBe(false);
  });

  it('refuses a missing, a duplicated or a mismatched shard, naming it', () => {
    const a = shardRun({ index: 1, count: 3 }), b = shardRun({ index: 2, count: 3 }), c = shardRun({ index: 3, count: 3 });
    expect(() => mergeRuns([a, c], newDir())).toThrow(/^merge: shard\(s\) 2\/3 missing$/);
    const b2 = shardRun({ index: 2, count: 3 });
    expect(() => mergeRuns([a, b, b2, c], newDir())).toThrow(new RegExp(`shard 2/3 \\(${b2}\\) is given twice \\(also ${b}\\)`));
    const other = shardRun({ index: 2, count: 3 }, { settings: { ...SETTINGS, fusion: 'L2G' } });
    expect(() => mergeRuns([a, other, c], newDir())).toThrow(new RegExp(`shard 2/3 \\(${other}\\) was made with other settings.*fusion: "G2L" ≠ "L2G"`));
    const models = shardRun({ index: 2, count: 3 }, { settings: { ...SETTINGS, models: { sam_encoder: 'cd34' } } });
    expect(() => mergeRuns([a, models, c], newDir())).toThrow(/other settings.*models/);
    const half = shardRun({ index: 2, count: 2 });
    expect(() => mergeRuns([a, half, c], newDir())).toThrow(/split into 2/);
    const cut = shardRun({ index: 2, count: 3 }, { limitImages: 2 });
    expect(() => mergeRuns([a, cut, c], newDir())).toThrow(/cut to 2 images \(--limit-images\)/);
  });

  it('refuses a run without a plan and a run that is not a shard', () => {
    const a = shardRun({ index: 1, count: 2 }), b = shardRun({ index: 2, count: 2 });
    const legacy = newDir();
    ResultStore.open(legacy, { meta: { dataset: 'refcoco', split: 'testA', shard: { index: 2, count: 2 } } });
    expect(() => mergeRuns([a, legacy], newDir())).toThrow(new RegExp(`${legacy} has no run plan`));
    const whole = newDir();
    ResultStore.open(whole, { plan: makePlan(SETTINGS, []) });
    expect(() => mergeRuns([whole, b], newDir())).toThrow(/is not a shard/);
  });
});
