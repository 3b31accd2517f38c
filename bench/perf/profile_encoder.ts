// SAM's image encoder with ONNX Runtime's per-node profile: time, FLOPs and GFLOP/s per operator type, and the
// same per block kind (windowed / global attention, MLP, layer norms, window partition copies).
// usage: npx tsx bench/perf/profile_encoder.ts MODELS_DIR [--runs 2] [--arena]
import { parseArgs } from 'node:util';

import { readOrtProfile } from '../../src/eval/ortProfile.ts';
import { nodeFlops } from '../../src/eval/trace.ts';
import { loadModels } from '../../src/models/loadModels.ts';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { runs: { type: 'string' }, arena: { type: 'boolean' } } });
const models = await loadModels(positionals[0], { device: 'cpu', models: ['sam_encoder'], warmup: false, profile: true, memoryArena: values.arena });
const pixels = { data: Float32Array.from({ length: 3 * 1024 * 1024 }, (_, i) => Math.sin(i * 0.001)), dims: [1, 3, 1024, 1024] };
const runs = Number(values.runs ?? 2);
await models.samEncoder(pixels); // warm-up, left out of the figures below
const wall: number[] = [];
for (let r = 0; r < runs; r++) {
  const t0 = performance.now();
  await models.samEncoder(pixels);
  wall.push(performance.now() - t0);
}
const [profile] = await models.endProfiling();
const all = readOrtProfile(profile.path).filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time'));
const perRun = Math.round(all.length / (runs + 1));
const events = all.slice(all.length - perRun * runs);
const shapes = (v: unknown) => ((v as Array<Record<string, number[]>>) ?? []).map((t) => Object.values(t)[0]);
const by = new Map<string, { us: number; flops: number; calls: number }>();
const add = (key: string, us: number, f: number) => {
  const t = by.get(key) ?? { us: 0, flops: 0, calls: 0 };
  t.us += us; t.flops += f; t.calls++;
  by.set(key, t);
};
let total = 0, totalFlops = 0;
for (const e of events) {
  const op = String(e.args?.op_name);
  const f = nodeFlops(op, shapes(e.args?.input_type_shape), shapes(e.args?.output_type_shape));
  const us = e.dur ?? 0;
  total += us; totalFlops += f;
  add(op, us, f);
  const outShape = shapes(e.args?.output_type_shape)[0] ?? [];
  add(`${op} ${outShape.join('x')}`, us, f);
}
console.log(`runs ${wall.map((w) => w.toFixed(0)).join(', ')} ms; kernels ${(total / runs / 1000).toFixed(0)} ms/run, ` +
  `${(totalFlops / runs / 1e9).toFixed(1)} GFLOP/run, ${(totalFlops / (total / 1e6) / 1e9).toFixed(1)} GFLOP/s; profile ${profile.path}`);
console.log('op [output shape]                          calls/run   ms/run   share  GFLOP/run  GFLOP/s');
const rows = [...by.entries()].sort((a, b) => b[1].us - a[1].us).slice(0, 45);
for (const [k, t] of rows) {
  console.log(`${k.padEnd(42)} ${String(t.calls / runs).padStart(8)} ${(t.us / runs / 1000).toFixed(1).padStart(8)} ` +
    `${((100 * t.us) / total).toFixed(1).padStart(6)}% ${t.flops ? (t.flops / runs / 1e9).toFixed(1).padStart(10) : ''.padStart(10)} ` +
    `${t.flops ? (t.flops / 1e9 / (t.us / 1e6)).toFixed(1).padStart(8) : ''}`);
}
await models.dispose();
