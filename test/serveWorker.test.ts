// The service's worker-thread engine: a worker that dies fails only its own job, and the next job starts a new
// one (models loaded again, cache empty) that answers as the first did.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { DEMO_IMAGE, FIXTURE_MODELS } from '../bench/loadtest.ts';
import type { EngineJob } from '../src/serve/engine.ts';
import { startWorkerEngine } from '../src/serve/workerEngine.ts';
import { CLIP_VOCAB_PATH } from './sharedData.ts';

const image = new Uint8Array(readFileSync(DEMO_IMAGE));
const job = (expression: string): EngineJob => ({ image, expressions: [expression], options: {}, overlay: false });
const withoutTimings = (results: object[]) => results.map((r) => ({ ...r, timings: undefined }));

describe('worker engine', () => {
  it('restarts a worker that died in a job; the job fails, the next one answers as before', async () => {
    const logs: string[] = [];
    const engine = await startWorkerEngine({ models: FIXTURE_MODELS, vocabPath: CLIP_VOCAB_PATH }, { maxEntries: 4, maxBytes: 2 ** 30 },
      (m) => logs.push(m), { workerUrl: new URL(join('fixtures', 'serve', 'exitingWorker.mjs'), new URL('.', import.meta.url)) });
    try {
      const first = await engine.run(job('the dog'));
      expect((await engine.run(job('the dog'))).cached).toBe(true);
      await expect(engine.run(job('exit the worker'))).rejects.toThrow(/model worker stopped \(exit code 3\)/);
      expect(logs.join('\n')).toMatch(/model worker exited with code 3; a new one starts with the next request/);
      const again = await engine.run(job('the dog'));
      expect(again.cached).toBe(false); // a new worker: its cache starts empty
      expect(withoutTimings(again.results)).toEqual(withoutTimings(first.results));
      expect(again.image).toEqual(first.image);
    } finally {
      await engine.close();
    }
  }, 300_000);
});
