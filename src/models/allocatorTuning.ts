// glibc's allocator around the models' CPU calls (docs/performance.md, memory): a policy that the `hybridgl` command
// installs (loadModels' `allocator` option) and that the loader only carries out. Both settings act on the whole
// process, so a library that loads models leaves them off unless its caller asks.
//
// Environment, read here only (commandAllocatorTuning, for the command):
//   HYBRIDGL_MMAP_THRESHOLDS   1 or 0: forces mmapThresholds on or off
//   GLIBC_TUNABLES             otherwise mmapThresholds is on where glibc.malloc.hugetlb is 1 or 2 (bin/allocatorEnv.js
//                              sets it for the command; glibc read it at start-up)
//   HYBRIDGL_RELEASE_HEAP      1: releaseFreeHeap on
import { MAX_MMAP_THRESHOLD_BYTES, releaseFreeHeap, setMmapThreshold } from '../../bindings/heap.ts';
import type { ModelName } from './modelTypes.ts';

/** What to do with glibc's allocator around each model's calls (each a no-op off glibc). Plain data: it travels to
 *  the service's model worker with the segmenter's options. */
export interface AllocatorTuning {
  /** Set glibc's mmap threshold before each model's calls on CPU, by model (CPU_MMAP_THRESHOLD). Worth it where glibc
   *  backs its mapped blocks with huge pages; with 4 KiB pages the encoder's own mappings cost it ~13 % (docs/performance.md).
   *  Off: glibc's moving threshold. */
  mmapThresholds?: boolean;
  /** Hand the heap memory freed by each model call back to the system before the next (glibc's malloc_trim), so a
   *  process's RSS falls back between calls. At full size it left the eval's peak RSS as it was (docs/performance.md).
   *  Profiled sessions trim after each run whatever this says. */
  releaseFreeHeap?: boolean;
}

/** glibc's mmap threshold during each model's calls on CPU (docs/performance.md, memory). Left to itself, glibc
 *  raises the threshold past the SAM encoder's 12–14 MiB token tensors, which then grow the heap between long-lived
 *  small blocks (an occasional +700 MiB in one encoder call), so the encoder's blocks of 4 MiB and more are mapped on
 *  their own. The other models keep their intermediates (up to 20 MB in calls of CPU_ROWS_PER_CALL rows) in the
 *  heap, where the next call reuses them without fresh pages: the most glibc allows. */
export const CPU_MMAP_THRESHOLD: Partial<Record<ModelName, number>> = { sam_encoder: 4 * 1024 * 1024 };

/** The command's `mmapThresholds`: $HYBRIDGL_MMAP_THRESHOLDS (1 or 0), else whether glibc maps its blocks with huge
 *  pages (GLIBC_TUNABLES, which glibc read at start-up). */
export function mmapThresholdsByDefault(env: NodeJS.ProcessEnv = process.env): boolean {
  const forced = env.HYBRIDGL_MMAP_THRESHOLDS;
  if (forced === '1' || forced === '0') return forced === '1';
  if (forced !== undefined && forced !== '')
    throw new RangeError(`HYBRIDGL_MMAP_THRESHOLDS must be 1 or 0, got '${forced}'`);
  return /(^|:)glibc\.malloc\.hugetlb=[12](:|$)/.test(env.GLIBC_TUNABLES ?? '');
}

/** The policy the `hybridgl` command installs, from its environment (see the file's head). */
export function commandAllocatorTuning(env: NodeJS.ProcessEnv = process.env): AllocatorTuning {
  return { mmapThresholds: mmapThresholdsByDefault(env), releaseFreeHeap: env.HYBRIDGL_RELEASE_HEAP === '1' };
}

/** A TypeError naming the field when `tuning` is not an AllocatorTuning. */
export function checkAllocatorTuning(tuning: unknown, name: string): asserts tuning is AllocatorTuning | undefined {
  if (tuning === undefined) return;
  if (typeof tuning !== 'object' || tuning === null || Array.isArray(tuning))
    throw new TypeError(`${name} must be an object { mmapThresholds?, releaseFreeHeap? }, got ${tuning === null ? 'null' : typeof tuning}`);
  for (const key of ['mmapThresholds', 'releaseFreeHeap'] as const) {
    const v = (tuning as Record<string, unknown>)[key];
    if (v !== undefined && typeof v !== 'boolean') throw new TypeError(`${name}.${key} must be true or false, got ${typeof v}`);
  }
}

/** What the runner calls around one model call's session runs, for the policy on this device. */
export interface AllocatorHooks {
  beforeCall(model: ModelName): void;
  afterCall(): void;
}

export function allocatorHooks(tuning: AllocatorTuning, device: 'cpu' | 'cuda'): AllocatorHooks {
  const thresholds = device === 'cpu' && tuning.mmapThresholds === true;
  const release = tuning.releaseFreeHeap === true;
  return {
    beforeCall: (model) => {
      if (thresholds) setMmapThreshold(CPU_MMAP_THRESHOLD[model] ?? MAX_MMAP_THRESHOLD_BYTES);
    },
    afterCall: () => {
      if (release) releaseFreeHeap();
    },
  };
}
