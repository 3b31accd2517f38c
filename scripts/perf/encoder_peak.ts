// Peak RSS of one SAM encoder call (ORT arena off), and its output checksum: compare two exports of the encoder.
// usage: npx tsx scripts/perf/encoder_peak.ts MODELS_DIR
import { readFileSync } from 'node:fs';

import { loadModels } from '../../src/models/loadModels.ts';

const hwm = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;
const models = await loadModels(process.argv[2], { device: 'cpu', models: ['sam_encoder'], warmup: false });
const loaded = hwm();
const pixels = Float32Array.from({ length: 3 * 1024 * 1024 }, (_, i) => Math.sin(i * 0.001));
const t0 = performance.now();
const out = await models.samEncoder({ data: pixels, dims: [1, 3, 1024, 1024] });
let sum = 0;
for (const v of out.data) sum += v;
console.log(`peak after load ${loaded.toFixed(0)} MiB, after the call ${hwm().toFixed(0)} MiB; ${(performance.now() - t0).toFixed(0)} ms; sum ${sum}`);
