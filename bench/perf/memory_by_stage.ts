// Peak and retained RSS of each model load and each model call of one `segment`, to find what holds the memory.
// usage: npx tsx bench/perf/memory_by_stage.ts MODELS_DIR IMAGE [--arena] [--all-models] [--lazy]
//   [--proposals N] [--fusion G2L] [--vocab FILE]
// Linux only: the peak of each step comes from VmHWM after resetting it (echo 5 > /proc/self/clear_refs).
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { commandAllocatorTuning } from '../../src/models/allocatorTuning.ts';
import { loadModels, type Fusion, type ModelName, type Models } from '../../src/models/loadModels.ts';
import { withSyntheticProposals } from '../../src/eval/syntheticProposals.ts';
import { createSegmenter } from '../../src/segmenter.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    arena: { type: 'boolean' }, 'all-models': { type: 'boolean' },
    lazy: { type: 'boolean' }, proposals: { type: 'string' }, fusion: { type: 'string' }, vocab: { type: 'string' },
  },
});
const [dir, image] = positionals;
if (!dir || !image) throw new Error('usage: memory_by_stage.ts MODELS_DIR IMAGE [options]');

function status(): { rss: number; hwm: number } {
  const s = readFileSync('/proc/self/status', 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)![1]) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}
// Open steps' peaks: a nested step resets VmHWM, so every open step takes the peak seen so far first.
const open: number[] = [];
function notePeak(): void {
  const { hwm } = status();
  for (let i = 0; i < open.length; i++) open[i] = Math.max(open[i], hwm);
}
function resetPeak(): void {
  notePeak();
  writeFileSync('/proc/self/clear_refs', '5');
}
const mb = (b: number) => (b / 2 ** 20).toFixed(0).padStart(6);
const rows: string[] = [];
let processPeak = 0;
async function step<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const before = status();
  resetPeak();
  open.push(0);
  const out = await fn();
  notePeak();
  const peak = open.pop()!;
  processPeak = Math.max(processPeak, peak);
  const after = status();
  rows.push(`${name.padEnd(28)} ${mb(peak - before.rss)} ${mb(after.rss - before.rss)} ${mb(peak)} ${mb(after.rss)}`);
  return out;
}

const fusion = (values.fusion ?? 'G2L') as Fusion;
const head = `clip_head_${fusion.toLowerCase().replace('&', '_')}` as ModelName;
const needed: ModelName[] = ['sam_encoder', 'sam_decoder', 'clip_trunk', head, 'clip_text', 'gem_visual'];
const start = status();
const models = await step('load sessions', () => loadModels(dir, {
  device: 'cpu', warmup: false, vocabPath: values.vocab, models: values['all-models'] ? undefined : needed,
  memoryArena: values.arena ?? false, lazy: values.lazy, allocator: commandAllocatorTuning(),
}));
const wrapped: Models = values.proposals ? withSyntheticProposals(models, Number(values.proposals)) : { ...models };
for (const key of ['samEncoder', 'samDecoder', 'clipTrunk', 'clipHead', 'clipText', 'gemVisual'] as const) {
  const fn = wrapped[key] as (...a: unknown[]) => Promise<unknown>;
  (wrapped as unknown as Record<string, unknown>)[key] = (...a: unknown[]) => step(key, () => fn(...a));
}
const segmenter = await createSegmenter({ models: wrapped, fusion, vocabPath: values.vocab });
const r = await step('segment', () => segmenter.segment(image, ['the thing on the left']));
await step('segment again', () => segmenter.segment(image, ['the thing on the right']));
const end = status();
console.log(`proposals ${r.proposals}; options ${JSON.stringify(values)}`);
console.log(`${'step'.padEnd(28)} ${'peak+'.padStart(6)} ${'kept+'.padStart(6)} ${'peak'.padStart(6)} ${'rss'.padStart(6)}   (MiB; peak+ and kept+ over the RSS before the step)`);
console.log(rows.join('\n'));
console.log(`process start rss ${mb(start.rss)}; end rss ${mb(end.rss)}; process peak ${mb(processPeak)}`);
await models.dispose();
