// `hybridgl bench --proposals N --trace` on the fixture models: the report's shape and the Chrome trace's structure.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { syntheticDecoderOutput } from '../src/eval/syntheticProposals.ts';
import { readOrtProfile } from '../src/eval/ortProfile.ts';
import { modelCost, nodeFlops, readableNodeName, type TraceEvent } from '../src/eval/trace.ts';
import { loadModels } from '../src/models/loadModels.ts';
import { runHybridgl } from './runProcess.ts';
import { CLIP_VOCAB_PATH } from './sharedData.ts';

const root = join(import.meta.dirname, '..');
const MODELS = join(root, 'test', 'fixtures', 'e2e', 'models');

describe('FLOPs from profile shapes', () => {
  it('counts matrix products, transposed first inputs, constant-weight convolutions', () => {
    expect(nodeFlops('MatMul', [[64, 4096, 32]], [[64, 4096, 16]])).toBe(2 * 64 * 4096 * 16 * 32);
    expect(nodeFlops('FusedMatMul', [[64, 32, 4096]], [[64, 4096, 16]])).toBe(2 * 64 * 4096 * 16 * 32);
    expect(nodeFlops('Gemm', [[5, 8]], [[5, 3]])).toBe(2 * 5 * 3 * 8);
    expect(nodeFlops('Conv', [[1, 3, 1024, 1024]], [[1, 768, 64, 64]])).toBe(2 * 768 * 64 * 64 * 3 * 16 * 16);
    expect(nodeFlops('ConvTranspose', [[2, 256, 64, 64]], [[2, 64, 128, 128]])).toBe(2 * 2 * 256 * 64 * 64 * 64 * 4);
    expect(nodeFlops('Add', [[4, 4], [4, 4]], [[4, 4]])).toBe(0);
  });
});

describe('synthetic proposals', () => {
  it('puts n disjoint rectangles in the first n slots and rejects counts that do not fit', () => {
    const { lowResLogits, iouPredictions } = syntheticDecoderOutput(5, 64, 170, 256);
    expect(lowResLogits.dims).toEqual([64, 3, 256, 256]);
    const plane = 256 * 256;
    const set = (k: number) => lowResLogits.data.subarray(k * plane, (k + 1) * plane).filter((v) => v > 0).length;
    for (let k = 0; k < 5; k++) expect(set(k)).toBeGreaterThan(100);
    expect(set(5)).toBe(0);
    expect([...iouPredictions.data.slice(0, 6)]).toEqual([0.95, 0.95, 0.95, 0.95, 0.95, 0].map(Math.fround));
    for (let i = 0; i < plane; i++) expect(Number(lowResLogits.data[i] > 0) + Number(lowResLogits.data[plane + i] > 0)).toBeLessThan(2);
    expect(() => syntheticDecoderOutput(0, 64, 170, 256)).toThrow(RangeError);
    expect(() => syntheticDecoderOutput(193, 64, 170, 256)).toThrow(RangeError);
  });
});

describe('hybridgl bench --proposals --trace (fixture models)', () => {
  let dir: string;
  let report: { report: Array<{ proposals: number; stages: Array<{ stage: string; ms: number; gflop: number | null; peakRssMiB: number | null }> }> };
  let trace: { traceEvents: TraceEvent[] };
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hybridgl-trace-'));
    const r = await runHybridgl(['bench', join(root, 'assets', 'demo.jpg'),
      '--models', MODELS, '--vocab', CLIP_VOCAB_PATH, '--iterations', '1', '--warmup', '0', '--proposals', '3',
      '--json', join(dir, 'bench.json'), '--trace', join(dir, 'trace.json')]);
    expect(r.status, r.stderr).toBe(0);
    report = JSON.parse(readFileSync(join(dir, 'bench.json'), 'utf8'));
    trace = JSON.parse(readFileSync(join(dir, 'trace.json'), 'utf8'));
  }, 300_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reports each stage with FLOPs for the model stages', () => {
    expect(report.report.map((r) => r.proposals)).toEqual([3]);
    const stages = new Map(report.report[0].stages.map((s) => [s.stage, s]));
    for (const s of ['samEncoder', 'samDecoder', 'clipTrunk', 'clipHead', 'gem']) {
      expect(stages.get(s)!.gflop).toBeGreaterThan(0);
      expect(stages.get(s)!.ms).toBeGreaterThan(0);
    }
    expect(stages.get('clipInputs')!.gflop).toBeNull();
  });

  it("counts a stage's FLOPs per image over all its runs: the decoder's 64 points = the sum of its 16 runs of 4", async () => {
    // Runs of 4 as the bench makes them: each run also pays the image side the prompts share (SAM's first layer), so
    // one run of 64 would cost less.
    const models = await loadModels(MODELS, { device: 'cpu', models: ['sam_decoder'], warmup: false, profile: true,
      rowsPerCall: { sam_decoder: 4 } });
    const file = models.manifest.files.find((f) => f.model === 'sam_decoder' && f.precision === 'fp32')!;
    const [c, g] = [file.inputs[0].shape[1] as number, file.inputs[0].shape[2] as number];
    await models.samDecoder({ data: new Float32Array(c * g * g).fill(0.1), dims: [1, c, g, g] },
      { data: new Float32Array(128).fill(100), dims: [64, 1, 2] }, { data: new Float32Array(64).fill(1), dims: [64, 1] });
    const [profile] = await models.endProfiling();
    await models.dispose();
    const whole = modelCost('sam_decoder', readOrtProfile(profile.path));
    expect(whole.runs).toBe(16);
    const bench = report.report[0].stages.find((s) => s.stage === 'samDecoder')!;
    expect(bench.gflop! * 1e9).toBeCloseTo(whole.flops, -3);
  });

  it('names an ORT node for people: operator, module path, output shape', () => {
    const e = { cat: 'Node', name: '/blocks.3/attn/qkv/MatMul_kernel_time', ph: 'X', ts: 0, dur: 5, pid: 1, tid: 1,
      args: { op_name: 'MatMul', output_type_shape: [{ float: [1, 4096, 2304] }] } };
    expect(readableNodeName(e)).toBe('MatMul blocks.3/attn/qkv 1×4096×2304');
    expect(readableNodeName({ ...e, name: 'Add_12_kernel_time', args: { op_name: 'Add' } })).toBe('Add');
  });

  it('has a track per stage, native kernel calls with sizes and GB/s, and ORT node events inside their stage', () => {
    const ev = trace.traceEvents;
    for (const e of ev) {
      expect(['X', 'M']).toContain(e.ph);
      expect(Number.isFinite(e.ts)).toBe(true);
      if (e.ph === 'X') expect(e.dur).toBeGreaterThanOrEqual(0);
    }
    const threadNames = ev.filter((e) => e.name === 'thread_name' && e.pid === 1).map((e) => e.args!.name);
    for (const s of ['samEncoder', 'samDecoder', 'samPostprocess', 'clipInputs', 'clipTrunk', 'clipHead', 'gem'])
      expect(threadNames).toContain(`stage ${s}`);
    const kernels = ev.filter((e) => e.cat === 'kernel');
    expect(kernels.map((k) => k.name)).toEqual(expect.arrayContaining(['gaussianBlur', 'buildClipInputs']));
    for (const k of kernels) {
      expect(Array.isArray(k.args!.sizes)).toBe(true);
      if ((k.args!.sizes as unknown[]).some((x) => typeof x === 'string' && x.includes('Array[')))
        expect(k.args!.bytes).toBeGreaterThan(0);
    }
    const blur = kernels.find((k) => k.name === 'gaussianBlur')!;
    expect(blur.args!['GB/s']).toBeGreaterThan(0);
    const processes = new Map(ev.filter((e) => e.name === 'process_name').map((e) => [e.pid, e.args!.name as string]));
    const encoderPid = [...processes].find(([, n]) => n === 'onnxruntime sam_encoder')![0];
    const stage = ev.find((e) => e.cat === 'stage' && e.name === 'samEncoder')!;
    const runs = ev.filter((e) => e.pid === encoderPid && e.name === 'model_run');
    expect(runs.length).toBeGreaterThanOrEqual(1);
    const run = runs[runs.length - 1];
    // ORT's clock starts at the session's creation: its run must fall inside the stage that made it (50 ms slack).
    expect(run.ts).toBeGreaterThan(stage.ts - 50_000);
    expect(run.ts + run.dur!).toBeLessThan(stage.ts + stage.dur! + 50_000);
    const nodes = ev.filter((e) => e.pid === encoderPid && e.cat === 'Node' && String(e.args?.node ?? '').endsWith('_kernel_time'));
    expect(nodes.length).toBeGreaterThan(10);
    // Named for people: operator, module path, output shape; never ORT's raw name or a JSON blob.
    for (const n of nodes) expect(n.name).toMatch(/^[A-Za-z0-9]+( [^ {}"]+)? (\d+(×\d+)*|scalar)$/);
    expect(nodes.map((n) => n.name)).toEqual(expect.arrayContaining([expect.stringMatching(/^MatMul \S*blocks\.\d+\S* \d+×/)]));
  });
});
