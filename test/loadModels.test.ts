// Exported tiny models (scripts/fixtures/make_models.sh) through onnxruntime-node against the PyTorch outputs, and
// the loader's errors.
import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModels, ModelLoadError, type FloatTensor, type Models } from '../src/models/loadModels.js';

const DIR = join(import.meta.dirname, 'fixtures', 'models');

interface InputSpec {
  pattern?: number; maskPattern?: number; levels?: number; shape?: number[];
  values?: unknown[]; output_of?: string; rows?: [number, number];
}
interface Case {
  model: string;
  inputs: Record<string, InputSpec>;
  outputs: Record<string, { offset: number; shape: number[] }>;
}
const reference = JSON.parse(readFileSync(join(DIR, 'reference.json'), 'utf8')) as { cases: Case[] };
const refData = new Float32Array(new Uint8Array(readFileSync(join(DIR, 'reference.bin'))).buffer);

/** k_i = (i·7919 + seed·104729) mod 2001, as models/hybridgl_export/reference_io.py. */
const patternIndex = (i: number, seed: number) => (i * 7919 + seed * 104729) % 2001;

function refOutput(c: Case, name: string): FloatTensor {
  const { offset, shape } = c.outputs[name];
  const n = shape.reduce((a, b) => a * b, 1);
  return { data: refData.subarray(offset, offset + n), dims: shape };
}

function input(spec: InputSpec): FloatTensor {
  if (spec.values) {
    const flat = (spec.values as unknown[]).flat(3) as number[];
    const dims: number[] = [];
    for (let v: unknown = spec.values; Array.isArray(v); v = v[0]) dims.push(v.length);
    return { data: Float32Array.from(flat), dims };
  }
  if (spec.output_of) {
    const c = reference.cases.find((x) => x.model === spec.output_of)!;
    const full = refOutput(c, Object.keys(c.outputs)[0]);
    const row = full.dims.slice(1).reduce((a, b) => a * b, 1);
    const [a, b] = spec.rows!;
    return { data: full.data.slice(a * row, b * row), dims: [b - a, ...full.dims.slice(1)] };
  }
  const shape = spec.shape!;
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  if (spec.maskPattern !== undefined)
    for (let i = 0; i < data.length; i++) data[i] = (patternIndex(i, spec.maskPattern) % spec.levels!) / (spec.levels! - 1);
  else for (let i = 0; i < data.length; i++) data[i] = (patternIndex(i, spec.pattern!) - 1000) / 1000;
  return { data, dims: shape };
}

/** max |a − b| / max |b|. */
function relativeError(got: FloatTensor, want: FloatTensor): number {
  expect(got.dims).toEqual(want.dims);
  let diff = 0, scale = 0;
  for (let i = 0; i < want.data.length; i++) {
    diff = Math.max(diff, Math.abs(got.data[i] - want.data[i]));
    scale = Math.max(scale, Math.abs(want.data[i]));
  }
  return diff / scale;
}

async function runCase(models: Models, c: Case): Promise<Record<string, FloatTensor>> {
  const inp = (name: string) => input(c.inputs[name]);
  switch (c.model) {
    case 'sam_encoder': return { embeddings: await models.samEncoder(inp('pixels')) };
    case 'sam_decoder': {
      const r = await models.samDecoder(inp('embeddings'), inp('points'), inp('labels'));
      return { low_res_logits: r.lowResLogits, iou_predictions: r.iouPredictions };
    }
    case 'clip_trunk': return { tokens: await models.clipTrunk(inp('images')) };
    case 'clip_text': {
      const ids = (c.inputs.ids.values as number[][]);
      return { features: await models.clipText({ data: Int32Array.from(ids.flat()), dims: [ids.length, ids[0].length] }) };
    }
    case 'gem_visual': return { patch_features: await models.gemVisual(inp('images')) };
    default: {
      const fusion = (models.manifest.files.find((f) => f.model === c.model)!).fusion!;
      const local = c.inputs.local ? inp('local') : inp('tokens');
      const global = c.inputs.global ? inp('global') : null;
      const grid = c.inputs.mask_grid ? inp('mask_grid') : null;
      return { features: await models.clipHead(local, global, grid, fusion) };
    }
  }
}

describe('loadModels on the tiny fixtures (fp32, CPU)', () => {
  let models: Models;
  beforeAll(async () => {
    models = await loadModels(DIR, { device: 'cpu', precision: 'fp32' });
  }, 120_000);
  afterAll(() => models?.dispose());

  it('reports the manifest facts', () => {
    expect(models.device).toBe('cpu');
    expect(models.logitScale).toBeCloseTo(100, 3);
    expect(models.vocabPath).toBeNull(); // not committed with the fixtures
    expect(models.manifest.files.length).toBe(11);
  });

  for (const c of reference.cases)
    it(`${c.model} matches PyTorch (relative error ≤ 1e-5)`, async () => {
      const got = await runCase(models, c);
      for (const name of Object.keys(c.outputs)) {
        const err = relativeError(got[name], refOutput(c, name));
        expect(err, `${c.model}.${name}`).toBeLessThanOrEqual(1e-5);
      }
    }, 60_000);

  it('broadcasts one token row over the masks (token_masking, attn_masking)', async () => {
    const c = reference.cases.find((x) => x.model === 'clip_head_token_masking')!;
    const tokens = input(c.inputs.tokens), grid = input(c.inputs.mask_grid);
    const row = tokens.dims.slice(1).reduce((a, b) => a * b, 1);
    const first = { data: tokens.data.slice(0, row), dims: [1, ...tokens.dims.slice(1)] };
    const firstTwice = { data: new Float32Array([...first.data, ...first.data]), dims: [2, ...tokens.dims.slice(1)] };
    for (const fusion of ['token_masking', 'attn_masking'] as const) {
      const one = await models.clipHead(first, null, grid, fusion);
      const two = await models.clipHead(firstTwice, null, grid, fusion);
      expect(relativeError(one, two)).toBeLessThanOrEqual(1e-6);
    }
  });

  it('rejects inputs of the wrong shape, naming them', async () => {
    await expect(models.clipTrunk({ data: new Float32Array(3 * 4 * 4), dims: [1, 3, 4, 4] }))
      .rejects.toThrow(/clip_trunk: images has dims \[1, 3, 4, 4\], expected \[batch, 3, 224, 224\]/);
    await expect(models.clipHead(input({ shape: [1, 197, 32], pattern: 1 }), null, null, 'G2L'))
      .rejects.toThrow(/needs the global tokens/);
  });
});

describe('loadModels errors', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hybridgl-models-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const fresh = () => {
    rmSync(dir, { recursive: true, force: true });
    cpSync(DIR, dir, { recursive: true });
  };
  const only = { device: 'cpu' as const, models: ['clip_head_crop' as const], warmup: false };

  it('names a missing file and says what to run', async () => {
    fresh();
    unlinkSync(join(dir, 'clip_head_crop.fp32.onnx'));
    const err = await loadModels(dir, only).catch((e) => e);
    expect(err).toBeInstanceOf(ModelLoadError);
    expect(err.message).toMatch(/clip_head_crop\.fp32\.onnx is missing/);
    expect(err.message).toMatch(/Re-export them: python3 models\/export\.py --random-init --tiny/);
  });

  it('names a file with the wrong hash', async () => {
    fresh();
    const path = join(dir, 'clip_head_crop.fp32.onnx');
    const bytes = readFileSync(path);
    bytes[bytes.length - 1] ^= 1;
    writeFileSync(path, bytes);
    await expect(loadModels(dir, only)).rejects.toThrow(/clip_head_crop\.fp32\.onnx has the wrong sha256/);
  });

  it('rejects a bad manifest', async () => {
    fresh();
    writeFileSync(join(dir, 'manifest.json'), '{ "format": ');
    await expect(loadModels(dir, only)).rejects.toThrow(/manifest\.json is not valid JSON/);
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ format: 'other', files: [] }));
    await expect(loadModels(dir, only)).rejects.toThrow(/expected hybridgl-models v1[\s\S]*lists no model files/);
    rmSync(join(dir, 'manifest.json'));
    await expect(loadModels(dir, only)).rejects.toThrow(/manifest\.json is missing/);
  });

  it('rejects inputs/outputs that differ from the session metadata', async () => {
    fresh();
    const manifest = JSON.parse(readFileSync(join(DIR, 'manifest.json'), 'utf8'));
    const crop = manifest.files.find((f: { model: string }) => f.model === 'clip_head_crop');
    crop.inputs[0].name = 'pixels';
    crop.outputs[0].shape = ['masks', 999];
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
    const err = await loadModels(dir, only).catch((e) => e);
    expect(err).toBeInstanceOf(ModelLoadError);
    expect(err.problems).toEqual([
      'clip_head_crop.fp32.onnx: inputs are [tokens], the manifest says [pixels]',
      'clip_head_crop.fp32.onnx: output features is float32 [masks, 16], the manifest says float32 [masks, 999]',
    ]);
  });

  it('checks a vocabPath override against the manifest hash', async () => {
    fresh();
    await expect(loadModels(dir, { ...only, vocabPath: join(dir, 'nope.txt.gz') })).rejects.toThrow(/vocabulary .*nope\.txt\.gz is missing/);
    writeFileSync(join(dir, 'fake.txt.gz'), 'not the vocabulary');
    await expect(loadModels(dir, { ...only, vocabPath: join(dir, 'fake.txt.gz') })).rejects.toThrow(/has the wrong sha256/);
  });

  it('reports a precision the directory lacks', async () => {
    fresh();
    await expect(loadModels(dir, { ...only, precision: 'fp16' })).rejects.toThrow(/no fp16 file for clip_head_crop/);
  });
});
