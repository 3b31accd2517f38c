// Exported tiny models (scripts/fixtures/make_models.sh) through onnxruntime-node against the PyTorch outputs, and
// the loader's errors.
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOrtProfile } from '../src/eval/ortProfile.ts';
import {
  cudaProviderInstalled, loadModels, ModelLoadError, type Manifest, type ManifestFile, type Models,
} from '../src/models/loadModels.ts';
import {
  loadReference, referenceInput, referenceOutput, relativeError, runReferenceCase, type InputSpec,
} from './modelReference.ts';
import { runHybridgl } from './runProcess.ts';

const DIR = join(import.meta.dirname, 'fixtures', 'models');
const reference = loadReference(DIR);
const input = (spec: InputSpec) => referenceInput(reference, spec);

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
    expect(models.manifest.files.filter((f) => f.precision === 'fp32').length).toBe(11);
  });

  for (const c of reference.cases)
    it(`${c.model} matches PyTorch (relative error ≤ 1e-5)`, async () => {
      const got = await runReferenceCase(models, reference, c);
      for (const name of Object.keys(c.outputs)) {
        const err = relativeError(got[name], referenceOutput(reference, c, name));
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

  it('gives the same outputs with glibc\'s mmap threshold set per model or left to glibc (allocator.mmapThresholds)', async () => {
    const names = ['sam_encoder', 'sam_decoder', 'clip_trunk'] as const;
    const on = await loadModels(DIR, { device: 'cpu', models: [...names], warmup: false, allocator: { mmapThresholds: true, releaseFreeHeap: true } });
    const off = await loadModels(DIR, { device: 'cpu', models: [...names], warmup: false, allocator: { mmapThresholds: false } });
    try {
      for (const c of reference.cases.filter((x) => (names as readonly string[]).includes(x.model))) {
        const a = await runReferenceCase(on, reference, c), b = await runReferenceCase(off, reference, c);
        for (const name of Object.keys(c.outputs)) expect(a[name], `${c.model}.${name}`).toEqual(b[name]);
      }
    } finally {
      await on.dispose();
      await off.dispose();
    }
  }, 120_000);

  it('splits batches into calls of a few rows with the whole batch\'s outputs (rowsPerCall)', async () => {
    const whole = await loadModels(DIR, { device: 'cpu', models: ['sam_decoder', 'clip_trunk', 'clip_head_g2l', 'clip_head_token_masking'],
      warmup: false, rowsPerCall: { sam_decoder: Infinity, clip_trunk: Infinity, clip_head_g2l: Infinity, clip_head_token_masking: Infinity } });
    const split = await loadModels(DIR, { device: 'cpu', models: ['sam_decoder', 'clip_trunk', 'clip_head_g2l', 'clip_head_token_masking'],
      warmup: false, profile: true, rowsPerCall: { sam_decoder: 2, clip_trunk: 2, clip_head_g2l: 2, clip_head_token_masking: 1 } });
    try {
      const dec = reference.cases.find((x) => x.model === 'sam_decoder')!;
      const embeddings = input(dec.inputs.embeddings);
      const points = { data: Float32Array.from({ length: 5 * 2 }, (_, i) => 37 + 97 * i), dims: [5, 1, 2] };
      const labels = { data: new Float32Array([1, 1, 0, 1, 1]), dims: [5, 1] };
      const a = await whole.samDecoder(embeddings, points, labels), b = await split.samDecoder(embeddings, points, labels);
      expect(b.lowResLogits.dims).toEqual(a.lowResLogits.dims);
      expect(b.lowResLogits.data).toEqual(a.lowResLogits.data);
      expect(b.iouPredictions).toEqual(a.iouPredictions);
      const images = input({ shape: [3, 3, 224, 224], pattern: 2 });
      const tokens = await whole.clipTrunk(images);
      expect(await split.clipTrunk(images)).toEqual(tokens);
      const grid = input({ shape: [3, 14, 14], maskPattern: 4, levels: 5 });
      expect(await split.clipHead(tokens, tokens, grid, 'G2L')).toEqual(await whole.clipHead(tokens, tokens, grid, 'G2L'));
      // token_masking broadcasts a batch of one token row over the masks: that input is not split.
      const one = { data: tokens.data.slice(0, tokens.data.length / 3), dims: [1, ...tokens.dims.slice(1)] };
      expect(await split.clipHead(one, null, grid, 'token_masking')).toEqual(await whole.clipHead(one, null, grid, 'token_masking'));
      // A token row per mask (the pipeline's local stream) is split with the masks.
      expect(await split.clipHead(tokens, null, grid, 'token_masking')).toEqual(await whole.clipHead(tokens, null, grid, 'token_masking'));
      // The calls made: 5 prompts in 2 + 2 + 1, 3 images in 2 + 1, 3 masks in 2 + 1, then 1 + 1 + 1 twice.
      const runs = Object.fromEntries((await split.endProfiling()).map((p) =>
        [p.model, readOrtProfile(p.path).filter((e) => e.cat === 'Session' && e.name === 'model_run').length]));
      expect(runs).toEqual({ sam_decoder: 3, clip_trunk: 2, clip_head_g2l: 2, clip_head_token_masking: 6 });
    } finally {
      await whole.dispose();
      await split.dispose();
    }
    await expect(loadModels(DIR, { device: 'cpu', rowsPerCall: { sam_decoder: 0 } })).rejects.toThrow(RangeError);
  }, 120_000);

  it('runs a batch of prompts through the SAM decoder row by row alike', async () => {
    const c = reference.cases.find((x) => x.model === 'sam_decoder')!;
    const embeddings = input(c.inputs.embeddings);
    const points = { data: new Float32Array([100, 200, 700.5, 33.25, 512, 512, 0, 0]), dims: [2, 2, 2] };
    const labels = { data: new Float32Array([1, 0, 1, -1]), dims: [2, 2] };
    const both = await models.samDecoder(embeddings, points, labels);
    const first = referenceOutput(reference, c, 'low_res_logits');
    const n = first.data.length;
    expect(both.lowResLogits.dims).toEqual([2, ...first.dims.slice(1)]);
    expect(relativeError({ data: both.lowResLogits.data.subarray(0, n), dims: first.dims }, first)).toBeLessThanOrEqual(1e-5);
    const second = await models.samDecoder(embeddings, { data: points.data.slice(4), dims: [1, 2, 2] },
      { data: labels.data.slice(2), dims: [1, 2] });
    expect(relativeError({ data: both.lowResLogits.data.subarray(n), dims: first.dims }, second.lowResLogits))
      .toBeLessThanOrEqual(1e-5);
  });

  it('rejects inputs of the wrong shape, naming them', async () => {
    await expect(models.clipTrunk({ data: new Float32Array(3 * 4 * 4), dims: [1, 3, 4, 4] }))
      .rejects.toThrow(/clip_trunk: images has dims \[1, 3, 4, 4\], expected \[batch, 3, 224, 224\]/);
    await expect(models.clipHead(input({ shape: [1, 197, 32], pattern: 1 }), null, null, 'G2L'))
      .rejects.toThrow(/needs the global tokens/);
  });
});

describe('loadModels on the tiny fixtures (fp16, CPU)', () => {
  it('matches PyTorch fp32 within fp16 rounding (relative error ≤ 2e-2)', async () => {
    const models = await loadModels(DIR, { device: 'cpu', precision: 'fp16' });
    try {
      const names = new Set<string>(models.manifest.files.filter((f) => f.precision === 'fp16').map((f) => f.model));
      const cases = reference.cases.filter((c) => names.has(c.model));
      expect(cases.length).toBeGreaterThanOrEqual(10);
      for (const c of cases) {
        const got = await runReferenceCase(models, reference, c);
        for (const name of Object.keys(c.outputs))
          expect(relativeError(got[name], referenceOutput(reference, c, name)), `${c.model}.${name}`).toBeLessThanOrEqual(2e-2);
      }
    } finally {
      await models.dispose();
    }
  }, 120_000);
});

describe('loadModels on the tiny fixtures (int8, CPU)', () => {
  const INT8 = new Set(['clip_trunk', 'clip_head_g2l', 'clip_head_l2g', 'clip_head_g2l_l2g', 'clip_head_token_masking',
    'clip_head_attn_masking', 'clip_head_crop']);
  it('runs the CLIP trunk and heads from their int8 graphs (within 3e-2 of PyTorch fp32, not the fp32 graphs\' outputs), every other model from its fp32 graph', async () => {
    const int8 = await loadModels(DIR, { device: 'cpu', precision: 'int8' });
    const fp32 = await loadModels(DIR, { device: 'cpu', precision: 'fp32', models: ['sam_encoder', 'sam_decoder', 'clip_text', 'gem_visual', 'clip_trunk'] });
    try {
      expect(int8.precision).toBe('int8');
      expect(new Set(int8.manifest.files.filter((f) => f.precision === 'int8').map((f) => f.model))).toEqual(INT8);
      for (const c of reference.cases) {
        const got = await runReferenceCase(int8, reference, c);
        const plain = INT8.has(c.model) && c.model !== 'clip_trunk' ? null : await runReferenceCase(fp32, reference, c);
        for (const name of Object.keys(c.outputs)) {
          const want = referenceOutput(reference, c, name);
          if (INT8.has(c.model)) {
            expect(relativeError(got[name], want), `${c.model}.${name}`).toBeLessThanOrEqual(3e-2);
            expect(relativeError(got[name], want), `${c.model}.${name} is quantised`).toBeGreaterThan(1e-4);
          }
          if (plain && !INT8.has(c.model)) expect(got[name].data, `${c.model}.${name}`).toEqual(plain[name].data);
          if (plain && INT8.has(c.model)) expect(got[name].data).not.toEqual(plain[name].data);
        }
      }
    } finally {
      await int8.dispose();
      await fp32.dispose();
    }
  }, 120_000);

  it('refuses int8 on CUDA before loading anything', async () => {
    await expect(loadModels('/nonexistent', { device: 'cuda', precision: 'int8' }))
      .rejects.toThrow(/precision int8 is for the CPU provider .*use device 'cpu', or fp16 on CUDA/);
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

  it('refuses a directory written by an affected converter version (random SAM upscaling weights), with the command that converts it again; exit 4 on the command line', async () => {
    fresh();
    const manifest = JSON.parse(readFileSync(join(DIR, 'manifest.json'), 'utf8'));
    const command = 'hybridgl models convert --sam sam_vit_b_01ec64.pth --clip ViT-B-16.pt --out models-b';
    // What `models convert` before templates format 2 recorded.
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...manifest,
      exporter: { name: 'hybridgl models convert', version: '1', torch: '1.13.1', opset: 17, command } }));
    const err = await loadModels(dir, only).catch((e) => e);
    expect(err).toBeInstanceOf(ModelLoadError);
    expect(err.message).toMatch(/converted by hybridgl models convert version 1: its SAM decoder holds the random weights its graph templates were made from/);
    expect(err.message).toContain(`Convert them again with this version (it writes over the directory): ${command}`);
    const cli = await runHybridgl(['segment', 'assets/demo.jpg', 'the dog', '--models', dir]);
    expect(cli.status).toBe(4);
    expect(cli.stderr).toMatch(/converted by hybridgl models convert version 1/);
    // The same directory recorded as written by this converter version loads.
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...manifest,
      exporter: { name: 'hybridgl models convert', version: '2', templateFormat: 2, torch: '1.13.1', opset: 17, command } }));
    await (await loadModels(dir, only)).dispose();
  }, 60_000);

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

  it.skipIf(cudaProviderInstalled())('says how to install the CUDA provider when cuda is forced', async () => {
    await (await loadModels(DIR, only)).dispose(); // the same request on CPU loads
    await expect(loadModels(DIR, { ...only, device: 'cuda' }))
      .rejects.toThrow(/device 'cuda'.*npm rebuild onnxruntime-node --onnxruntime-node-install=cuda12/);
  });

  const editManifest = (edit: (m: { files: Array<Record<string, unknown>>; exporter: { command: string }; vocab: { file: string } }) => void) => {
    const manifest = JSON.parse(readFileSync(join(DIR, 'manifest.json'), 'utf8'));
    edit(manifest);
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
  };

  it('lists a file onnxruntime cannot load (cut, its sha256 matching) with the fix', async () => {
    fresh();
    const path = join(dir, 'clip_head_crop.fp32.onnx');
    const cut = readFileSync(path).subarray(0, 200);
    writeFileSync(path, cut);
    editManifest((m) => {
      const f = m.files.find((x) => x.model === 'clip_head_crop')!;
      f.sha256 = createHash('sha256').update(cut).digest('hex');
      f.bytes = cut.length;
    });
    const err = await loadModels(dir, { ...only, models: ['clip_head_crop', 'clip_head_g2l'] }).catch((e) => e);
    expect(err).toBeInstanceOf(ModelLoadError);
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toMatch(/^clip_head_crop\.fp32\.onnx: onnxruntime cannot load it \(.+\)$/);
    expect(err.message).toMatch(/Re-export them: python3 models\/export\.py/);
  });

  it('confines manifest file names to the models directory', async () => {
    fresh();
    editManifest((m) => {
      m.files.find((x) => x.model === 'clip_head_crop')!.name = '../../etc/hostname';
      m.files.find((x) => x.model === 'clip_text')!.name = '/etc/hostname';
      m.vocab.file = '../vocab.txt.gz';
    });
    const err = await loadModels(dir, only).catch((e) => e);
    expect(err).toBeInstanceOf(ModelLoadError);
    expect(err.problems).toEqual([
      'manifest.json: file name "../../etc/hostname" is not inside the models directory',
      'manifest.json: file name "/etc/hostname" is not inside the models directory',
      'manifest.json: file name "../vocab.txt.gz" is not inside the models directory',
    ]);
    // A symbolic link inside the directory that leads out of it is refused too; one that stays inside is fine.
    fresh();
    symlinkSync('/etc/hostname', join(dir, 'escape.onnx'));
    symlinkSync(join(dir, 'clip_head_crop.fp32.onnx'), join(dir, 'inside.onnx'));
    editManifest((m) => {
      m.files.find((x) => x.model === 'clip_text')!.name = 'escape.onnx';
      m.files.find((x) => x.model === 'clip_head_crop')!.name = 'inside.onnx';
    });
    const link = await loadModels(dir, only).catch((e) => e);
    expect(link.problems).toEqual(['manifest.json: file name "escape.onnx" is not inside the models directory']);
  });

  it('shows control characters of manifest text escaped', async () => {
    fresh();
    unlinkSync(join(dir, 'clip_head_crop.fp32.onnx'));
    editManifest((m) => {
      m.exporter.command = 'python3 export.py \u001b[2J\u001b]0;pwned\u0007 --out x\r';
      m.files.find((x) => x.model === 'clip_head_crop')!.name = 'crop\u001b[31m.onnx';
    });
    const err = await loadModels(dir, only).catch((e) => e);
    expect(err).toBeInstanceOf(ModelLoadError);
    expect(err.message).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f]/);
    expect(err.message).toContain('crop\\u001b[31m.onnx is missing');
    expect(err.message).toContain('python3 export.py \\u001b[2J\\u001b]0;pwned\\u0007 --out x\\u000d');
  });

  it('reports a precision the directory lacks', async () => {
    fresh();
    await expect(loadModels(dir, { ...only, models: ['clip_text'], precision: 'fp16' }))
      .rejects.toThrow(/no fp16 file for clip_text/);
  });

  it('reports a directory without int8 graphs when int8 is asked for', async () => {
    fresh();
    editManifest((m) => {
      m.files = m.files.filter((f) => f.precision !== 'int8');
    });
    await expect(loadModels(dir, { ...only, precision: 'int8' })).rejects.toThrow(/no int8 file in manifest\.json/);
  });
});

describe('loadModels with ONNX external data (scripts/fixtures/make_external_models.sh)', () => {
  const EXTERNAL = join(import.meta.dirname, 'fixtures', 'models-external');
  const only = { device: 'cpu' as const, models: ['clip_head_crop' as const], warmup: false };
  const DATA = 'clip_head_crop.fp32.onnx.data';
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hybridgl-external-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const fresh = () => {
    rmSync(dir, { recursive: true, force: true });
    cpSync(EXTERNAL, dir, { recursive: true });
  };
  const editManifest = (edit: (m: Manifest) => void) => {
    const path = join(dir, 'manifest.json');
    const m = JSON.parse(readFileSync(path, 'utf8')) as Manifest;
    edit(m);
    writeFileSync(path, JSON.stringify(m));
  };
  const crop = async (from: string) => {
    const models = await loadModels(from, only);
    try {
      const tokens = Float32Array.from({ length: 2 * 197 * 16 }, (_, i) => Math.sin(i / 7));
      return Array.from((await models.clipHead({ data: tokens, dims: [2, 197, 16] }, null, null, 'crop')).data);
    } finally {
      await models.dispose();
    }
  };

  it('runs the graph with its tensors in the .data file, to the inline graph of the same weights exactly', async () => {
    const manifest = JSON.parse(readFileSync(join(EXTERNAL, 'manifest.json'), 'utf8')) as Manifest;
    expect(manifest.files[0].externalData).toMatchObject({ name: DATA, bytes: 40512 });
    const [external, inline] = [await crop(EXTERNAL), await crop(DIR)];
    expect(external.length).toBe(2 * 16); // [masks, embed_dim]
    expect(external).toEqual(inline);
  }, 60_000);

  it('names a missing, truncated or changed external-data file', async () => {
    fresh();
    unlinkSync(join(dir, DATA));
    await expect(loadModels(dir, only)).rejects.toThrow(/clip_head_crop\.fp32\.onnx\.data \(external data of clip_head_crop\.fp32\.onnx\) is missing/);
    fresh();
    const bytes = readFileSync(join(dir, DATA));
    writeFileSync(join(dir, DATA), bytes.subarray(0, bytes.length - 4));
    await expect(loadModels(dir, only)).rejects.toThrow(/\.onnx\.data \(external data of clip_head_crop\.fp32\.onnx\) is 40508 bytes, the manifest says 40512 \(truncated\?\)/);
    bytes[100] ^= 1;
    writeFileSync(join(dir, DATA), bytes);
    const err = await loadModels(dir, only).catch((e) => e);
    expect(err).toBeInstanceOf(ModelLoadError);
    expect(err.problems).toEqual([`${DATA} (external data of clip_head_crop.fp32.onnx) has the wrong sha256 (changed or truncated)`]);
  });

  it('confines the external-data file to the models directory and requires its sha256', async () => {
    fresh();
    editManifest((m) => (m.files[0].externalData!.name = '../clip_head_crop.fp32.onnx.data'));
    await expect(loadModels(dir, only)).rejects.toThrow(/file name "\.\.\/clip_head_crop\.fp32\.onnx\.data" is not inside the models directory/);
    fresh();
    symlinkSync('/etc/hostname', join(dir, 'escape.data'));
    editManifest((m) => (m.files[0].externalData!.name = 'escape.data'));
    await expect(loadModels(dir, only)).rejects.toThrow(/file name "escape\.data" is not inside the models directory/);
    fresh();
    editManifest((m) => delete (m.files[0].externalData as Partial<NonNullable<ManifestFile['externalData']>>).sha256);
    await expect(loadModels(dir, only)).rejects.toThrow(/files\[0\] \(clip_head_crop\.fp32\.onnx\): externalData lacks name\/sha256\/bytes/);
  });
});
