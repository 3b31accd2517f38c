// Start-up (spec §2, §4, §5, §8 models): ONNX Runtime's optimised graph of each model is saved on its first use and
// loaded in its place afterwards, so later processes skip the graph optimisation. See docs/performance.md.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { arch, cpus, homedir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';

/** Where saved graphs are looked for and written, in order: beside the models, then the user's cache directory
 *  (a read-only model directory). */
export function graphCacheDirs(modelDir: string): string[] {
  return [join(modelDir, '.ort-cache'), join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'hybridgl', 'ort-graphs')];
}

let cpuId: string | null = null;
/** The CPU's identity: level 'all' lays tensors out for the vector width it finds (NCHWc blocks). */
function cpuIdentity(): string {
  if (cpuId === null) {
    let flags = '';
    try {
      flags = /^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1].trim() ?? '';
    } catch { /* not Linux: the model name below */ }
    cpuId = `${arch()} ${cpus()[0]?.model ?? ''} ${flags}`;
  }
  return cpuId;
}

/** The saved graph's key: the model's sha256, ONNX Runtime's version, the provider, the optimisation level, the CPU. */
export function graphCacheKey(sha256: string, device: string, level: string): string {
  const id = { sha256, ort: ort.env.versions.node ?? ort.env.versions.common, device, level, cpu: cpuIdentity() };
  return createHash('sha256').update(JSON.stringify(id)).digest('hex').slice(0, 32);
}

/** What the session was made from: the saved graph ('hit'), the export while saving its graph ('written'), or the
 *  export alone ('off': turned off, not a CPU session, too large to save in one file, nowhere writable). */
export type GraphCacheUse = 'hit' | 'written' | 'off';

export interface GraphCacheFile { name: string; sha256: string; bytes: number }

// protobuf's 2 GiB limit: ORT cannot write a larger graph into one file.
const MAX_BYTES = 2 ** 31 - 2 ** 26;
let tmpCount = 0;

/** A file name in dir that this process may write, or null when dir cannot be written. */
function probe(dir: string, name: string): string | null {
  try {
    mkdirSync(dir, { recursive: true });
    const path = join(dir, `${name}.tmp-${process.pid}-${++tmpCount}`);
    closeSync(openSync(path, 'wx'));
    return path;
  } catch {
    return null;
  }
}

/**
 * Creates the session of modelDir/file.name: from its saved optimised graph when there is one (optimisation level
 * 'disabled': it is done), else from the export, saving the graph under a temporary name renamed into place when
 * complete (atomic: a reader sees the whole file or none). A saved graph that fails to load is removed and the
 * export used.
 */
export async function createCachedSession(modelDir: string, file: GraphCacheFile, options: ort.InferenceSession.SessionOptions,
  enabled: boolean): Promise<{ session: ort.InferenceSession; cache: GraphCacheUse }> {
  const source = join(modelDir, file.name);
  const device = String(options.executionProviders?.[0] ?? 'cpu');
  if (!enabled || device !== 'cpu' || file.bytes > MAX_BYTES)
    return { session: await ort.InferenceSession.create(source, options), cache: 'off' };
  const stem = file.name.replace(/\.onnx$/, '');
  const name = `${stem}.${graphCacheKey(file.sha256, device, String(options.graphOptimizationLevel ?? 'all'))}.onnx`;
  const dirs = graphCacheDirs(modelDir);
  for (const dir of dirs) {
    const saved = join(dir, name);
    if (!existsSync(saved)) continue;
    try {
      return { session: await ort.InferenceSession.create(saved, { ...options, graphOptimizationLevel: 'disabled' }), cache: 'hit' };
    } catch {
      rmSync(saved, { force: true });
    }
  }
  for (const dir of dirs) {
    const tmp = probe(dir, name);
    if (!tmp) continue;
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(source, { ...options, optimizedModelFilePath: tmp });
    } catch {
      rmSync(tmp, { force: true });
      break; // the export itself, or writing it: once more without saving
    }
    try {
      renameSync(tmp, join(dir, name));
      // Beside the models, graphs of this file saved under another key (an older export, ONNX Runtime or CPU) are
      // stale; the user's directory may serve other model directories.
      if (dir === dirs[0])
        for (const f of readdirSync(dir))
          if (f !== name && f.startsWith(`${stem}.`) && f.endsWith('.onnx') && !f.includes('.tmp-')) rmSync(join(dir, f), { force: true });
    } catch {
      rmSync(tmp, { force: true });
    }
    return { session, cache: 'written' };
  }
  return { session: await ort.InferenceSession.create(source, options), cache: 'off' };
}
