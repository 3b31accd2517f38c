// SAM's decoder on one image's 64-point grid with ONNX Runtime's per-node profile: time per operator type.
// usage: npx tsx bench/perf/profile_decoder.ts MODELS_DIR [--runs 3] [--model sam_decoder] [--arena] [--rows N]
//   --arena: ORT's memory arena on (no page-fault time in the figures); --rows: prompts per call (default the loader's)
import { parseArgs } from 'node:util';

import { samPointGrid, samTransformCoords } from '../../bindings/samPost.ts';
import { opTotals, readOrtProfile } from '../../src/eval/ortProfile.ts';
import { nodeFlops } from '../../src/eval/trace.ts';
import { commandAllocatorTuning } from '../../src/models/allocatorTuning.ts';
import { loadModels, type ModelName } from '../../src/models/loadModels.ts';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { runs: { type: 'string' }, model: { type: 'string' }, arena: { type: 'boolean' }, rows: { type: 'string' } } });
const model = (values.model ?? 'sam_decoder') as ModelName;
const models = await loadModels(positionals[0], {
  device: 'cpu', models: [model], warmup: false, profile: true, memoryArena: values.arena, allocator: commandAllocatorTuning(),
  rowsPerCall: values.rows ? { [model]: Number(values.rows) } : undefined,
});
const file = models.manifest.files.find((f) => f.model === model && f.precision === 'fp32')!;
const c = file.inputs[0].shape[1] as number, g = file.inputs[0].shape[2] as number;
const emb = { data: Float32Array.from({ length: c * g * g }, (_, i) => Math.sin(i * 0.37)), dims: [1, c, g, g] };
const grid = samPointGrid(534, 800, 8);
const points = { data: Float32Array.from(samTransformCoords(grid, 534, 800, 1024)), dims: [64, 1, 2] };
const labels = { data: new Float32Array(64).fill(1), dims: [64, 1] };
const runs = Number(values.runs ?? 3);
const wall: number[] = [];
for (let r = 0; r < runs; r++) {
  const t0 = performance.now();
  await models.samDecoder(emb, points, labels);
  wall.push(performance.now() - t0);
}
const [profile] = await models.endProfiling();
const events = readOrtProfile(profile.path);
const totals = opTotals(events);
const all = totals.reduce((a, t) => a + t.us, 0);
// FLOPs per operator type from the profile's shapes (matrix products and convolutions; see trace.ts nodeFlops).
const flops = new Map<string, number>();
for (const e of events) {
  if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
  const shapes = (v: unknown) => ((v as Array<Record<string, number[]>>) ?? []).map((t) => Object.values(t)[0]);
  const op = String(e.args?.op_name);
  flops.set(op, (flops.get(op) ?? 0) + nodeFlops(op, shapes(e.args?.input_type_shape), shapes(e.args?.output_type_shape)));
}
const callFlops = [...flops.values()].reduce((a, f) => a + f, 0) / runs;
console.log(`runs ${wall.map((w) => w.toFixed(0)).join(', ')} ms; kernels ${(all / runs / 1000).toFixed(0)} ms/run, ` +
  `${(callFlops / 1e9).toFixed(1)} GFLOP/run; profile ${profile.path}`);
console.log('op                      calls   ms/run   share  GFLOP/run  GFLOP/s');
for (const t of totals.slice(0, 20)) {
  const f = (flops.get(t.op) ?? 0) / runs;
  console.log(`${t.op.padEnd(22)} ${String(t.calls / runs).padStart(6)} ${(t.us / runs / 1000).toFixed(1).padStart(8)} ` +
    `${((100 * t.us) / all).toFixed(1).padStart(6)}% ${f ? (f / 1e9).toFixed(1).padStart(10) : ''.padStart(10)} ` +
    `${f ? (f / 1e9 / (t.us / runs / 1e6)).toFixed(1).padStart(8) : ''}`);
}
await models.dispose();
