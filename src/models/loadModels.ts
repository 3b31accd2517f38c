// Spec §2, §4, §5, §8: load the ONNX backbones written by models/export.py into onnxruntime-node sessions.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, homedir, tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import * as ort from 'onnxruntime-node';

import { MAX_MMAP_THRESHOLD_BYTES, releaseFreeHeap, setMmapThreshold } from '../../bindings/heap.ts';
import { printable } from '../text/printable.ts';
import { affectedConversion, CONVERTER_NAME } from './converterVersion.ts';
import { createCachedSession } from './graphCache.ts';

export type Fusion = 'G2L' | 'L2G' | 'G2L&L2G' | 'token_masking' | 'attn_masking' | 'crop';
export type Precision = 'fp32' | 'fp16';
export type ModelName =
  | 'sam_encoder' | 'sam_decoder' | 'clip_trunk' | 'clip_text' | 'gem_visual'
  | 'clip_head_g2l' | 'clip_head_l2g' | 'clip_head_g2l_l2g' | 'clip_head_token_masking'
  | 'clip_head_attn_masking' | 'clip_head_crop';

/** A dense row-major tensor. */
export interface FloatTensor { data: Float32Array; dims: readonly number[] }
export interface IdTensor { data: Int32Array | BigInt64Array; dims: readonly number[] }

export interface TensorSpec { name: string; dtype: 'float32' | 'int64'; shape: Array<number | string> }
export interface ManifestFile {
  name: string; model: ModelName; precision: Precision; sha256: string; bytes: number;
  inputs: TensorSpec[]; outputs: TensorSpec[]; fusion?: Fusion;
  /** The graph's tensors, as ONNX external data in this file beside it (graphs past protobuf's 2 GiB). */
  externalData?: { name: string; sha256: string; bytes: number };
  /** `models convert`: how many float initializers it wrote from the checkpoint, and how many are the template's
   *  proven constants. */
  initializers?: { checkpoint: number; constants: number };
}
export interface Manifest {
  format: 'hybridgl-models'; formatVersion: 1;
  /** templateFormat: `models convert`'s graph-template format (models/hybridgl_export/templates.py). */
  exporter: { name: string; version: string; torch: string; opset: number; command: string; templateFormat?: number };
  sources: Record<'sam' | 'clip', { checkpoint: string | null; sha256: string }>;
  config: { sam: Record<string, unknown>; clip: Record<string, unknown> };
  logitScale: number;
  vocab: { file: string; present: boolean; sha256?: string };
  files: ManifestFile[];
}

export interface LoadModelsOptions {
  /** 'auto' (default): CUDA when onnxruntime's CUDA provider is installed and works, else CPU with a notice. */
  device?: 'auto' | 'cpu' | 'cuda';
  precision?: Precision;
  /** The CLIP BPE vocabulary, when the model directory has none (e.g. the test fixtures). */
  vocabPath?: string;
  /** Load only these models (default: every model of the precision in the manifest). */
  models?: ModelName[];
  /** Run each session once on small inputs so the first real call is not the slow one (default true; with `lazy`,
   *  at each session's creation). */
  warmup?: boolean;
  /** Create each session at its first call instead of up front, so a one-shot run pays only for the models it
   *  uses; a session's input/output checks then run at that call (default false; CPU only: CUDA sessions are
   *  created up front so a failing provider shows at load). */
  lazy?: boolean;
  /** Keep ONNX Runtime's CPU memory arena and memory-pattern plans between calls (default false: each call's
   *  intermediates go back to the allocator, so peak RSS is the largest call's, not the sum of every session's
   *  largest call). */
  memoryArena?: boolean;
  /** Hand the heap memory freed by each model call back to the system before the next (glibc's malloc_trim; a
   *  no-op elsewhere), so a process's RSS falls back between calls. Default off ($HYBRIDGL_RELEASE_HEAP=1 turns it
   *  on): at full size it left the eval's peak RSS as it was (README, Performance). Profiled sessions always trim
   *  after each run. */
  releaseFreeHeap?: boolean;
  /** Set glibc's mmap threshold before each model's calls on CPU, by model (CPU_MMAP_THRESHOLD; a no-op off glibc).
   *  Default: on where glibc backs its mapped blocks with huge pages (GLIBC_TUNABLES glibc.malloc.hugetlb=1 or 2,
   *  which the `hybridgl` command sets), off otherwise, since with 4 KiB pages the encoder's own mappings cost it
   *  ~13 % (README, Performance); $HYBRIDGL_MMAP_THRESHOLDS=1 or 0 forces it. Off leaves glibc's moving threshold. */
  mmapThresholds?: boolean;
  /** Rows per session call, by model, over CPU_ROWS_PER_CALL (Infinity: the whole batch in one call). */
  rowsPerCall?: Partial<Record<ModelName, number>>;
  /** Save ONNX Runtime's optimised graph of each model on first use and load it afterwards (CPU sessions): beside
   *  the models in .ort-cache/, else in the user's cache directory (graphCache.ts). Default off ($HYBRIDGL_GRAPH_CACHE=1
   *  turns it on): at full size it saved ~0.8 s of CPU warm, nothing cold, for 1.3 GB of disk (README, Performance). */
  graphCache?: boolean;
  /** Record ONNX Runtime's per-node profile of every session (Chrome trace JSON, see `endProfiling`). */
  profile?: boolean;
}

export interface Models {
  manifest: Manifest;
  device: 'cpu' | 'cuda';
  precision: Precision;
  /** CLIP's logit scale (exp of the checkpoint's logit_scale; 100 for the released weights). */
  logitScale: number;
  /** The tokenizer vocabulary file, or null when neither the directory nor options.vocabPath has one. */
  vocabPath: string | null;
  /** Normalised, zero-padded pixels [B,3,1024,1024] → image embeddings [B,C,64,64]. */
  samEncoder(pixels: FloatTensor): Promise<FloatTensor>;
  /** Embeddings [1,C,64,64], points [B,P,2] in the 1024 frame, labels [B,P] (1 fg, 0 bg, −1 none) →
   *  multimask low-res logits [B,3,256,256] and predicted IoUs [B,3]. */
  samDecoder(embeddings: FloatTensor, points: FloatTensor, labels: FloatTensor):
    Promise<{ lowResLogits: FloatTensor; iouPredictions: FloatTensor }>;
  /** Images [B,3,224,224] → tokens after the trunk blocks [B,197,D] (run local and global images together). */
  clipTrunk(images: FloatTensor): Promise<FloatTensor>;
  /** Hybrid features [N,E]. G2L, L2G, G2L&L2G need local, global [N,197,D] and the mask grid [N,14,14];
   *  token_masking and attn_masking use local (batch N or 1) and the grid; crop uses local only. */
  clipHead(local: FloatTensor, global: FloatTensor | null, maskGrid: FloatTensor | null, fusion: Fusion):
    Promise<FloatTensor>;
  /** Token ids [B,77] → projected text features [B,E]. */
  clipText(ids: IdTensor): Promise<FloatTensor>;
  /** CLIP-normalised images [B,3,448,448] → L2-normalised GEM patch features [B,784,E]. */
  gemVisual(images: FloatTensor): Promise<FloatTensor>;
  /** With `profile`: ends every created session's profile and returns the JSON files ONNX Runtime wrote. */
  /** `readyAt`: when the session's creation returned (performance.now() ms), the end of the profile's
   *  session_initialization event, to put the profile on the process's clock. */
  endProfiling(): Promise<Array<{ model: ModelName; path: string; readyAt: number }>>;
  dispose(): Promise<void>;
}

export const HEAD_MODELS: Record<Fusion, ModelName> = {
  G2L: 'clip_head_g2l', L2G: 'clip_head_l2g', 'G2L&L2G': 'clip_head_g2l_l2g',
  token_masking: 'clip_head_token_masking', attn_masking: 'clip_head_attn_masking', crop: 'clip_head_crop',
};

/** Every problem found with a model directory, in one error that says how to fix it. */
export class ModelLoadError extends Error {
  constructor(readonly dir: string, readonly problems: string[], fix: string) {
    // Manifest text reaches the terminal: control characters are shown escaped.
    super(printable(`models in ${dir} are not usable:\n  - ${problems.map((p) => printable(p)).join('\n  - ')}\n${printable(fix)}`,
      { keepLayout: true }));
    this.name = 'ModelLoadError';
  }
}

const FETCH_HINT = 'hybridgl models fetch --out <dir> (README, Models)';
const GENERIC_FIX = `Fetch them: ${FETCH_HINT}; or convert checkpoints you have: hybridgl models convert.`;

function fixHint(manifest: Partial<Manifest> | null): string {
  const command = manifest?.exporter?.command;
  if (command && manifest?.exporter?.name === CONVERTER_NAME)
    return `Convert them again with this version (it writes over the directory): ${command}`;
  return command ? `Re-export them: ${command} ; or fetch the official ones: ${FETCH_HINT}.` : GENERIC_FIX;
}

async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

// Start-up: hashing 1.3 GB of models costs seconds, so a file's hash is remembered with its identity (device, inode,
// size, mtime in ns) in the user's cache directory and recomputed whenever any of them changes.
// HYBRIDGL_SHA256_CACHE=0 hashes every time.
const hashCachePath = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'hybridgl', 'sha256.json');
let hashCache: Record<string, string> | null = null;

async function sha256(path: string): Promise<string> {
  if (process.env.HYBRIDGL_SHA256_CACHE === '0') return hashFile(path);
  const st = statSync(path, { bigint: true });
  const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  if (!hashCache) {
    try {
      hashCache = JSON.parse(readFileSync(hashCachePath, 'utf8'));
    } catch {
      hashCache = {};
    }
  }
  const cached = hashCache![key];
  if (cached) return cached;
  const digest = await hashFile(path);
  hashCache![key] = digest;
  try {
    mkdirSync(dirname(hashCachePath), { recursive: true });
    writeFileSync(hashCachePath, JSON.stringify(hashCache));
  } catch { /* a read-only home: hash again next time */ }
  return digest;
}

function cannotLoad(file: string, e: unknown): string {
  return `${file}: onnxruntime cannot load it (${(e instanceof Error ? e.message : String(e)).split('\n')[0]})`;
}

/** Reads and checks dir/manifest.json (structure, confined file names); a ModelLoadError lists every problem. */
export function readManifest(dir: string): Manifest {
  const path = join(dir, 'manifest.json');
  let parsed: Partial<Manifest>;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    const why = existsSync(path) ? `manifest.json is not valid JSON (${(e as Error).message})` : 'manifest.json is missing';
    throw new ModelLoadError(dir, [why], GENERIC_FIX);
  }
  const problems: string[] = [];
  if (parsed.format !== 'hybridgl-models' || parsed.formatVersion !== 1)
    problems.push(`manifest.json: format ${JSON.stringify(parsed.format)} v${parsed.formatVersion}, expected hybridgl-models v1`);
  const affected = affectedConversion(parsed.exporter);
  if (affected) problems.push(`manifest.json: ${affected}`);
  if (!Array.isArray(parsed.files) || parsed.files.length === 0) problems.push('manifest.json lists no model files');
  else
    for (const [i, f] of parsed.files.entries())
      if (typeof f?.name !== 'string' || typeof f.sha256 !== 'string' || !Array.isArray(f.inputs) ||
        !Array.isArray(f.outputs) || typeof f.model !== 'string' || (f.precision !== 'fp32' && f.precision !== 'fp16'))
        problems.push(`manifest.json: files[${i}] lacks name/model/precision/sha256/inputs/outputs`);
      else if (f.externalData !== undefined && (typeof f.externalData?.name !== 'string' ||
        typeof f.externalData.sha256 !== 'string' || typeof f.externalData.bytes !== 'number'))
        problems.push(`manifest.json: files[${i}] (${f.name}): externalData lacks name/sha256/bytes`);
  if (typeof parsed.logitScale !== 'number') problems.push('manifest.json: logitScale missing');
  if (typeof parsed.vocab?.file !== 'string') problems.push('manifest.json: vocab entry missing');
  const names = [...(Array.isArray(parsed.files) ? parsed.files.flatMap((f) => [f?.name, f?.externalData?.name]) : []),
    parsed.vocab?.file];
  for (const name of names)
    if (typeof name === 'string' && !confined(dir, name))
      problems.push(`manifest.json: file name ${JSON.stringify(name)} is not inside the models directory`);
  if (problems.length) throw new ModelLoadError(dir, problems, fixHint(parsed));
  return parsed as Manifest;
}

/** Whether `name` is a plain relative path that stays inside `dir`, symbolic links resolved where they exist. */
function confined(dir: string, name: string): boolean {
  if (name === '' || isAbsolute(name) || name.includes('\0')) return false;
  const inside = (base: string, path: string) => {
    const rel = relative(base, path);
    return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
  };
  if (!inside(resolve(dir), resolve(dir, name))) return false;
  try {
    return inside(realpathSync(dir), realpathSync(join(dir, name)));
  } catch {
    return true; // not there (yet): reported as missing
  }
}

function describe(shape: ReadonlyArray<number | string>): string {
  return `[${shape.join(', ')}]`;
}

/** Names, element types and static sizes the session reports must be the manifest's. */
function metadataProblems(file: ManifestFile, session: ort.InferenceSession): string[] {
  const problems: string[] = [];
  const check = (kind: 'inputs' | 'outputs', specs: TensorSpec[], names: readonly string[],
    metadata: readonly ort.InferenceSession.ValueMetadata[]) => {
    const want = specs.map((s) => s.name);
    if (want.join() !== names.join()) {
      problems.push(`${file.name}: ${kind} are [${names.join(', ')}], the manifest says [${want.join(', ')}]`);
      return;
    }
    for (const [i, spec] of specs.entries()) {
      const meta = metadata[i];
      if (!meta?.isTensor) continue;
      const shape = meta.shape;
      const sizesDiffer = shape.length !== spec.shape.length ||
        shape.some((d, j) => typeof d === 'number' && d > 0 && typeof spec.shape[j] === 'number' && d !== spec.shape[j]);
      if (meta.type !== spec.dtype || sizesDiffer)
        problems.push(`${file.name}: ${kind.slice(0, -1)} ${spec.name} is ${meta.type} ${describe(shape)}, ` +
          `the manifest says ${spec.dtype} ${describe(spec.shape)}`);
    }
  };
  check('inputs', file.inputs, session.inputNames, session.inputMetadata);
  check('outputs', file.outputs, session.outputNames, session.outputMetadata);
  return problems;
}

/** Whether onnxruntime-node's CUDA execution provider library is installed (see README, Models). */
export function cudaProviderInstalled(): boolean {
  try {
    const pkg = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
    return existsSync(join(pkg, 'bin', 'napi-v6', process.platform, process.arch, 'libonnxruntime_providers_cuda.so'));
  } catch {
    return false;
  }
}

/** ONNX Runtime's intra-op threads: $HYBRIDGL_THREADS (eval --workers sets it per worker), else every core. */
function intraOpThreads(): number {
  const text = process.env.HYBRIDGL_THREADS;
  if (text === undefined || text === '') return availableParallelism();
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`HYBRIDGL_THREADS must be a positive integer, got '${text}'`);
  return n;
}

function sessionOptions(device: 'cpu' | 'cuda', options: LoadModelsOptions, profilePrefix?: string):
  ort.InferenceSession.SessionOptions {
  const arena = options.memoryArena ?? false;
  return {
    executionProviders: [device],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: intraOpThreads(),
    enableCpuMemArena: arena,
    enableMemPattern: arena,
    logSeverityLevel: 3, // errors only: fp16 graphs on CPU warn about every node they cannot constant-fold
    ...(profilePrefix ? { enableProfiling: true, profileFilePrefix: profilePrefix } : {}),
  };
}

function toOrt(value: FloatTensor | IdTensor, spec: TensorSpec, model: string): ort.Tensor {
  const rankOk = value.dims.length === spec.shape.length;
  const sizesOk = rankOk && spec.shape.every((s, i) => typeof s === 'string' || s === value.dims[i]);
  if (!sizesOk)
    throw new RangeError(`${model}: ${spec.name} has dims ${describe(value.dims)}, expected ${describe(spec.shape)}`);
  const count = value.dims.reduce((a, b) => a * b, 1);
  if (value.data.length !== count)
    throw new RangeError(`${model}: ${spec.name} has ${value.data.length} values for dims ${describe(value.dims)}`);
  if (spec.dtype === 'int64') {
    const data = value.data instanceof BigInt64Array ? value.data : BigInt64Array.from(value.data as Int32Array, BigInt);
    return new ort.Tensor('int64', data, value.dims);
  }
  if (!(value.data instanceof Float32Array)) throw new TypeError(`${model}: ${spec.name} must be a Float32Array`);
  return new ort.Tensor('float32', value.data, value.dims);
}

/** Small inputs of the declared shapes (symbolic sizes 1), for the warm-up run. */
function warmupFeeds(file: ManifestFile): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const spec of file.inputs) {
    const dims = spec.shape.map((s) => (typeof s === 'string' ? 1 : s));
    const count = dims.reduce((a, b) => a * b, 1);
    feeds[spec.name] = spec.dtype === 'int64'
      ? new ort.Tensor('int64', new BigInt64Array(count), dims)
      : new ort.Tensor('float32', new Float32Array(count), dims);
  }
  return feeds;
}

let profileCount = 0;

/** Rows per session call on CPU. A batch runs a few rows at a time so that each intermediate (the decoder's keys are
 *  prompts × 4096 × 256 floats) stays small enough for malloc to reuse freed memory rather than map and zero fresh
 *  pages on every node: less memory and less time. Rows are independent, so the outputs are the whole batch's. */
export const CPU_ROWS_PER_CALL: Partial<Record<ModelName, number>> = {
  sam_decoder: 4, clip_trunk: 8, clip_head_g2l: 8, clip_head_l2g: 8, clip_head_g2l_l2g: 8, clip_head_token_masking: 8,
  clip_head_attn_masking: 8, clip_head_crop: 8,
};

/** The default of `mmapThresholds`: $HYBRIDGL_MMAP_THRESHOLDS (1 or 0), else whether glibc maps its blocks with huge
 *  pages (GLIBC_TUNABLES, which glibc read at start-up). */
export function mmapThresholdsByDefault(env: NodeJS.ProcessEnv = process.env): boolean {
  const forced = env.HYBRIDGL_MMAP_THRESHOLDS;
  if (forced === '1' || forced === '0') return forced === '1';
  if (forced !== undefined && forced !== '')
    throw new RangeError(`HYBRIDGL_MMAP_THRESHOLDS must be 1 or 0, got '${forced}'`);
  return /(^|:)glibc\.malloc\.hugetlb=[12](:|$)/.test(env.GLIBC_TUNABLES ?? '');
}

/** glibc's mmap threshold during each model's calls on CPU (README, Performance: memory). Left to itself, glibc
 *  raises the threshold past the SAM encoder's 12–14 MiB token tensors, which then grow the heap between long-lived
 *  small blocks (an occasional +700 MiB in one encoder call), so the encoder's blocks of 4 MiB and more are mapped on
 *  their own. The other models keep their intermediates (up to 20 MB in calls of CPU_ROWS_PER_CALL rows) in the
 *  heap, where the next call reuses them without fresh pages: the most glibc allows. */
export const CPU_MMAP_THRESHOLD: Partial<Record<ModelName, number>> = { sam_encoder: 4 * 1024 * 1024 };

export async function loadModels(dir: string, options: LoadModelsOptions = {}): Promise<Models> {
  const precision = options.precision ?? 'fp32';
  const requested = options.device ?? 'auto';
  if (!['auto', 'cpu', 'cuda'].includes(requested)) throw new TypeError(`device must be auto, cpu or cuda, got ${requested}`);
  const mmapThresholds = options.mmapThresholds ?? mmapThresholdsByDefault();
  if (precision !== 'fp32' && precision !== 'fp16') throw new TypeError(`precision must be fp32 or fp16, got ${precision}`);
  for (const [name, r] of Object.entries(options.rowsPerCall ?? {}))
    if (!(r === Infinity || (Number.isInteger(r) && r >= 1)))
      throw new RangeError(`rowsPerCall.${name} must be a positive integer or Infinity, got ${String(r)}`);
  const manifest = readManifest(dir);
  const fix = fixHint(manifest);
  const problems: string[] = [];

  const byModel = new Map<ModelName, ManifestFile>();
  for (const f of manifest.files) if (f.precision === precision) byModel.set(f.model, f);
  const wanted = options.models ?? [...byModel.keys()];
  for (const name of wanted) if (!byModel.has(name)) problems.push(`no ${precision} file for ${name} in manifest.json`);
  for (const name of wanted) {
    const file = byModel.get(name);
    if (!file) continue;
    const path = join(dir, file.name);
    if (!existsSync(path)) problems.push(`${file.name} is missing`);
    else if ((await sha256(path)) !== file.sha256) problems.push(`${file.name} has the wrong sha256 (changed or truncated)`);
    const data = file.externalData;
    if (!data) continue;
    const dataPath = join(dir, data.name);
    if (!existsSync(dataPath)) problems.push(`${data.name} (external data of ${file.name}) is missing`);
    else if (statSync(dataPath).size !== data.bytes)
      problems.push(`${data.name} (external data of ${file.name}) is ${statSync(dataPath).size} bytes, the manifest says ${data.bytes} (truncated?)`);
    else if ((await sha256(dataPath)) !== data.sha256)
      problems.push(`${data.name} (external data of ${file.name}) has the wrong sha256 (changed or truncated)`);
  }

  let vocabPath: string | null = null;
  const vocabCandidate = options.vocabPath ?? (manifest.vocab.present ? join(dir, manifest.vocab.file) : null);
  if (vocabCandidate) {
    if (!existsSync(vocabCandidate)) problems.push(`vocabulary ${vocabCandidate} is missing`);
    else if (manifest.vocab.sha256 && (await sha256(vocabCandidate)) !== manifest.vocab.sha256)
      problems.push(`vocabulary ${vocabCandidate} has the wrong sha256 (not CLIP's bpe_simple_vocab_16e6)`);
    else vocabPath = vocabCandidate;
  }
  if (problems.length) throw new ModelLoadError(dir, problems, fix);

  const device: 'cpu' | 'cuda' = requested === 'cuda' || (requested === 'auto' && cudaProviderInstalled()) ? 'cuda' : 'cpu';
  if (requested === 'auto' && device === 'cpu')
    process.stderr.write('hybridgl: onnxruntime CUDA provider not installed; running the models on CPU\n');

  const sessions = new Map<ModelName, ort.InferenceSession>();
  const profiles = new Map<ModelName, { prefix: string; readyAt: number }>();
  const closeAll = () => Promise.all([...sessions.values()].map((s) => s.release()));
  const create = async (name: ModelName): Promise<ort.InferenceSession> => {
    const file = byModel.get(name)!;
    const prefix = options.profile ? join(tmpdir(), `hybridgl-ort-${process.pid}-${++profileCount}-${name}`) : undefined;
    const graphCache = options.graphCache ?? process.env.HYBRIDGL_GRAPH_CACHE === '1';
    const { session } = await createCachedSession(dir, file, sessionOptions(device, options, prefix), graphCache);
    if (prefix) profiles.set(name, { prefix, readyAt: performance.now() });
    const found = metadataProblems(file, session);
    if (found.length) {
      await session.release();
      throw new ModelLoadError(dir, found, fix);
    }
    if (options.warmup ?? true) await session.run(warmupFeeds(file));
    sessions.set(name, session);
    return session;
  };
  const pending = new Map<ModelName, Promise<ort.InferenceSession>>();
  const sessionFor = (name: ModelName): Promise<ort.InferenceSession> => {
    const ready = sessions.get(name);
    if (ready) return Promise.resolve(ready);
    if (!wanted.includes(name) || !byModel.has(name))
      return Promise.reject(new Error(`${name} was not loaded (see LoadModelsOptions.models)`));
    let p = pending.get(name);
    if (!p) {
      // A lazily created session that onnxruntime cannot load is the same ModelLoadError as at load, only later.
      p = create(name).catch((e) => {
        throw e instanceof ModelLoadError ? e : new ModelLoadError(dir, [cannotLoad(byModel.get(name)!.name, e)], fix);
      }).finally(() => pending.delete(name));
      pending.set(name, p);
    }
    return p;
  };
  if (!(options.lazy && device === 'cpu')) {
    try {
      for (const name of wanted) {
        try {
          await create(name);
        } catch (e) {
          if (e instanceof ModelLoadError) {
            problems.push(...e.problems);
            continue;
          }
          if (device === 'cuda' && requested === 'cuda')
            throw new Error(`device 'cuda': onnxruntime could not create a CUDA session for ${byModel.get(name)!.name} ` +
              `(${(e as Error).message.split('\n')[0]}). Install its CUDA provider (CUDA 12, cuDNN 9): ` +
              'npm rebuild onnxruntime-node --onnxruntime-node-install=cuda12');
          if (device !== 'cuda') {
            // A file whose bytes match the manifest but that onnxruntime cannot load (cut at export, wrong opset…).
            problems.push(cannotLoad(byModel.get(name)!.name, e));
            continue;
          }
          process.stderr.write(`hybridgl: onnxruntime CUDA provider failed (${(e as Error).message.split('\n')[0]}); running the models on CPU\n`);
          await closeAll();
          sessions.clear();
          return loadModels(dir, { ...options, device: 'cpu' });
        }
      }
      if (problems.length) throw new ModelLoadError(dir, problems, fix);
    } catch (e) {
      await closeAll();
      throw e;
    }
  }

  const rows = { ...(device === 'cpu' ? CPU_ROWS_PER_CALL : {}), ...options.rowsPerCall };
  const release = options.releaseFreeHeap ?? process.env.HYBRIDGL_RELEASE_HEAP === '1';
  const thresholds = device === 'cpu' && mmapThresholds;
  const run = async (name: ModelName, args: Array<FloatTensor | IdTensor>): Promise<FloatTensor[]> => {
    const session = await sessionFor(name);
    const file = byModel.get(name)!;
    const tensors = file.inputs.map((spec, i) => toOrt(args[i], spec, name));
    // The inputs batched with the outputs (same symbolic first size): those split into calls of `per` rows.
    const batchName = file.outputs[0].shape[0];
    const sameBatch = file.inputs.map((spec) => typeof batchName === 'string' && spec.shape[0] === batchName);
    const n = tensors.find((_, i) => sameBatch[i])?.dims[0] ?? 0;
    // An input with a batch of its own (token_masking's and attn_masking's tokens: one row broadcast over the masks,
    // or a row per mask) is split with the others where it has a row per output row.
    const batched = file.inputs.map((spec, i) => sameBatch[i] ||
      (typeof batchName === 'string' && typeof spec.shape[0] === 'string' && n > 1 && tensors[i].dims[0] === n));
    const per = rows[name] ?? Infinity;
    if (thresholds) setMmapThreshold(CPU_MMAP_THRESHOLD[name] ?? MAX_MMAP_THRESHOLD_BYTES);
    const parts: ort.InferenceSession.OnnxValueMapType[] = [];
    for (let b = 0; b === 0 || b < n; b += per) {
      const m = Math.min(per, n - b);
      const feeds: Record<string, ort.Tensor> = {};
      file.inputs.forEach((spec, i) => {
        const t = tensors[i];
        const whole = !batched[i] || m === n;
        const size = t.size / Math.max(n, 1);
        feeds[spec.name] = whole ? t : new ort.Tensor(t.type as 'float32', (t.data as Float32Array).subarray(b * size, (b + m) * size),
          [m, ...t.dims.slice(1)]);
      });
      parts.push(await session.run(feeds));
      // Profiled, the heap grows with every run instead of reusing what the last one freed (the profiler's records
      // sit between the freed blocks): a 64-prompt decoder call in runs of 1 peaked at 4.7 GB, trimmed at 0.3 GB.
      if (options.profile) releaseFreeHeap();
      if (m === n) break;
    }
    if (release && !options.profile) releaseFreeHeap();
    return file.outputs.map((spec) => {
      if (parts.length === 1) {
        const t = parts[0][spec.name];
        return { data: t.data as Float32Array, dims: [...t.dims] };
      }
      const chunks = parts.map((p) => p[spec.name]);
      const data = new Float32Array(chunks.reduce((a, t) => a + t.size, 0));
      let at = 0;
      for (const t of chunks) data.set(t.data as Float32Array, at), (at += t.size);
      return { data, dims: [n, ...chunks[0].dims.slice(1)] };
    });
  };

  return {
    manifest, device, precision, logitScale: manifest.logitScale, vocabPath,
    samEncoder: async (pixels) => (await run('sam_encoder', [pixels]))[0],
    samDecoder: async (embeddings, points, labels) => {
      const [lowResLogits, iouPredictions] = await run('sam_decoder', [embeddings, points, labels]);
      return { lowResLogits, iouPredictions };
    },
    clipTrunk: async (images) => (await run('clip_trunk', [images]))[0],
    clipHead: async (local, global, maskGrid, fusion) => {
      const name = HEAD_MODELS[fusion];
      if (!name) throw new TypeError(`fusion must be one of ${Object.keys(HEAD_MODELS).join(', ')}, got ${fusion}`);
      const needsGlobal = fusion === 'G2L' || fusion === 'L2G' || fusion === 'G2L&L2G';
      if (needsGlobal && !global) throw new TypeError(`clipHead: fusion ${fusion} needs the global tokens`);
      if (fusion !== 'crop' && !maskGrid) throw new TypeError(`clipHead: fusion ${fusion} needs the mask grid`);
      const args = fusion === 'crop' ? [local] : needsGlobal ? [local, global!, maskGrid!] : [local, maskGrid!];
      return (await run(name, args))[0];
    },
    clipText: async (ids) => (await run('clip_text', [ids]))[0],
    gemVisual: async (images) => (await run('gem_visual', [images]))[0],
    endProfiling: async () => {
      const written: Array<{ model: ModelName; path: string; readyAt: number }> = [];
      for (const [name, session] of sessions) {
        const profile = profiles.get(name);
        if (!profile) continue;
        const { prefix, readyAt } = profile;
        session.endProfiling();
        // onnxruntime-node drops the file name endProfiling returns; ORT writes PREFIX_<date time>.json.
        const base = basename(prefix);
        for (const f of readdirSync(dirname(prefix)))
          if (f.startsWith(`${base}_`) && f.endsWith('.json')) written.push({ model: name, path: join(dirname(prefix), f), readyAt });
        profiles.delete(name);
      }
      return written;
    },
    dispose: async () => {
      await Promise.allSettled(pending.values());
      await closeAll();
      sessions.clear();
    },
  };
}
