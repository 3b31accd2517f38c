// Spec §2, §4, §5, §8: load the ONNX backbones written by models/export.py into onnxruntime-node sessions: the
// manifest and files checked (manifest.ts), the sessions opened (sessions.ts), the Models calls over them
// (modelRunner.ts), with the allocator policy its caller installs (allocatorTuning.ts). Environment variables are
// read in those modules, each listed at its top.
import { allocatorHooks, checkAllocatorTuning, type AllocatorTuning } from './allocatorTuning.ts';
import { checkModelFiles, fixHint, readManifest } from './manifest.ts';
import { PRECISIONS, type ModelName, type Models, type Precision } from './modelTypes.ts';
import { createModelRunner } from './modelRunner.ts';
import { openSessions } from './sessions.ts';

export type {
  Fusion, Precision, ModelName, FloatTensor, IdTensor, TensorSpec, ManifestFile, Manifest, Models,
} from './modelTypes.ts';
export { HEAD_MODELS, PRECISIONS } from './modelTypes.ts';
export { filesOfPrecision, ModelLoadError, readManifest } from './manifest.ts';
export { cudaProviderInstalled } from './sessions.ts';
export type { AllocatorTuning } from './allocatorTuning.ts';

export interface LoadModelsOptions {
  /** 'auto' (default): CUDA when onnxruntime's CUDA provider is installed and works, else CPU with a notice. */
  device?: 'auto' | 'cpu' | 'cuda';
  /** 'fp32' (default); 'fp16' (for CUDA); 'int8' (CPU only: the models that have int8 graphs, fp32 for the rest). */
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
  /** What to do with glibc's allocator around each model call (allocatorTuning.ts). Default: nothing, since both
   *  settings act on the whole process, not only on the models: glibc keeps its own mmap threshold and heap. The
   *  `hybridgl` command installs commandAllocatorTuning() (thresholds on where GLIBC_TUNABLES maps with huge pages,
   *  as the command sets; $HYBRIDGL_MMAP_THRESHOLDS and $HYBRIDGL_RELEASE_HEAP force them); a program that wants the
   *  command's memory behaviour passes the same. */
  allocator?: AllocatorTuning;
  /** Rows per session call, by model, over CPU_ROWS_PER_CALL (Infinity: the whole batch in one call). */
  rowsPerCall?: Partial<Record<ModelName, number>>;
  /** Save ONNX Runtime's optimised graph of each model on first use and load it afterwards (CPU sessions): beside
   *  the models in .ort-cache/, else in the user's cache directory (graphCache.ts). Default off ($HYBRIDGL_GRAPH_CACHE=1
   *  turns it on): at full size it saved ~0.8 s of CPU warm, nothing cold, for 1.3 GB of disk (docs/performance.md). */
  graphCache?: boolean;
  /** Record ONNX Runtime's per-node profile of every session (Chrome trace JSON, see `endProfiling`). */
  profile?: boolean;
}

/** The options that need no file: a TypeError or RangeError naming the option. */
function checkOptions(options: LoadModelsOptions): void {
  const device = options.device ?? 'auto';
  if (!['auto', 'cpu', 'cuda'].includes(device)) throw new TypeError(`device must be auto, cpu or cuda, got ${device}`);
  checkAllocatorTuning(options.allocator, 'allocator');
  const precision = options.precision ?? 'fp32';
  if (!PRECISIONS.includes(precision)) throw new TypeError(`precision must be ${PRECISIONS.join(', ')}, got ${precision}`);
  if (precision === 'int8' && device === 'cuda')
    throw new TypeError("precision int8 is for the CPU provider (its DynamicQuantizeMatMul has no CUDA kernel): use device 'cpu', or fp16 on CUDA");
  for (const [name, r] of Object.entries(options.rowsPerCall ?? {}))
    if (!(r === Infinity || (Number.isInteger(r) && r >= 1)))
      throw new RangeError(`rowsPerCall.${name} must be a positive integer or Infinity, got ${String(r)}`);
}

export async function loadModels(dir: string, options: LoadModelsOptions = {}): Promise<Models> {
  checkOptions(options);
  const precision = options.precision ?? 'fp32';
  const manifest = readManifest(dir);
  const files = await checkModelFiles(dir, manifest, precision, options.models, options.vocabPath);
  const profile = options.profile ?? false;
  const sessions = await openSessions(dir, files, fixHint(manifest), {
    // int8 graphs run on the CPU provider: 'auto' picks it even where CUDA is installed
    device: precision === 'int8' ? 'cpu' : options.device ?? 'auto', warmup: options.warmup ?? true, lazy: options.lazy ?? false,
    memoryArena: options.memoryArena ?? false, graphCache: options.graphCache, profile,
  });
  return createModelRunner(sessions, {
    manifest, precision, vocabPath: files.vocabPath, byModel: files.byModel, rowsPerCall: options.rowsPerCall,
    allocator: allocatorHooks(options.allocator ?? {}, sessions.device), profile,
  });
}
