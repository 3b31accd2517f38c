// The ONNX Runtime sessions of checked model files. Each is created up front, or at its first call
// (lazy, CPU), checked against the manifest, warmed up and optionally profiled. 'auto' falls back from CUDA to CPU,
// with a notice, when CUDA's provider is missing or cannot create a session.
//
// Environment, read here only (sessionEnvironment, at each session's creation):
//   HYBRIDGL_THREADS       ONNX Runtime's intra-op threads (eval --workers sets it per worker; default every core)
//   HYBRIDGL_GRAPH_CACHE   1: save and reuse ONNX Runtime's optimised graphs when the graphCache option is not given
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';

import { createCachedSession } from './graphCache.ts';
import type { CheckedFiles } from './manifest.ts';
import { ModelLoadError } from './manifest.ts';
import type { ManifestFile, ModelName, TensorSpec } from './modelTypes.ts';

export interface SessionSettings {
  device: 'auto' | 'cpu' | 'cuda';
  warmup: boolean;
  lazy: boolean;
  memoryArena: boolean;
  /** undefined: $HYBRIDGL_GRAPH_CACHE decides. */
  graphCache: boolean | undefined;
  profile: boolean;
}

/** The sessions of one load, on the device they run on. */
export interface ModelSessions {
  device: 'cpu' | 'cuda';
  /** The model's session, created at this call when lazy (a ModelLoadError when onnxruntime cannot load it). */
  sessionFor(name: ModelName): Promise<ort.InferenceSession>;
  /** Ends every created session's profile; the JSON files ONNX Runtime wrote. */
  endProfiling(): Array<{ model: ModelName; path: string; readyAt: number }>;
  /** Releases every session, once those being created are done. */
  dispose(): Promise<void>;
}

/** Whether onnxruntime-node's CUDA execution provider library is installed (see docs/models.md). */
export function cudaProviderInstalled(): boolean {
  try {
    const pkg = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
    return existsSync(join(pkg, 'bin', 'napi-v6', process.platform, process.arch, 'libonnxruntime_providers_cuda.so'));
  } catch {
    return false;
  }
}

function sessionEnvironment(env: NodeJS.ProcessEnv = process.env): { threads: number; graphCache: boolean } {
  const text = env.HYBRIDGL_THREADS;
  let threads = availableParallelism();
  if (text !== undefined && text !== '') {
    threads = Number(text);
    if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`HYBRIDGL_THREADS must be a positive integer, got '${text}'`);
  }
  return { threads, graphCache: env.HYBRIDGL_GRAPH_CACHE === '1' };
}

function sessionOptions(device: 'cpu' | 'cuda', threads: number, arena: boolean, profilePrefix?: string):
  ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [device],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: threads,
    enableCpuMemArena: arena,
    enableMemPattern: arena,
    logSeverityLevel: 3, // errors only: fp16 graphs on CPU warn about every node they cannot constant-fold
    ...(profilePrefix ? { enableProfiling: true, profileFilePrefix: profilePrefix } : {}),
  };
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

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}

function cannotLoad(file: string, e: unknown): string {
  return `${file}: onnxruntime cannot load it (${firstLine(e)})`;
}

/** 'auto' found CUDA's provider unable to create a session: the load goes on on CPU. */
class CudaSessionFailed extends Error {}

let profileCount = 0;

/** Opens the sessions of the checked files on the settings' device (see the file's head). */
export async function openSessions(dir: string, files: CheckedFiles, fix: string, settings: SessionSettings): Promise<ModelSessions> {
  const requested = settings.device;
  const device = requested === 'cuda' || (requested === 'auto' && cudaProviderInstalled()) ? 'cuda' : 'cpu';
  if (requested === 'auto' && device === 'cpu')
    process.stderr.write('hybridgl: onnxruntime CUDA provider not installed; running the models on CPU\n');
  try {
    return await sessionsOn(device, dir, files, fix, settings);
  } catch (e) {
    if (!(e instanceof CudaSessionFailed)) throw e;
    process.stderr.write(`hybridgl: onnxruntime CUDA provider failed (${e.message}); running the models on CPU\n`);
    return sessionsOn('cpu', dir, files, fix, settings);
  }
}

async function sessionsOn(device: 'cpu' | 'cuda', dir: string, { byModel, wanted }: CheckedFiles, fix: string,
  settings: SessionSettings): Promise<ModelSessions> {
  const sessions = new Map<ModelName, ort.InferenceSession>();
  const profiles = new Map<ModelName, { prefix: string; readyAt: number }>();
  const closeAll = () => Promise.all([...sessions.values()].map((s) => s.release()));
  const create = async (name: ModelName): Promise<ort.InferenceSession> => {
    const file = byModel.get(name)!;
    const prefix = settings.profile ? join(tmpdir(), `hybridgl-ort-${process.pid}-${++profileCount}-${name}`) : undefined;
    const env = sessionEnvironment();
    const { session } = await createCachedSession(dir, file,
      sessionOptions(device, env.threads, settings.memoryArena, prefix), settings.graphCache ?? env.graphCache);
    if (prefix) profiles.set(name, { prefix, readyAt: performance.now() });
    const found = metadataProblems(file, session);
    if (found.length) {
      await session.release();
      throw new ModelLoadError(dir, found, fix);
    }
    if (settings.warmup) await session.run(warmupFeeds(file));
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
  if (!(settings.lazy && device === 'cpu')) {
    try {
      const problems: string[] = [];
      for (const name of wanted) {
        try {
          await create(name);
        } catch (e) {
          if (e instanceof ModelLoadError) problems.push(...e.problems);
          else if (device === 'cpu') problems.push(cannotLoad(byModel.get(name)!.name, e)); // bytes match, ORT refuses
          else if (settings.device === 'cuda')
            throw new Error(`device 'cuda': onnxruntime could not create a CUDA session for ${byModel.get(name)!.name} ` +
              `(${(e as Error).message.split('\n')[0]}). Install its CUDA provider (CUDA 12, cuDNN 9): ` +
              'npm rebuild onnxruntime-node --onnxruntime-node-install=cuda12');
          else throw new CudaSessionFailed((e as Error).message.split('\n')[0]);
        }
      }
      if (problems.length) throw new ModelLoadError(dir, problems, fix);
    } catch (e) {
      await closeAll();
      throw e;
    }
  }
  return {
    device,
    sessionFor,
    endProfiling: () => {
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
