// The model worker (workerEngine.ts starts it): loads the segmenter once, then runs the service's segment jobs with
// a local engine and its image cache, one message per job. Errors go back as plain data, SegmentError's kind kept.
import { parentPort, workerData } from 'node:worker_threads';

import { createSegmenter, SegmentError, type SegmenterOptions } from '../segmenter.ts';
import type { CacheLimits } from './cache.ts';
import { createLocalEngine, type EngineJob } from './engine.ts';

export interface WorkerData {
  segmenter: SegmenterOptions;
  cache: CacheLimits;
}

export type ToWorker = { type: 'run'; id: number; job: EngineJob } | { type: 'close' };

export interface SerialisedError {
  name: string;
  message: string;
  kind?: SegmentError['kind'];
  stack?: string;
}

const port = parentPort!;
const serialise = (err: unknown): SerialisedError => err instanceof Error
  ? { name: err.name, message: err.message, stack: err.stack, ...(err instanceof SegmentError ? { kind: err.kind } : {}) }
  : { name: 'Error', message: String(err) };

const { segmenter: segmenterOptions, cache } = workerData as WorkerData;
try {
  const segmenter = await createSegmenter(segmenterOptions);
  const engine = createLocalEngine(segmenter, cache, { disposeOnClose: true });
  port.on('message', (msg: ToWorker) => {
    if (msg.type === 'run') {
      engine.run(msg.job).then(
        (answer) => port.postMessage({ type: 'answer', id: msg.id, answer }),
        (err) => port.postMessage({ type: 'answer', id: msg.id, error: serialise(err) }),
      );
    } else {
      engine.close().then(() => port.postMessage({ type: 'closed' }), (err) => port.postMessage({ type: 'closed', error: serialise(err) }));
    }
  });
  port.postMessage({ type: 'ready', models: engine.models, cache: engine.cacheStats() });
} catch (err) {
  port.postMessage({ type: 'failed', error: serialise(err) });
}
