// Models: `hybridgl models convert`: the official SAM and CLIP checkpoints → the model directory export.py writes
// (graphs, manifest.json with sha256s, the vocabulary), with no Python. Each graph is a weight-free template from
// `export.py --templates` (models/templates/) filled with the checkpoint's tensors, one tensor in memory at a time.
import { createHash } from 'node:crypto';
import { copyFileSync, createReadStream, existsSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { PACKAGE_ROOT } from '../../bindings/packageRoot.ts';
import { openCheckpoint, type Checkpoint } from './checkpoint.ts';
import { precisionsToWrite } from './manifest.ts';
import { PRECISIONS, type Manifest, type ManifestFile, type Precision } from './modelTypes.ts';
import { CONVERTER_NAME, CONVERTER_VERSION, TEMPLATE_FORMAT_VERSION } from './converterVersion.ts';
import { planTemplate, writeFilledTemplate, type EmptyInitializer, type TemplatePlan } from './onnxTemplate.ts';
import { stageDirectory, type StagedDir } from './stagedDir.ts';
import { permuteAxes, quantizeInt8PerColumn, resamplePositional, toFloat16Bytes, transpose2d, type RecipePart } from './tensorRecipes.ts';

export const DEFAULT_TEMPLATES = join(PACKAGE_ROOT, 'models', 'templates');
/** CLIP's BPE vocabulary (MIT, from openai/CLIP), shipped with the package. */
export const PACKAGED_VOCAB = join(PACKAGE_ROOT, 'models', 'vocab', 'bpe_simple_vocab_16e6.txt.gz');

export class ConvertError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConvertError';
  }
}

interface TemplateEntry extends Omit<ManifestFile, 'sha256' | 'bytes' | 'initializers'> {
  template: string;
  initializers: Record<string, RecipePart[]>;
  /** The float initializers the template keeps: proven the same for every checkpoint when it was made. */
  constants: string[];
}
interface TemplateIndex {
  format: 'hybridgl-templates'; formatVersion: number; family: 'sam' | 'clip';
  config: Record<string, unknown>; torch: string;
  exporter: { version: string; opset: number; command: string };
  files: TemplateEntry[];
}

export interface ConvertOptions {
  sam: string;
  clip: string;
  out: string;
  /** A SAM template set in the templates directory: vit_h, vit_l, vit_b (default: read off the checkpoint). */
  samType?: string;
  /** Default ['fp32']; int8 brings fp32 with it (int8 graphs exist for the CLIP trunk and heads only). */
  precisions?: Precision[];
  /** Default: the package's models/templates. */
  templates?: string;
  /** The vocabulary to copy beside the models (default: the packaged one). */
  vocab?: string;
  /** Told the bytes written as the graphs fill (default: told nothing). */
  onProgress?: (p: ByteProgress) => void;
  /** Recorded in the manifest as the command that made it. */
  command?: string;
  /** Graphs whose initializers hold more bytes keep them in `<file>.data` (ONNX external data, export.py's
   *  layout); default 2 GiB less 16 MiB, as export.py's --external-data-above. */
  externalDataAbove?: number;
}

/** How far a conversion or a download is: plain data for a front end to show (the CLI draws a bar). */
export interface ByteProgress {
  /** What is moving: 'convert', or the file a download writes. */
  label: string;
  doneBytes: number;
  /** The bytes in all (a download of undeclared size: the most it accepts). */
  totalBytes: number;
  /** The last report for this label. */
  final: boolean;
}

export function availableSamTypes(templates = DEFAULT_TEMPLATES): string[] {
  if (!existsSync(templates)) return [];
  return readdirSync(templates).filter((d) => d.startsWith('sam-')).map((d) => d.slice(4)).sort();
}

function readIndex(dir: string): TemplateIndex {
  const path = join(dir, 'templates.json');
  if (!existsSync(path)) throw new ConvertError(`no graph templates in ${dir} (templates.json missing)`);
  const index = JSON.parse(readFileSync(path, 'utf8')) as TemplateIndex;
  if (index.format !== 'hybridgl-templates') throw new ConvertError(`${path}: not a hybridgl template index`);
  if (index.formatVersion !== TEMPLATE_FORMAT_VERSION)
    throw new ConvertError(`${path}: template format ${index.formatVersion}, this converter reads ${TEMPLATE_FORMAT_VERSION}` +
      (index.formatVersion === 1 ? ' (format 1 templates may keep weights of the random model they were made from; ' +
        'make them again with scripts/models/make_templates.sh)' : ''));
  return index;
}

async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 22 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

const describe = (s: number[]) => `[${s.join(', ')}]`;

/** Every tensor the recipes need, present with the shape the templates were made for; all problems in one error. */
function checkCheckpoint(ck: Checkpoint, label: string, entries: TemplateEntry[], hint: string) {
  const need = new Map<string, number[]>();
  for (const e of entries) for (const parts of Object.values(e.initializers)) for (const p of parts) need.set(p.key, p.shape);
  const missing: string[] = [], wrong: string[] = [];
  for (const [key, shape] of need) {
    const t = ck.tensors.get(key);
    if (!t) missing.push(key);
    else if (describe(t.shape) !== describe(shape)) wrong.push(`${key} is ${describe(t.shape)}, expected ${describe(shape)}`);
  }
  if (!missing.length && !wrong.length) return;
  const lines = [
    ...(missing.length ? [`lacks ${missing.length} of the ${need.size} tensors the graphs need: ${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ', …' : ''}`] : []),
    ...(wrong.length ? [`has ${wrong.length} tensors of other shapes: ${wrong.slice(0, 4).join('; ')}${wrong.length > 4 ? '; …' : ''}`] : []),
  ];
  throw new ConvertError(`${label} checkpoint ${ck.path} (${ck.format}) ${lines.join('; ')}. ${hint}`);
}

function partValues(ck: Checkpoint, part: RecipePart): Float32Array {
  const t = ck.tensors.get(part.key)!;
  let v = t.readFloat32();
  for (let i = 0; i < v.length; i++)
    if (!Number.isFinite(v[i])) throw new ConvertError(`checkpoint ${ck.path}: tensor ${part.key} holds ${v[i]} at element ${i}; a weight must be finite`);
  if (part.transpose) v = transpose2d(v, t.shape[0], t.shape[1]);
  if (part.permute) v = permuteAxes(v, t.shape, part.permute);
  if (part.resample) v = resamplePositional(v, t.shape[1], part.taps!);
  return v;
}

function initializerBytes(ck: Checkpoint, parts: RecipePart[], slot: EmptyInitializer): Uint8Array {
  let values = parts.length === 1 ? partValues(ck, parts[0]) : concat(parts.map((p) => partValues(ck, p)));
  const int8 = parts[0].int8;
  if (int8) {
    // the [K, N] weight's quantisation: the slot is its int8 values [K, N] or its scales [N]
    const q = quantizeInt8PerColumn(values, slot.dims[slot.dims.length - 1]);
    if (int8 === 'values') {
      if (slot.dataType !== INT8 || q.values.length !== slot.numel) badSlot(slot, q.values.length);
      return new Uint8Array(q.values.buffer);
    }
    values = q.scales;
  }
  if (slot.dataType === INT8 || values.length !== slot.numel) badSlot(slot, values.length);
  return slot.dataType === 10 ? toFloat16Bytes(values) : new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

const INT8 = 3; // ONNX TensorProto.INT8

function badSlot(slot: EmptyInitializer, made: number): never {
  throw new ConvertError(`${slot.name}: recipe gives ${made} values, the graph needs ${slot.numel} of type ${slot.dataType}`);
}

function concat(arrays: Float32Array[]): Float32Array {
  const out = new Float32Array(arrays.reduce((a, b) => a + b.length, 0));
  let at = 0;
  for (const a of arrays) out.set(a, at), (at += a.length);
  return out;
}

/** CLIP's logit scale, exp(logit_scale), as the manifest records it: refused unless finite. */
function derivedLogitScale(clip: Checkpoint): number {
  const scale = clip.tensors.get('logit_scale');
  if (!scale) throw new ConvertError(`CLIP checkpoint ${clip.path} lacks logit_scale`);
  const raw = scale.readFloat32()[0];
  const value = Math.fround(Math.exp(raw));
  if (!Number.isFinite(value))
    throw new ConvertError(`CLIP checkpoint ${clip.path}: tensor logit_scale is ${raw}, so the logit scale exp(${raw}) is ${value}; it must be finite`);
  return value;
}

/** Before writing: the template's slots are exactly the initializers with recipes, and every float initializer it
 *  keeps is on its list of proven constants (a template that left a weight in would fail here). */
function checkPlan(entry: TemplateEntry, plan: TemplatePlan, dir: string) {
  const slots = new Set(plan.tensors.map((t) => t.name)), constants = new Set(entry.constants);
  const unfilled = Object.keys(entry.initializers).filter((n) => !slots.has(n));
  const unproven = plan.kept.filter((n) => !constants.has(n));
  if (unfilled.length || unproven.length)
    throw new ConvertError(`template ${join(dir, entry.template)}: ` + [
      ...(unfilled.length ? [`${unfilled.length} initializers with recipes have no empty slot (${unfilled.slice(0, 4).join(', ')})`] : []),
      ...(unproven.length ? [`${unproven.length} float initializers are neither rebuilt from the checkpoint nor proven ` +
        `constant (${unproven.slice(0, 4).join(', ')})`] : []),
    ].join('; ') + '; make the templates again with scripts/models/make_templates.sh');
}

/** After writing: every slot was filled from the checkpoint, once; the counts go to the manifest. */
function checkFilled(entry: TemplateEntry, plan: TemplatePlan, filled: string[]): NonNullable<ManifestFile['initializers']> {
  const want = Object.keys(entry.initializers), once = new Set(filled);
  if (filled.length !== want.length || once.size !== want.length || want.some((n) => !once.has(n)))
    throw new ConvertError(`${entry.name}: ${filled.length} initializers written from the checkpoint, the template has ${want.length} recipes`);
  return { checkpoint: filled.length, constants: plan.kept.length };
}

const SAM_WIDTHS: Record<number, string> = { 768: 'vit_b', 1024: 'vit_l', 1280: 'vit_h' };

/** vit_b/l/h from the image encoder's width (what segment-anything's registry builds for each). */
export function detectSamType(path: string): string {
  if (!existsSync(path)) throw new ConvertError(`SAM checkpoint ${path} does not exist`);
  const ck = openCheckpoint(path);
  try {
    const w = ck.tensors.get('image_encoder.patch_embed.proj.weight');
    const type = w ? SAM_WIDTHS[w.shape[0]] : undefined;
    if (!type) throw new ConvertError(`SAM checkpoint ${path}: not a segment-anything vit_h/l/b state_dict (image_encoder.patch_embed.proj.weight is ${w ? describe(w.shape) : 'missing'}); give --sam-type`);
    return type;
  } finally {
    ck.close();
  }
}

/** Converts the checkpoints; returns the manifest written to `<out>/manifest.json`. */
export async function convertCheckpoints(options: ConvertOptions): Promise<Manifest> {
  const templates = options.templates ?? DEFAULT_TEMPLATES;
  const samType = options.samType ?? detectSamType(options.sam);
  const precisions = precisionsToWrite(options.precisions ?? ['fp32']);
  const samDir = join(templates, `sam-${samType}`);
  if (!existsSync(samDir))
    throw new ConvertError(`no SAM ${samType} graph templates (have: ${availableSamTypes(templates).join(', ') || 'none'}) in ${templates}`);
  const clipDirs = existsSync(templates) ? readdirSync(templates).filter((d) => d.startsWith('clip-')) : [];
  if (clipDirs.length !== 1) throw new ConvertError(`${templates} must hold exactly one clip-* template set, has ${clipDirs.length}`);
  const families = [
    { label: 'SAM', dir: samDir, index: readIndex(samDir), path: options.sam,
      hint: `Is it segment-anything's sam_${samType} checkpoint (--sam-type vit_h|vit_l|vit_b)?` },
    { label: 'CLIP', dir: join(templates, clipDirs[0]), index: readIndex(join(templates, clipDirs[0])), path: options.clip,
      hint: "Is it OpenAI's ViT-B-16.pt?" },
  ];
  for (const p of precisions) if (!PRECISIONS.includes(p)) throw new ConvertError(`precision must be ${PRECISIONS.join(', ')}, got ${p}`);
  for (const f of families) if (!existsSync(f.path)) throw new ConvertError(`${f.label} checkpoint ${f.path} does not exist`);
  for (const p of precisions) {
    // int8 graphs exist only for the models int8 speeds up (the CLIP family); a load uses fp32 for the others
    const lacking = families.filter((f) => !f.index.files.some((e) => e.precision === p));
    const enough = p === 'int8' ? lacking.length < families.length : lacking.length === 0;
    if (!enough) throw new ConvertError(`the ${lacking.map((f) => `${f.label} templates in ${f.dir}`).join(' and ')} have no ${p} graphs`);
  }
  const vocab = options.vocab ?? PACKAGED_VOCAB;
  if (!existsSync(vocab)) throw new ConvertError(`vocabulary ${vocab} is missing`);
  if (!statSync(vocab).isFile()) throw new ConvertError(`vocabulary ${vocab} is not a file`);

  let stage: StagedDir;
  try {
    stage = stageDirectory(options.out);
  } catch (e) {
    throw new ConvertError(`--out ${options.out}: ${(e as Error).message}`);
  }
  const checkpoints: Checkpoint[] = [];
  const files: ManifestFile[] = [];
  const stale: string[] = [];
  try {
    const jobs: Array<{ ck: Checkpoint; entry: TemplateEntry; dir: string }> = [];
    for (const f of families) {
      const ck = openCheckpoint(f.path);
      checkpoints.push(ck);
      const entries = f.index.files.filter((e) => precisions.includes(e.precision));
      checkCheckpoint(ck, f.label, entries, f.hint);
      for (const entry of entries) jobs.push({ ck, entry, dir: f.dir });
    }
    const logitScale = derivedLogitScale(checkpoints[1]);
    const plans = jobs.map(({ entry, dir }) => planTemplate(readFileSync(join(dir, entry.template)),
      (name) => Object.hasOwn(entry.initializers, name), `${entry.name}.data`, options.externalDataAbove));
    const total = plans.reduce((a, p) => a + p.totalBytes, 0);
    const progress = (doneBytes: number, final = false) => options.onProgress?.({ label: 'convert', doneBytes, totalBytes: total, final });
    let done = 0;
    jobs.forEach(({ entry, dir }, i) => checkPlan(entry, plans[i], dir));
    for (const [i, { ck, entry }] of jobs.entries()) {
      const path = join(stage.dir, entry.name), partial = `${path}.partial`;
      const data = `${path}.data`, dataPartial = `${data}.partial`;
      const filled: string[] = [];
      await writeFilledTemplate(plans[i], partial, dataPartial, (slot) => {
        filled.push(slot.name);
        const bytes = initializerBytes(ck, entry.initializers[slot.name], slot);
        done += bytes.length;
        progress(done);
        return bytes;
      });
      const initializers = checkFilled(entry, plans[i], filled);
      if (plans[i].external) renameSync(dataPartial, data);
      else stale.push(basename(data)); // from an earlier conversion
      renameSync(partial, path);
      const { template: _t, initializers: _r, constants: _c, ...spec } = entry;
      files.push({ ...spec, sha256: await sha256(path), bytes: statSync(path).size, initializers,
        ...(plans[i].external ? { externalData: { name: basename(data), sha256: await sha256(data), bytes: statSync(data).size } } : {}) });
    }
    progress(total, true);

    copyFileSync(vocab, join(stage.dir, 'bpe_simple_vocab_16e6.txt.gz'));
    const [sam, clipIndex] = [families[0].index, families[1].index];
    const manifest: Manifest = {
      format: 'hybridgl-models', formatVersion: 1,
      exporter: { name: CONVERTER_NAME, version: CONVERTER_VERSION, templateFormat: TEMPLATE_FORMAT_VERSION,
        torch: clipIndex.torch, opset: clipIndex.exporter.opset,
        command: options.command ?? `hybridgl models convert --sam ${options.sam} --clip ${options.clip} --out ${options.out}` },
      sources: {
        sam: { checkpoint: basename(options.sam), sha256: await sha256(options.sam) },
        clip: { checkpoint: basename(options.clip), sha256: await sha256(options.clip) },
      },
      config: { sam: sam.config, clip: clipIndex.config },
      logitScale,
      vocab: { file: 'bpe_simple_vocab_16e6.txt.gz', present: true, sha256: await sha256(vocab) },
      files,
    };
    writeFileSync(join(stage.dir, 'manifest.json'), `${JSON.stringify(manifest, null, 1)}\n`);
    stage.commit('manifest.json', stale);
    return manifest;
  } catch (e) {
    stage.abort();
    throw e;
  } finally {
    for (const ck of checkpoints) ck.close();
  }
}
