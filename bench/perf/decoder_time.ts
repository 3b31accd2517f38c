// SAM's decoder on one image's 64-point grid: wall time per call, CPU user/sys, minor page faults, peak RSS.
// usage: npx tsx bench/perf/decoder_time.ts MODELS_DIR [--runs 3] [--arena] [--rows-per-call N]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { samPointGrid, samTransformCoords } from '../../bindings/samPost.ts';
import { commandAllocatorTuning } from '../../src/models/allocatorTuning.ts';
import { loadModels } from '../../src/models/loadModels.ts';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { runs: { type: 'string' }, arena: { type: 'boolean' }, 'rows-per-call': { type: 'string' } } });
const rowsPerCall = values['rows-per-call'] ? { sam_decoder: Number(values['rows-per-call']) } : undefined;
const models = await loadModels(positionals[0], { device: 'cpu', models: ['sam_decoder'], warmup: false, memoryArena: values.arena, allocator: commandAllocatorTuning(), rowsPerCall });
const file = models.manifest.files.find((f) => f.model === 'sam_decoder' && f.precision === 'fp32')!;
const c = file.inputs[0].shape[1] as number, g = file.inputs[0].shape[2] as number;
const emb = { data: Float32Array.from({ length: c * g * g }, (_, i) => Math.sin(i * 0.37)), dims: [1, c, g, g] };
const grid = samPointGrid(534, 800, 8);
const points = { data: Float32Array.from(samTransformCoords(grid, 534, 800, 1024)), dims: [64, 1, 2] };
const labels = { data: new Float32Array(64).fill(1), dims: [64, 1] };
for (let r = 0; r < Number(values.runs ?? 3); r++) {
  const u0 = process.resourceUsage(), t0 = performance.now();
  const out = await models.samDecoder(emb, points, labels);
  const t = performance.now() - t0, u = process.resourceUsage();
  let sum = 0;
  for (const v of out.lowResLogits.data) sum += v;
  console.log(`run ${r}: ${t.toFixed(0)} ms wall, user ${((u.userCPUTime - u0.userCPUTime) / 1e3).toFixed(0)} ms, ` +
    `sys ${((u.systemCPUTime - u0.systemCPUTime) / 1e3).toFixed(0)} ms, minor faults ${u.minorPageFault - u0.minorPageFault}; sum ${sum}`);
}
console.log(`peak RSS ${(Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024).toFixed(0)} MiB`);
await models.dispose();
