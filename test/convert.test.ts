// The TypeScript converter on tiny checkpoints in both official formats (scripts/fixtures/make_convert_fixtures.sh):
// its graphs must be export.py's graphs of the same checkpoints (same sha256: identical bytes, so identical outputs;
// and tensor by tensor), made from templates of other random weights than every checkpoint's; the committed
// templates keep no weights; and the readers' and converter's errors.
import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readPickle } from '../src/data/pickle.ts';
import { CheckpointError, openCheckpoint } from '../src/models/checkpoint.ts';
import { ConvertError, convertCheckpoints } from '../src/models/convert.ts';
import { loadModels, type Manifest } from '../src/models/loadModels.ts';
import { planTemplate, readGraph } from '../src/models/onnxTemplate.ts';
import { floatToHalfBits, permuteAxes, quantizeInt8PerColumn } from '../src/models/tensorRecipes.ts';
import { ZipArchive, ZipError } from '../src/models/zipArchive.ts';
import { rng } from './helpers.ts';
import { runHybridgl } from './runProcess.ts';
import { readZipEntries, writeZip } from './zipTools.ts';

const FIX = join(import.meta.dirname, 'fixtures', 'convert');
const SAM = join(FIX, 'sam_vit_b-tiny.pth');
const CLIP = join(FIX, 'clip_vit_b_16-tiny.pt');
const TEMPLATES = join(FIX, 'templates');
const expected = JSON.parse(readFileSync(join(FIX, 'expected.json'), 'utf8')) as Manifest;
const tmp = mkdtempSync(join(tmpdir(), 'hybridgl-convert-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const convert = (out: string, extra: Partial<Parameters<typeof convertCheckpoints>[0]> = {}) =>
  convertCheckpoints({ sam: SAM, clip: CLIP, out, samType: 'vit_b-tiny', templates: TEMPLATES, ...extra });

describe('checkpoint readers', () => {
  it('reads the torch.save zip as its state_dict', () => {
    const ck = openCheckpoint(SAM);
    expect(ck.format).toBe('torch.save');
    const pos = ck.tensors.get('image_encoder.pos_embed')!;
    expect(pos.shape).toEqual([1, 64, 64, 16]);
    expect(pos.dtype).toBe('float32');
    expect(ck.tensors.has('mask_decoder.iou_token.weight')).toBe(true);
    ck.close();
  });

  it('reads the TorchScript archive as state_dict(), fp16 storages widened exactly', () => {
    const ck = openCheckpoint(CLIP);
    expect(ck.format).toBe('torchscript');
    const w = ck.tensors.get('visual.transformer.resblocks.0.attn.in_proj_weight')!;
    expect(w.dtype).toBe('float16');
    expect(w.shape).toEqual([48, 16]);
    // Widened fp16 values narrow back to the same bits (exact both ways).
    const values = w.readFloat32();
    expect(values.every((v) => floatToHalfBits(v) === floatToHalfBits(Math.fround(v)) && v !== 0)).toBe(true);
    expect(ck.tensors.get('logit_scale')!.readFloat32()[0]).toBeCloseTo(Math.log(100), 6);
    ck.close();
  });

  it('reads a scripted TorchScript archive (typed lists via torch.jit._pickle) as its state_dict()', () => {
    const want = JSON.parse(readFileSync(join(FIX, 'scripted-sample.json'), 'utf8')) as Record<string, { shape: number[]; values: number[] }>;
    const ck = openCheckpoint(join(FIX, 'scripted-sample.pt'));
    expect([...ck.tensors.keys()]).toEqual(Object.keys(want));
    for (const [key, t] of ck.tensors) {
      expect(t.shape).toEqual(want[key].shape);
      expect(Array.from(t.readFloat32())).toEqual(want[key].values);
    }
    ck.close();
  });

  it('refuses a global that is not on the allow-list, naming it, without running anything', () => {
    // GLOBAL 'os system' + ('true',) REDUCE: what a malicious checkpoint would hold.
    const evil = Uint8Array.from([0x80, 2, 0x63, ...Buffer.from('os\nsystem\n'), 0x58, 4, 0, 0, 0,
      ...Buffer.from('true'), 0x85, 0x52, 0x2e]);
    expect(() => readPickle(evil, { allow: { values: ['torch.FloatStorage'] } })).toThrow(/global os\.system is not on the allow-list/);
    expect(() => readPickle(evil)).toThrow(/refused opcode GLOBAL/);
  });

  it('names a truncated checkpoint', () => {
    const cut = join(tmp, 'cut.pth');
    copyFileSync(SAM, cut);
    truncateSync(cut, Math.floor(statSync(SAM).size / 2));
    expect(() => openCheckpoint(cut)).toThrow(/cut\.pth: not a zip archive or truncated/);
  });

  it('names a file that is not a checkpoint', () => {
    const junk = join(tmp, 'junk.pth');
    writeFileSync(junk, 'not a checkpoint at all, just some text that is long enough to be read');
    expect(() => openCheckpoint(junk)).toThrow(/junk\.pth: not a zip archive/);
  });
});

describe('models convert', () => {
  it("writes export.py's graphs byte for byte (fp32, fp16 and int8), the manifest and the vocabulary", async () => {
    const out = join(tmp, 'all');
    const manifest = await convert(out, { precisions: ['fp32', 'fp16', 'int8'] });
    const want = new Map(expected.files.map((f) => [f.name, f]));
    expect(manifest.files.map((f) => f.name)).toEqual(expected.files.map((f) => f.name));
    for (const f of manifest.files) {
      const e = want.get(f.name)!;
      expect({ name: f.name, sha256: f.sha256, bytes: f.bytes }).toEqual({ name: e.name, sha256: e.sha256, bytes: e.bytes });
      expect([f.inputs, f.outputs, f.fusion]).toEqual([e.inputs, e.outputs, e.fusion]);
    }
    expect(manifest.sources).toEqual(expected.sources);
    expect(manifest.config).toEqual(expected.config);
    expect(manifest.logitScale).toBe(expected.logitScale);
    expect(manifest.exporter).toMatchObject({ name: 'hybridgl models convert', version: '2', templateFormat: 2 });
    expect(manifest.vocab).toEqual({ ...expected.vocab, present: true });
    const onDisk = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(onDisk.files.length).toBe(22);

    const models = await loadModels(out, { device: 'cpu', models: ['sam_decoder', 'clip_text'], warmup: false });
    try {
      const ids = new BigInt64Array(77);
      ids.set([49406n, 320n, 49407n]);
      const text = await models.clipText({ data: ids, dims: [1, 77] });
      expect(text.dims).toEqual([1, 16]);
      expect(text.data.every(Number.isFinite)).toBe(true);
    } finally {
      await models.dispose();
    }
  }, 120_000);

  it('int8 alone brings fp32 with it (the models without int8 graphs load from it), and the directory loads at int8', async () => {
    const out = join(tmp, 'int8-only');
    const manifest = await convert(out, { precisions: ['int8'] });
    expect([...new Set(manifest.files.map((f) => f.precision))].sort()).toEqual(['fp32', 'int8']);
    expect(manifest.files.filter((f) => f.precision === 'int8').map((f) => f.model).sort())
      .toEqual(['clip_head_attn_masking', 'clip_head_crop', 'clip_head_g2l', 'clip_head_g2l_l2g', 'clip_head_l2g', 'clip_head_token_masking', 'clip_trunk']);
    const models = await loadModels(out, { device: 'cpu', precision: 'int8', models: ['sam_decoder', 'clip_trunk'], warmup: false });
    await models.dispose();
  }, 120_000);

  it("writes ONNX external data past the size limit as export.py does (same graph and data bytes), which onnxruntime runs to the same outputs", async () => {
    const inline = join(tmp, 'all'), external = join(tmp, 'external');
    const manifest = await convert(external, { externalDataAbove: 0, precisions: ['fp32', 'fp16'] });
    // export.py --external-data-above 0 on the same checkpoints (scripts/fixtures/make_convert_fixtures.sh).
    const want = JSON.parse(readFileSync(join(FIX, 'expected-external.json'), 'utf8')) as Manifest;
    expect(want.files.length).toBe(3);
    for (const e of want.files) {
      const f = manifest.files.find((x) => x.name === e.name)!;
      expect(e.externalData?.name).toBe(`${e.name}.data`);
      expect({ sha256: f.sha256, bytes: f.bytes, externalData: f.externalData }).toEqual(
        { sha256: e.sha256, bytes: e.bytes, externalData: e.externalData });
    }
    const [small, data, whole] = [join(external, 'sam_decoder.fp32.onnx'), join(external, 'sam_decoder.fp32.onnx.data'),
      join(inline, 'sam_decoder.fp32.onnx')].map((p) => statSync(p).size);
    expect(small).toBeLessThan(whole);
    expect(data).toBeGreaterThan(whole - small); // the tensors, without their protobuf framing
    const run = async (dir: string) => {
      const models = await loadModels(dir, { device: 'cpu', models: ['sam_decoder'], warmup: false });
      try {
        const emb = Float32Array.from({ length: 16 * 64 * 64 }, (_, i) => Math.sin(i));
        return await models.samDecoder({ data: emb, dims: [1, 16, 64, 64] }, { data: Float32Array.from([100, 200]), dims: [1, 1, 2] },
          { data: Float32Array.from([1]), dims: [1, 1] });
      } finally {
        await models.dispose();
      }
    };
    const [a, b] = [await run(inline), await run(external)];
    expect(Array.from(b.lowResLogits.data)).toEqual(Array.from(a.lowResLogits.data));
    expect(Array.from(b.iouPredictions.data)).toEqual(Array.from(a.iouPredictions.data));
  }, 120_000);

  it('names the missing tensors of a wrong checkpoint', async () => {
    await expect(convert(join(tmp, 'swapped'), { sam: CLIP })).rejects.toThrow(
      /SAM checkpoint .*clip_vit_b_16-tiny\.pt \(torchscript\) lacks \d+ of the \d+ tensors the graphs need: image_encoder\..*--sam-type/);
  });

  it('reads the SAM type off the checkpoint, and says when it cannot', async () => {
    await expect(convert(join(tmp, 'x'), { samType: undefined })).rejects.toThrow(
      /sam_vit_b-tiny\.pth: not a segment-anything vit_h\/l\/b state_dict \(image_encoder\.patch_embed\.proj\.weight is \[16, 3, 16, 16\]\); give --sam-type/);
  });

  it('names an unknown SAM type and a missing checkpoint', async () => {
    await expect(convert(join(tmp, 'x'), { samType: 'vit_l' })).rejects.toThrow(/no SAM vit_l graph templates \(have: vit_b-tiny\)/);
    await expect(convert(join(tmp, 'x'), { clip: join(tmp, 'nope.pt') })).rejects.toThrow(/CLIP checkpoint .*nope\.pt does not exist/);
  });

  it('refuses a checkpoint whose storage is cut short', async () => {
    const bad = join(tmp, 'short.pth');
    copyFileSync(SAM, bad);
    truncateSync(bad, statSync(SAM).size - 1);
    await expect(convert(join(tmp, 'short'), { sam: bad })).rejects.toThrow(/short\.pth: not a zip archive or truncated/);
  });
});

describe('models convert under hostile checkpoints: refused, naming the tensor, with nothing written', () => {
  /** A copy of a fixture with one element of a tensor set to a value (in place: same sizes). */
  const patched = (from: string, key: string, element: number, value: number, name: string) => {
    const ck = openCheckpoint(from);
    const t = ck.tensors.get(key)!;
    const zip = new ZipArchive(from);
    const entry = [...zip.entries.values()].find((e) => e.name.endsWith(`/data/${t.storage.key}`))!;
    zip.close();
    const at = entry.offset + (t.offset + element) * t.storage.itemBytes;
    const bytes = t.dtype === 'float16' ? [floatToHalfBits(value) & 0xff, floatToHalfBits(value) >> 8] : f32(value);
    ck.close();
    const file = readFileSync(from);
    file.set(bytes, at);
    const path = join(tmp, name);
    writeFileSync(path, file);
    return path;
  };
  const f32 = (v: number) => [...new Uint8Array(Float32Array.of(v).buffer)];
  const leftovers = (dir: string) => readdirSync(dir).filter((n) => n.includes('.partial'));

  it('refuses a NaN weight naming the tensor; the output directory is not created', async () => {
    // A CLIP tensor: the SAM graphs are written (staged) before it is reached.
    const key = 'visual.transformer.resblocks.0.attn.in_proj_weight';
    const clip = patched(CLIP, key, 7, NaN, 'nan.pt');
    const out = join(tmp, 'nan-out');
    await expect(convert(out, { clip })).rejects.toThrow(new RegExp(`nan\\.pt: tensor ${key.replace(/\./g, '\\.')} holds NaN at element 7; a weight must be finite`));
    expect(existsSync(out)).toBe(false);
    expect(leftovers(tmp)).toEqual([]);
  });

  it('refuses a logit_scale whose exp overflows (it wrote null into the manifest)', async () => {
    const clip = patched(CLIP, 'logit_scale', 0, 1000, 'scale.pt');
    const out = join(tmp, 'scale-out');
    await expect(convert(out, { clip })).rejects.toThrow(/scale\.pt: tensor logit_scale is 1000, so the logit scale exp\(1000\) is Infinity; it must be finite/);
    expect(existsSync(out)).toBe(false);
  });

  it('leaves an existing model directory as it was when a conversion into it fails, and keeps other files on success', async () => {
    const out = join(tmp, 'existing');
    await convert(out);
    mkdirSync(join(out, 'checkpoints'));
    writeFileSync(join(out, 'checkpoints', 'keep.txt'), 'downloads live here');
    const before = readFileSync(join(out, 'manifest.json'), 'utf8');
    const names = readdirSync(out).sort();
    const clip = patched(CLIP, 'visual.proj', 3, Infinity, 'inf.pt');
    await expect(convert(out, { clip, precisions: ['fp32', 'fp16'] })).rejects.toThrow(/tensor visual\.proj holds Infinity at element 3/);
    expect(readdirSync(out).sort()).toEqual(names);
    expect(readFileSync(join(out, 'manifest.json'), 'utf8')).toBe(before);
    const again = await convert(out, { precisions: ['fp32', 'fp16'] });
    expect(again.files.length).toBe(15);
    expect(readFileSync(join(out, 'checkpoints', 'keep.txt'), 'utf8')).toBe('downloads live here');
    expect(leftovers(out)).toEqual([]);
  });

  it('removes what it wrote when a conversion fails late: no output directory, no staging left', async () => {
    // Half storages typed as bytes: opened fine, refused only when the CLIP graphs (written after SAM's) read them.
    const entries = readZipEntries(readFileSync(CLIP)).map((e) => (e.name.endsWith('/data.pkl')
      ? { ...e, data: Buffer.from(Buffer.from(e.data).toString('latin1').replace('torch\nHalfStorage\n', 'torch\nByteStorage\n'), 'latin1') }
      : e));
    const clip = join(tmp, 'bytes.pt');
    writeFileSync(clip, writeZip(entries));
    const out = join(tmp, 'late-out');
    await expect(convert(out, { clip })).rejects.toThrow(/bytes\.pt: tensor of uint8 where floats are expected/);
    expect(existsSync(out)).toBe(false);
    expect(leftovers(tmp)).toEqual([]);
  });

  it('names an --out that is a file, and a vocabulary that is a directory', async () => {
    const file = join(tmp, 'a-file');
    writeFileSync(file, 'x');
    await expect(convert(file)).rejects.toThrow(/--out .*a-file: .*a-file exists and is not a directory/);
    await expect(convert(join(tmp, 'v'), { vocab: tmp })).rejects.toThrow(/vocabulary .* is not a file/);
  });

  it('fuzz: checkpoints with mutated pickle numbers or non-finite storage bytes convert or are refused with a typed error, nothing left behind', async () => {
    const r = rng(Number(process.env.HYBRIDGL_FUZZ_SEED ?? 20251207));
    const entries = readZipEntries(readFileSync(SAM));
    const pkl = entries.find((e) => e.name.endsWith('/data.pkl'))!;
    // Where the pickle holds small integers (BININT1 K, BININT2 M): storage offsets, sizes, strides, numels.
    const ints: number[] = [];
    for (let i = 0; i + 1 < pkl.data.length; i++) if (pkl.data[i] === 0x4b && pkl.data[i - 1] !== 0x58) ints.push(i);
    const outcomes = { converted: 0, refused: 0 };
    for (let i = 0; i < 8; i++) {
      const mutated = entries.map((e) => ({ ...e, data: Uint8Array.from(e.data) }));
      const data = mutated.find((e) => e.name === pkl.name)!.data;
      if (i % 2 === 0) {
        const at = ints[Math.floor(r() * ints.length)];
        data[at + 1] = [0, 1, 2, 15, 16, 17, 63, 64, 255][Math.floor(r() * 9)];
      } else {
        const storage = mutated.filter((e) => /\/data\/\d+$/.test(e.name) && e.data.length >= 4)[Math.floor(r() * 150)];
        const at = 4 * Math.floor((r() * storage.data.length) / 4);
        storage.data.set(f32([NaN, Infinity, -Infinity][i % 3]), at);
      }
      const sam = join(tmp, `fuzz-${i}.pth`), out = join(tmp, `fuzz-out-${i}`);
      writeFileSync(sam, writeZip(mutated));
      try {
        const m = await convert(out, { sam });
        expect(Number.isFinite(m.logitScale)).toBe(true);
        for (const f of m.files) expect(existsSync(join(out, f.name))).toBe(true);
        outcomes.converted++;
      } catch (e) {
        if (![ConvertError, CheckpointError, ZipError].some((c) => e instanceof c)) throw e;
        expect((e as Error).message).toContain(sam);
        expect(existsSync(out)).toBe(false);
        outcomes.refused++;
      }
    }
    expect(outcomes.refused).toBeGreaterThan(0);
    expect(leftovers(tmp)).toEqual([]);
  }, 120_000);
});


/** The tensors a graph's nodes read, in node order, as scripts/fixtures/graph_tensors.py lists them (Identity nodes
 *  that give an initializer another name followed, not listed); with the node that reads each. */
function nodeTensors(path: string): Array<{ node: string; tensor: string }> {
  const graph = readGraph(readFileSync(path));
  const tensors = new Map<string, string>();
  for (const [name, t] of graph.initializers)
    tensors.set(name, `${t.dataType}:${t.dims.join('x')}:${createHash('sha256').update(t.raw ?? new Uint8Array()).digest('hex').slice(0, 16)}`);
  const out: Array<{ node: string; tensor: string }> = [];
  for (const node of graph.nodes) {
    if (node.opType === 'Identity' && tensors.has(node.inputs[0])) tensors.set(node.outputs[0], tensors.get(node.inputs[0])!);
    else for (const input of node.inputs) if (tensors.has(input)) out.push({ node: node.name, tensor: tensors.get(input)! });
  }
  return out;
}

/** The first tensor where a converted graph's nodes read other values than export.py's, or null. */
function firstDifference(path: string, want: string[]): string | null {
  const got = nodeTensors(path);
  for (let i = 0; i < Math.max(got.length, want.length); i++)
    if (got[i]?.tensor !== want[i]) return `${path}: input ${i} of node ${got[i]?.node ?? '(none)'}: ${got[i]?.tensor} vs export.py's ${want[i]}`;
  return null;
}

describe('converted graphs hold the checkpoint\'s weights (checkpoints of seeds the templates were not made from)', () => {
  const cases = [
    { label: 'SAM seed 5, CLIP seed 6', sam: SAM, dir: FIX, precisions: ['fp32', 'fp16', 'int8'] as const },
    { label: 'SAM seed 9', sam: join(FIX, 'seed9', 'sam_vit_b-tiny.pth'), dir: join(FIX, 'seed9'), precisions: ['fp32', 'fp16'] as const },
  ];
  for (const c of cases)
    it(`${c.label}: every graph reads export.py's tensors and has its sha256`, async () => {
      const out = join(tmp, `weights-${c.label.replace(/\W+/g, '-')}`);
      const manifest = await convert(out, { sam: c.sam, precisions: [...c.precisions] });
      const tensors = JSON.parse(readFileSync(join(c.dir, 'expected-tensors.json'), 'utf8')) as Record<string, string[]>;
      const want = (JSON.parse(readFileSync(join(c.dir, 'expected.json'), 'utf8')) as Manifest).files;
      expect(Object.keys(tensors).length).toBe(want.length);
      for (const [name, list] of Object.entries(tensors)) {
        expect(list.length).toBeGreaterThan(0);
        expect(firstDifference(join(out, name), list)).toBeNull();
        const made = manifest.files.find((f) => f.name === name)!;
        expect(made.sha256).toBe(want.find((f) => f.name === name)!.sha256);
        expect(made.initializers).toEqual({ checkpoint: expect.any(Number), constants: 0 });
        expect(made.initializers!.checkpoint).toBeGreaterThan(0);
      }
    }, 120_000);

  it('all biases 0: export.py shares one initializer among equal tensors, the converter keeps them apart; the nodes read the same tensors and the decoders compute the same', async () => {
    const dir = join(FIX, 'zero-biases'), out = join(tmp, 'zero-biases');
    await convert(out, { sam: join(dir, 'sam_vit_b-tiny.pth') });
    const tensors = JSON.parse(readFileSync(join(dir, 'expected-tensors.json'), 'utf8')) as Record<string, string[]>;
    expect(Object.keys(tensors).sort()).toEqual(['sam_decoder.fp32.onnx', 'sam_encoder.fp32.onnx']);
    for (const [name, list] of Object.entries(tensors)) expect(firstDifference(join(out, name), list)).toBeNull();
    const exported = join(dir, 'export');
    const count = (d: string) => readGraph(readFileSync(join(d, 'sam_decoder.fp32.onnx'))).initializers.size;
    expect(count(exported)).toBeLessThan(count(out)); // the structures differ: this case is the shared one
    const run = async (models: string) => {
      const m = await loadModels(models, { device: 'cpu', models: ['sam_decoder'], warmup: false });
      try {
        const emb = Float32Array.from({ length: 16 * 64 * 64 }, (_, i) => Math.sin(i * 0.37));
        return await m.samDecoder({ data: emb, dims: [1, 16, 64, 64] },
          { data: Float32Array.from([100, 200, 700, 30]), dims: [1, 2, 2] }, { data: Float32Array.from([1, 0]), dims: [1, 2] });
      } finally {
        await m.dispose();
      }
    };
    const [a, b] = [await run(out), await run(exported)];
    expect(Buffer.from(a.lowResLogits.data.buffer).equals(Buffer.from(b.lowResLogits.data.buffer))).toBe(true);
    expect(Buffer.from(a.iouPredictions.data.buffer).equals(Buffer.from(b.iouPredictions.data.buffer))).toBe(true);
  }, 120_000);
});

describe('graph templates', () => {
  const sets = (root: string) => readdirSync(root).filter((d) => d.startsWith('sam-') || d.startsWith('clip-')).map((d) => join(root, d));
  const committed = join(import.meta.dirname, '..', 'models', 'templates');

  it('keep no weights: every float initializer a template keeps is on its list of proven constants (committed and fixture sets)', () => {
    const roots = [...sets(committed), ...sets(TEMPLATES)];
    expect(roots.length).toBe(6);
    for (const dir of roots) {
      const index = JSON.parse(readFileSync(join(dir, 'templates.json'), 'utf8'));
      expect({ dir, formatVersion: index.formatVersion }).toEqual({ dir, formatVersion: 2 });
      for (const e of index.files as Array<{ template: string; initializers: Record<string, unknown>; constants: string[] }>) {
        const plan = planTemplate(readFileSync(join(dir, e.template)), (n) => Object.hasOwn(e.initializers, n), 'x.data');
        const unproven = plan.kept.filter((n) => !e.constants.includes(n));
        expect({ template: join(dir, e.template), unproven }).toEqual({ template: join(dir, e.template), unproven: [] });
        expect(plan.tensors.length).toBe(Object.keys(e.initializers).length);
      }
    }
  });

  it("SAM's upscaling weights have recipes that permute the checkpoint's ConvTranspose weights", () => {
    for (const dir of sets(committed).filter((d) => d.includes('sam-'))) {
      const index = JSON.parse(readFileSync(join(dir, 'templates.json'), 'utf8'));
      const parts = index.files.flatMap((e: { initializers: Record<string, Array<{ key: string; permute?: number[] }>> }) =>
        Object.values(e.initializers).flat()).filter((p: { key: string }) => /output_upscaling\.[03]\.weight$/.test(p.key));
      expect(parts.length).toBe(4); // two weights, fp32 and fp16
      for (const p of parts) expect(p.permute).toEqual([0, 2, 3, 1]);
    }
  });

  it('permuteAxes puts the axes in the order given (torch.permute)', () => {
    const x = Float32Array.from({ length: 24 }, (_, i) => i); // shape [2, 3, 2, 2]
    const y = permuteAxes(x, [2, 3, 2, 2], [0, 2, 3, 1]); // → [2, 2, 2, 3]: y[a][c][d][b] = x[a][b][c][d]
    for (let a = 0; a < 2; a++) for (let b = 0; b < 3; b++) for (let c = 0; c < 2; c++) for (let d = 0; d < 2; d++)
      expect(y[((a * 2 + c) * 2 + d) * 3 + b]).toBe(x[((a * 3 + b) * 2 + c) * 2 + d]);
    expect(() => permuteAxes(x, [2, 3, 2, 2], [0, 1, 1, 2])).toThrow(/not an order of the 4 axes/);
  });

  it('quantizeInt8PerColumn: scale max|w|/127 per column (1 for a zero column), values rounded half to even', () => {
    // [3, 2]: column 0 has max |w| 127·2⁻³ (scale 2⁻³, so w/scale is exact); column 1 is all zero
    const w = Float32Array.from([2.5 / 8, 0, -3.5 / 8, 0, 127 / 8, 0]);
    const { values, scales } = quantizeInt8PerColumn(w, 2);
    expect([...scales]).toEqual([1 / 8, 1]);
    expect([...values]).toEqual([2, 0, -4, 0, 127, 0]);
    const small = quantizeInt8PerColumn(Float32Array.from([1e-3, -2e-3]), 1);
    expect(small.values[1]).toBe(-127);
    expect(small.scales[0]).toBe(Math.fround(Math.fround(2e-3) / 127));
    expect(() => quantizeInt8PerColumn(w, 4)).toThrow(/not a matrix of 4 columns/);
  });

  it("the int8 templates rebuild each quantised weight from its fp32 weight's recipe (values and scales)", () => {
    for (const dir of sets(committed).filter((d) => d.includes('clip-'))) {
      const index = JSON.parse(readFileSync(join(dir, 'templates.json'), 'utf8'));
      const byName = new Map(index.files.map((e: { name: string }) => [e.name, e]));
      const int8 = byName.get('clip_trunk.int8.onnx') as { initializers: Record<string, Array<{ key: string; int8?: string }>> };
      const fp32 = byName.get('clip_trunk.fp32.onnx') as { initializers: Record<string, Array<{ key: string }>> };
      const quantised = Object.entries(int8.initializers).filter(([, parts]) => parts[0].int8);
      expect(quantised.length).toBe(2 * 36); // 4 MatMul weights in each of the trunk's 9 blocks
      for (const [name, parts] of quantised) {
        const base = name.replace(/\/int8(_scale)?$/, '');
        expect(parts[0].int8).toBe(name.endsWith('_scale') ? 'scales' : 'values');
        expect(parts.map(({ int8: _q, ...p }) => p)).toEqual(fp32.initializers[base]);
      }
    }
  });

  it('the converter refuses format 1 templates and a template keeping a float initializer it cannot account for', async () => {
    const copy = join(tmp, 'templates-v1');
    cpSync(TEMPLATES, copy, { recursive: true });
    const indexPath = join(copy, 'sam-vit_b-tiny', 'templates.json');
    const index = JSON.parse(readFileSync(indexPath, 'utf8'));
    writeFileSync(indexPath, JSON.stringify({ ...index, formatVersion: 1 }));
    await expect(convert(join(tmp, 'v1'), { templates: copy })).rejects.toThrow(/template format 1, this converter reads 2 \(format 1 templates may keep weights/);
    const decoder = index.files.find((e: { name: string }) => e.name === 'sam_decoder.fp32.onnx');
    const [dropped] = Object.keys(decoder.initializers);
    delete decoder.initializers[dropped];
    writeFileSync(indexPath, JSON.stringify(index));
    await expect(convert(join(tmp, 'unproven'), { templates: copy })).rejects.toThrow(
      `sam_decoder.fp32.onnx.template: 1 float initializers are neither rebuilt from the checkpoint nor proven constant (${dropped})`);
  });
});

describe('hybridgl models convert (command line)', () => {
  const cli = (args: string[]) => runHybridgl(['models', ...args]);

  it('converts, exit 0 with a progress line on stderr; 4 for a missing checkpoint; 2 for a usage error', async () => {
    const out = join(tmp, 'cli');
    const ok = await cli(['convert', '--sam', SAM, '--clip', CLIP, '--out', out, '--sam-type', 'vit_b-tiny', '--templates', TEMPLATES]);
    expect(ok.status).toBe(0);
    expect(ok.stderr).toMatch(/convert \(MB\) \[#+\]/);
    expect(ok.stderr).toMatch(/wrote 11 models to/);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as Manifest;
    expect(manifest.exporter.command).toMatch(/^hybridgl models convert --sam /);
    const missing = await cli(['convert', '--sam', join(tmp, 'none.pth'), '--clip', CLIP, '--out', out, '--sam-type', 'vit_b-tiny', '--templates', TEMPLATES]);
    expect(missing.status).toBe(4);
    expect(missing.stderr).toMatch(/SAM checkpoint .*none\.pth does not exist/);
    expect((await cli(['convert', '--sam', SAM, '--out', out])).status).toBe(2);
    expect((await cli(['convert', '--sam', SAM, '--clip', CLIP, '--out', out, '--precision', 'fp8'])).status).toBe(2);
  }, 120_000);

  it('exits 4 naming a checkpoint that is a directory, with no stack trace and nothing written', async () => {
    const dir = join(tmp, 'dir.pth');
    mkdirSync(dir);
    const out = join(tmp, 'cli-bad');
    const r = await cli(['convert', '--sam', dir, '--clip', CLIP, '--out', out, '--templates', TEMPLATES]);
    expect(r.status).toBe(4);
    expect(r.stderr).toMatch(/dir\.pth: is a directory, not a checkpoint file/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(out)).toBe(false);
  }, 60_000);
});
