// Runs one exported graph (any precision variant: bench/perf/precision_variants.py) on ONNX Runtime's CPU provider
// with the loader's session options, on fixed inputs of the pipeline's shapes; prints the session-creation and per-run
// times, and with --compare the first output's difference from a saved one (e.g. the fp32 graph's).
// Time whole processes against each other (A B A B …) for speed ratios; the in-process times are a cross-check.
// usage: npx tsx bench/perf/precision_run.ts FILE.onnx [--runs N] [--threads 2] [--batch B] [--save OUT.f32]
//          [--compare REF.f32] [--profile]
//   FILE's name starts with the model (sam_encoder, sam_decoder, clip_trunk, clip_head_g2l, clip_text, gem_visual);
//   --batch: images for clip_trunk (default 20, i.e. 10 proposals local + global), masks for clip_head_g2l (10),
//   prompts for sam_decoder (64).
//   --profile: ONNX Runtime's per-node profile of the runs, summed per operator type.
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';

import * as ort from 'onnxruntime-node';

import { opTotals, readOrtProfile } from '../../src/eval/ortProfile.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    runs: { type: 'string' }, threads: { type: 'string' }, batch: { type: 'string' },
    save: { type: 'string' }, compare: { type: 'string' }, profile: { type: 'boolean' },
  },
});
const file = positionals[0];
if (!file) throw new Error('usage: precision_run.ts FILE.onnx [--runs N] [--threads T] [--batch B] [--save F] [--compare F]');
const runs = Number(values.runs ?? 1);
const threads = Number(values.threads ?? 2);

/** A smooth deterministic pattern in [-amp, amp]. */
function pattern(count: number, amp: number, phase: number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = amp * Math.sin(i * 0.0137 + phase) * Math.cos(i * 0.00071);
  return out;
}

function floats(dims: number[], amp: number, phase: number): ort.Tensor {
  return new ort.Tensor('float32', pattern(dims.reduce((a, b) => a * b, 1), amp, phase), dims);
}

function feeds(model: string): Record<string, ort.Tensor> {
  if (model === 'sam_encoder') return { pixels: floats([1, 3, 1024, 1024], 2, 0) };
  if (model === 'gem_visual') return { images: floats([1, 3, 448, 448], 2, 0) };
  if (model === 'sam_decoder') {
    // one call of the pipeline's 64-point batches (the 8×8 grid, spec §2): prompt coordinates within 1024²
    const prompts = Number(values.batch ?? 64);
    const points = new Float32Array(prompts * 2);
    for (let i = 0; i < prompts; i++) { points[2 * i] = 64 + ((i * 37) % 896); points[2 * i + 1] = 64 + ((i * 53) % 896); }
    return {
      embeddings: floats([1, 256, 64, 64], 1, 0), points: new ort.Tensor('float32', points, [prompts, 1, 2]),
      labels: new ort.Tensor('float32', new Float32Array(prompts).fill(1), [prompts, 1]),
    };
  }
  if (model === 'clip_trunk') return { images: floats([Number(values.batch ?? 20), 3, 224, 224], 2, 0) };
  if (model === 'clip_head_g2l') {
    const m = Number(values.batch ?? 10);
    const grid = new Float32Array(m * 196);
    for (let i = 0; i < grid.length; i++) grid[i] = (i * 7919) % 13 < 5 ? 1 : 0;
    return {
      local: floats([m, 197, 768], 1, 0), global: floats([m, 197, 768], 1, 1),
      mask_grid: new ort.Tensor('float32', grid, [m, 14, 14]),
    };
  }
  if (model === 'clip_text') {
    const b = Number(values.batch ?? 1);
    const ids = new BigInt64Array(b * 77);
    for (let r = 0; r < b; r++) {
      ids[r * 77] = 49406n;
      for (let t = 1; t < 9; t++) ids[r * 77 + t] = BigInt(320 + ((r * 31 + t * 97) % 40000));
      ids[r * 77 + 9] = 49407n;
    }
    return { ids: new ort.Tensor('int64', ids, [b, 77]) };
  }
  throw new Error(`${file}: the name does not start with a known model`);
}

const model = /^(sam_encoder|sam_decoder|gem_visual|clip_trunk|clip_head_g2l|clip_text)/.exec(basename(file))?.[1] ?? '';
const input = feeds(model);
let t = performance.now();
const session = await ort.InferenceSession.create(file, {
  executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: threads,
  enableCpuMemArena: false, enableMemPattern: false, logSeverityLevel: 3,
  ...(values.profile ? { enableProfiling: true, profileFilePrefix: `/tmp/precision_run_${process.pid}` } : {}),
});
const created = performance.now() - t;
const times: number[] = [];
let first: ort.Tensor | undefined;
for (let r = 0; r < runs; r++) {
  t = performance.now();
  const out = await session.run(input);
  times.push(performance.now() - t);
  first = out[session.outputNames[0]];
}
const data = first!.data as Float32Array;
console.log(`${basename(file)}: session ${created.toFixed(0)} ms; runs ${times.map((x) => x.toFixed(0)).join(' ')} ms; ` +
  `output ${session.outputNames[0]} [${first!.dims.join(',')}]`);
if (values.profile) {
  session.endProfiling();
  const prefix = `precision_run_${process.pid}`;
  const name = readdirSync('/tmp').find((f) => f.startsWith(prefix) && f.endsWith('.json'));
  if (!name) throw new Error(`no ONNX Runtime profile /tmp/${prefix}*.json`);
  const path = `/tmp/${name}`;
  const totals = opTotals(readOrtProfile(path));
  const all = totals.reduce((a, x) => a + x.us, 0);
  for (const x of totals.slice(0, 12))
    console.log(`  ${x.op.padEnd(24)} ${(x.us / runs / 1000).toFixed(0).padStart(7)} ms/run ${((100 * x.us) / all).toFixed(1).padStart(5)}%`);
  rmSync(path);
}
if (values.save) writeFileSync(values.save, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
if (values.compare) {
  const raw = readFileSync(values.compare);
  const ref = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
  if (ref.length !== data.length) throw new Error(`${values.compare}: ${ref.length} values, the output has ${data.length}`);
  let maxDiff = 0; let maxRef = 0; let dot = 0; let na = 0; let nb = 0;
  for (let i = 0; i < ref.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(data[i] - ref[i]));
    maxRef = Math.max(maxRef, Math.abs(ref[i]));
    dot += data[i] * ref[i]; na += data[i] * data[i]; nb += ref[i] * ref[i];
  }
  console.log(`vs ${basename(values.compare)}: max |diff| ${maxDiff.toExponential(2)} (max |ref| ${maxRef.toExponential(2)}), ` +
    `cosine ${(dot / Math.sqrt(na * nb)).toFixed(6)}`);
}
