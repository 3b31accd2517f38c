// `hybridgl bench`: argument handling and the tables around the benchmarks of src/eval/bench.ts; `--kernels` runs the
// native kernel micro-benchmarks of a clone's bench/.
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { PACKAGE_ROOT } from '../../../bindings/packageRoot.ts';
import type { BenchOptions, DetailedBench, StageStats } from '../../eval/bench.ts';
import { usage, type Command, type Log } from '../command.ts';
import { UsageError } from '../errors.ts';

const SUMMARY = `  bench <image>… --models DIR [--iterations 5] [--warmup 1] [--expression "…"]… [--json bench.json]
      Times every stage per image and per expression (p50/p90/p99) and the throughput.
      [--proposals N[,N…]] [--trace trace.json]: exactly N (synthetic) proposals reach CLIP; per stage p50, FLOPs,
      GFLOP/s, bytes, peak RSS; a Chrome trace (stages, native kernels, ONNX Runtime nodes) for Perfetto.
      [--text-cache N]: text features kept across images (default 10000; 0: encoded afresh each time).
  bench --kernels [filter…]
      The native kernel micro-benchmarks (npm run bench).`;

export const benchCommand: Command = { summary: SUMMARY, help: usage('bench', SUMMARY), run: runBench };

async function runBench(args: string[], log: Log): Promise<number> {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true,
    options: {
      models: { type: 'string' }, iterations: { type: 'string' }, warmup: { type: 'string' }, json: { type: 'string' },
      fusion: { type: 'string' }, device: { type: 'string' }, precision: { type: 'string' }, vocab: { type: 'string' },
      expression: { type: 'string', multiple: true }, kernels: { type: 'boolean' },
      proposals: { type: 'string' }, trace: { type: 'string' }, 'text-cache': { type: 'string' },
    },
  });
  if (values.kernels) {
    // The kernel benchmarks are TypeScript in a clone's bench/ (not in the package), run through tsx.
    const benchMain = join(PACKAGE_ROOT, 'bench', 'index.ts');
    if (!existsSync(benchMain)) throw new UsageError('bench --kernels runs in a clone of the repository (npm run bench): the package has no bench/');
    const tsx = createRequire(import.meta.url).resolve('tsx/cli');
    const r = spawnSync(process.execPath, [tsx, benchMain, ...positionals], { stdio: 'inherit' });
    return r.status ?? 1;
  }
  if (!values.models) throw new UsageError('bench needs --models DIR (or --kernels for the native micro-benchmarks)');
  if (positionals.length === 0) throw new UsageError('bench needs at least one image');
  const iterations = Number(values.iterations ?? 5), warmup = Number(values.warmup ?? 1);
  if (!(Number.isInteger(iterations) && iterations > 0)) throw new UsageError('--iterations must be a positive integer');
  if (!(Number.isInteger(warmup) && warmup >= 0)) throw new UsageError('--warmup must be a non-negative integer');
  const expressions = values.expression ?? ['the object on the left', 'the big thing in the middle'];
  const textCacheLimit = values['text-cache'] === undefined ? undefined : Number(values['text-cache']);
  if (textCacheLimit !== undefined && !(Number.isInteger(textCacheLimit) && textCacheLimit >= 0))
    throw new UsageError('--text-cache must be a non-negative integer');
  const [{ modelFlags }, { commandAllocatorTuning }] = await Promise.all([import('../modelFlags.ts'), import('../../models/allocatorTuning.ts')]);
  const options: BenchOptions = {
    models: values.models, images: positionals, expressions, iterations, warmup, vocabPath: values.vocab, textCacheLimit,
    ...modelFlags(values), allocator: commandAllocatorTuning(), log,
  };
  if (values.proposals !== undefined || values.trace !== undefined) return detailedBench(options, values.proposals, values.trace, values.json, log);
  const [{ benchStages }, { backendInfo }, { describeConfiguration }] = await Promise.all([
    import('../../eval/bench.ts'), import('../../../bindings/backend.ts'), import('../../eval/paperConfig.ts')]);
  const { stages, throughput, device, configuration } = await benchStages(options);
  console.log(stageTable(stages));
  console.log(`\n${throughput.imagesPerSecond.toFixed(2)} images/s, ${throughput.expressionsPerSecond.toFixed(2)} expressions/s ` +
    `(${expressions.length} expressions per image; models on ${device}, kernels ${backendInfo().cuda ? 'CUDA' : 'CPU'}; ` +
    'wall-clock stage times: ONNX Runtime calls include their host transfers)');
  console.log(describeConfiguration(configuration));
  if (values.json) writeFileSync(values.json, JSON.stringify({ stages, throughput, iterations, warmup, images: positionals, expressions, configuration }, null, 2) + '\n');
  return 0;
}

function stageTable(rows: StageStats[]): string {
  const head = ['stage', 'per', 'n', 'p50 ms', 'p90 ms', 'p99 ms', 'mean ms'];
  const cells = [head, ...rows.map((r) => [r.stage, r.per, String(r.samples), ...[r.p50, r.p90, r.p99, r.mean].map((v) => v.toFixed(1))])];
  const w = head.map((_, i) => Math.max(...cells.map((c) => c[i].length)));
  return cells.map((c, k) => c.map((x, i) => (i < 2 ? x.padEnd(w[i]) : x.padStart(w[i]))).join('  ') + (k === 0 ? '\n' + w.map((n) => '-'.repeat(n)).join('  ') : '')).join('\n');
}

/** `--proposals N[,N…]` (synthetic masks: exactly N proposals reach the CLIP stages) and/or `--trace FILE`: per stage
 *  time, FLOPs, bytes, GFLOP/s and peak RSS (src/eval/bench.ts, benchDetailed). */
async function detailedBench(options: BenchOptions, proposals: string | undefined, tracePath: string | undefined,
  jsonPath: string | undefined, log: Log): Promise<number> {
  const counts = proposals === undefined ? [null] : proposals.split(',').map((v) => {
    const n = Number(v);
    if (!(Number.isInteger(n) && n >= 1 && n <= 192)) throw new UsageError(`--proposals takes integers 1..192 (comma-separated), got ${v}`);
    return n;
  });
  const [{ benchDetailed }, { describeConfiguration }] = await Promise.all([import('../../eval/bench.ts'), import('../../eval/paperConfig.ts')]);
  const { report, fusion, configuration, traceEvents } = await benchDetailed({ ...options, proposals: counts, trace: Boolean(tracePath) });
  for (const r of report) console.log(detailedTable(r));
  console.log('FLOPs: matrix products and convolutions (2 per multiply-add) from the shapes in ONNX Runtime\'s profile; ' +
    'bytes: every node\'s inputs and outputs, per image, from one iteration on profiled sessions; times and peak RSS ' +
    'from the iterations on unprofiled sessions.');
  console.log(describeConfiguration(configuration));
  const { images, expressions, iterations, warmup } = options;
  if (jsonPath) writeFileSync(jsonPath, JSON.stringify({ report, iterations, warmup, images, expressions, fusion, configuration }, null, 2) + '\n');
  if (tracePath && traceEvents) {
    writeFileSync(tracePath, JSON.stringify({ traceEvents, displayTimeUnit: 'ms' }) + '\n');
    log(`wrote ${tracePath} (${traceEvents.length} events; open it in https://ui.perfetto.dev or chrome://tracing)`);
  }
  return 0;
}

function detailedTable(r: DetailedBench['report'][number]): string {
  const fmt = (v: number | null, d: number) => (v === null ? '-' : v.toFixed(d));
  const cells = [['stage', 'p50 ms', 'GFLOP', 'GFLOP/s', 'GB moved', 'peak RSS MiB'],
    ...r.stages.map((s) => [s.stage, s.ms.toFixed(1), fmt(s.gflop, 2), fmt(s.gflops, 1), fmt(s.gbMoved, 2), fmt(s.peakRssMiB, 0)])];
  const w = cells[0].map((_, i) => Math.max(...cells.map((c) => c[i].length)));
  return `proposals ${r.proposals ?? 'as SAM gives'} (${r.imagesPerSecond.toFixed(3)} images/s)\n` +
    cells.map((c) => c.map((x, i) => (i === 0 ? x.padEnd(w[i]) : x.padStart(w[i]))).join('  ')).join('\n') + '\n';
}
