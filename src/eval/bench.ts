// `hybridgl bench`: each pipeline stage timed per image and per expression after warm-up (p50/p90/p99, throughput).
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { backendInfo } from '../../bindings/backend.ts';
import { UsageError } from '../cliErrors.ts';
import type { Fusion } from '../models/loadModels.ts';
import { createSegmenter } from '../segmenter.ts';

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export interface StageStats {
  stage: string;
  per: 'image' | 'expression';
  samples: number;
  p50: number;
  p90: number;
  p99: number;
  mean: number;
}

export function stageStats(samples: Map<string, number[]>, per: 'image' | 'expression'): StageStats[] {
  return [...samples.entries()].map(([stage, values]) => {
    const s = [...values].sort((a, b) => a - b);
    return { stage, per, samples: s.length, p50: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99), mean: s.reduce((a, b) => a + b, 0) / s.length };
  });
}

function table(rows: StageStats[]): string {
  const head = ['stage', 'per', 'n', 'p50 ms', 'p90 ms', 'p99 ms', 'mean ms'];
  const cells = [head, ...rows.map((r) => [r.stage, r.per, String(r.samples), ...[r.p50, r.p90, r.p99, r.mean].map((v) => v.toFixed(1))])];
  const w = head.map((_, i) => Math.max(...cells.map((c) => c[i].length)));
  return cells.map((c, k) => c.map((x, i) => (i < 2 ? x.padEnd(w[i]) : x.padStart(w[i]))).join('  ') + (k === 0 ? '\n' + w.map((n) => '-'.repeat(n)).join('  ') : '')).join('\n');
}

export async function runBenchCommand(args: string[], log: (m: string) => void): Promise<number> {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true,
    options: {
      models: { type: 'string' }, iterations: { type: 'string' }, warmup: { type: 'string' }, json: { type: 'string' },
      fusion: { type: 'string' }, device: { type: 'string' }, precision: { type: 'string' }, vocab: { type: 'string' },
      expression: { type: 'string', multiple: true }, kernels: { type: 'boolean' },
    },
  });
  if (values.kernels) {
    const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
    const r = spawnSync(process.execPath, [join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(root, 'bench', 'index.ts'), ...positionals], { stdio: 'inherit' });
    return r.status ?? 1;
  }
  if (!values.models) throw new UsageError('bench needs --models DIR (or --kernels for the native micro-benchmarks)');
  if (positionals.length === 0) throw new UsageError('bench needs at least one image');
  const iterations = Number(values.iterations ?? 5), warmup = Number(values.warmup ?? 1);
  if (!(Number.isInteger(iterations) && iterations > 0)) throw new UsageError('--iterations must be a positive integer');
  if (!(Number.isInteger(warmup) && warmup >= 0)) throw new UsageError('--warmup must be a non-negative integer');
  const expressions = values.expression ?? ['the object on the left', 'the big thing in the middle'];
  const segmenter = await createSegmenter({
    models: values.models, fusion: values.fusion as Fusion | undefined, vocabPath: values.vocab,
    device: values.device as 'auto' | 'cpu' | 'cuda' | undefined, precision: values.precision as 'fp32' | 'fp16' | undefined,
  });
  const perImage = new Map<string, number[]>(), perExpr = new Map<string, number[]>();
  const push = (m: Map<string, number[]>, t: Record<string, number>) => {
    for (const [k, v] of Object.entries(t)) m.set(k, [...(m.get(k) ?? []), v]);
  };
  let images = 0, exprs = 0, wall = 0;
  try {
    for (let it = 0; it < warmup + iterations; it++) {
      for (const path of positionals) {
        const t0 = performance.now();
        const r = await segmenter.segment(path, expressions);
        const dt = performance.now() - t0;
        if (it < warmup) continue;
        wall += dt;
        images++;
        exprs += r.results.length;
        push(perImage, { ...r.timings, total: dt });
        for (const e of r.results) push(perExpr, e.timings);
      }
      log(`iteration ${it + 1}/${warmup + iterations}${it < warmup ? ' (warm-up)' : ''}`);
    }
  } finally {
    await segmenter.dispose();
  }
  const rows = [...stageStats(perImage, 'image'), ...stageStats(perExpr, 'expression')];
  const throughput = { imagesPerSecond: (1000 * images) / wall, expressionsPerSecond: (1000 * exprs) / wall };
  console.log(table(rows));
  console.log(`\n${throughput.imagesPerSecond.toFixed(2)} images/s, ${throughput.expressionsPerSecond.toFixed(2)} expressions/s ` +
    `(${expressions.length} expressions per image; models on ${segmenter.models.device}, kernels ${backendInfo().cuda ? 'CUDA' : 'CPU'}; ` +
    'wall-clock stage times: ONNX Runtime calls include their host transfers)');
  if (values.json) writeFileSync(values.json, JSON.stringify({ stages: rows, throughput, iterations, warmup, images: positionals, expressions }, null, 2) + '\n');
  return 0;
}
