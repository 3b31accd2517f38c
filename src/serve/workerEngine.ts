// The service's engine on a worker thread (worker.ts): the models run there, so the HTTP thread keeps answering
// health checks, metrics, bad requests, 503s and deadlines while a model runs. One job at a time (the queue sees to
// it). A worker that dies fails its job (500) and is started again, models and all, for the next one.
import { Worker } from 'node:worker_threads';

import { errorText } from '../errorText.ts';
import { SegmentError, type SegmenterOptions } from '../segmenter.ts';
import type { CacheLimits, CacheStats } from './cache.ts';
import type { EngineAnswer, SegmentEngine } from './engine.ts';
import type { SerialisedError, ToWorker, WorkerData } from './worker.ts';

type FromWorker =
  | { type: 'ready'; models: string[]; cache: CacheStats }
  | { type: 'failed'; error: SerialisedError }
  | { type: 'answer'; id: number; answer?: EngineAnswer; error?: SerialisedError }
  | { type: 'closed'; error?: SerialisedError };

function revive(e: SerialisedError): Error {
  const err = e.kind ? new SegmentError(e.kind, e.message) : new Error(e.message);
  if (e.stack) err.stack = e.stack;
  return err;
}

interface Running {
  worker: Worker;
  models: string[];
}

export interface WorkerEngineOptions {
  /** The worker's entry (default ./worker.mjs); a wrapper around it must keep its messages. */
  workerUrl?: URL;
}

// Compiled (the package), the worker's module runs as is; from the TypeScript source, worker.mjs registers tsx first.
const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './worker.mjs' : './worker.js', import.meta.url);

/** Starts the worker, loads the models in it, and resolves once they are ready (SegmentError 'models' if not). */
export async function startWorkerEngine(segmenter: SegmenterOptions, cache: CacheLimits, log: (m: string) => void = () => {},
  options: WorkerEngineOptions = {}): Promise<SegmentEngine> {
  if (typeof segmenter.models !== 'string') throw new TypeError('the worker engine loads its models from a directory: pass models as a path');
  const data: WorkerData = { segmenter, cache };
  const pending = new Map<number, { resolve: (a: EngineAnswer) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  let stats: CacheStats = { entries: 0, bytes: 0, hits: 0, misses: 0, evictions: 0 };
  let closing = false;

  function spawn(): Promise<Running> {
    const worker = new Worker(options.workerUrl ?? WORKER_URL, { workerData: data });
    return new Promise<Running>((resolve, reject) => {
      let ready = false;
      worker.on('message', (msg: FromWorker) => {
        if (msg.type === 'ready') {
          ready = true;
          stats = msg.cache;
          resolve({ worker, models: msg.models });
        } else if (msg.type === 'failed') {
          reject(revive(msg.error));
        } else if (msg.type === 'answer') {
          const p = pending.get(msg.id);
          pending.delete(msg.id);
          if (msg.answer) stats = msg.answer.cache;
          if (msg.error) p?.reject(revive(msg.error));
          else p?.resolve(msg.answer!);
        }
      });
      worker.on('error', (err) => log(`model worker error: ${errorText(err)}`));
      worker.on('exit', (code) => {
        if (!ready) reject(new Error(`the model worker exited with code ${code} while loading the models`));
        if (closing) return;
        log(`model worker exited with code ${code}; a new one starts with the next request`);
        for (const p of pending.values()) p.reject(new Error(`the model worker stopped (exit code ${code})`));
        pending.clear();
        current = undefined;
      });
    });
  }

  let current: Promise<Running> | undefined = spawn();
  const first = await current;

  return {
    models: first.models,
    cacheStats: () => stats,
    async run(job) {
      if (!current) {
        current = spawn();
        current.catch(() => (current = undefined)); // a failed start is tried again by the next job
      }
      const { worker } = await current;
      const id = nextId++;
      return new Promise<EngineAnswer>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        // The image is copied, not transferred: the caller's buffer may be a slice of a larger pooled one.
        worker.postMessage({ type: 'run', id, job } satisfies ToWorker);
      });
    },
    async close() {
      closing = true;
      if (!current) return;
      const { worker } = await current;
      await new Promise<void>((resolve) => {
        worker.on('message', (msg: FromWorker) => {
          if (msg.type !== 'closed') return;
          if (msg.error) log(`closing the models: ${msg.error.message}`);
          resolve();
        });
        worker.once('exit', () => resolve());
        worker.postMessage({ type: 'close' } satisfies ToWorker);
      });
      await worker.terminate();
    },
  };
}
