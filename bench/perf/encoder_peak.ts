// Peak RSS of SAM encoder calls (ORT arena off) over the RSS before each, and the output checksum: compare two
// exports of the encoder. The peak is reset before each call (Linux: /proc/self/clear_refs).
// usage: npx tsx bench/perf/encoder_peak.ts MODELS_DIR [--calls 1]   (HYBRIDGL_THREADS sets the intra-op threads)
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { commandAllocatorTuning } from '../../src/models/allocatorTuning.ts';
import { loadModels } from '../../src/models/loadModels.ts';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { calls: { type: 'string' } } });
const status = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;
const models = await loadModels(positionals[0], { device: 'cpu', models: ['sam_encoder'], warmup: false, allocator: commandAllocatorTuning() });
console.log(`peak after load ${status('VmHWM').toFixed(0)} MiB`);
const pixels = Float32Array.from({ length: 3 * 1024 * 1024 }, (_, i) => Math.sin(i * 0.001));
for (let c = 0; c < Number(values.calls ?? 1); c++) {
  writeFileSync('/proc/self/clear_refs', '5');
  const before = status('VmRSS'), t0 = performance.now();
  const out = await models.samEncoder({ data: pixels, dims: [1, 3, 1024, 1024] });
  const peak = status('VmHWM');
  let sum = 0;
  for (const v of out.data) sum += v;
  console.log(`call ${c}: RSS before ${before.toFixed(0)} MiB, peak ${peak.toFixed(0)} MiB (+${(peak - before).toFixed(0)}); ` +
    `${(performance.now() - t0).toFixed(0)} ms; sum ${sum}`);
}
await models.dispose();
