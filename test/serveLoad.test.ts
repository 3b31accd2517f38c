// The short bounded load test (bench/loadtest.ts --short) against the real `hybridgl serve` process: repeated
// photos, new photos and bad requests at a fixed concurrency; no crash, no 5xx but 503, every bad request its 4xx
// and field, flat RSS across the second half, and a clean exit on SIGTERM. The figures are printed, not asserted.
import { existsSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { FIXTURE_MODELS, formatReport, LOAD_SIZES, runLoadTest, spawnServe, verdict } from '../bench/loadtest.ts';
import { CLIP_VOCAB_PATH } from './sharedData.ts';

describe.skipIf(!existsSync(CLIP_VOCAB_PATH))('hybridgl serve under load', () => {
  it('answers a bounded mixed load without a crash, a stray 5xx or memory growth', async () => {
    const size = LOAD_SIZES.short;
    const server = await spawnServe(['--models', FIXTURE_MODELS, ...size.serve], { ...process.env, HYBRIDGL_VOCAB: CLIP_VOCAB_PATH });
    try {
      const report = await runLoadTest({ url: server.url, ...size });
      console.log(formatReport(report));
      expect(verdict(report)).toEqual([]);
      // Every new photo was prepared (a repeated one may have been evicted and prepared again).
      expect(report.answers['200 prepared']).toBeGreaterThanOrEqual(size.newImages);
      expect(Object.keys(report.answers).filter((k) => /^5/.test(k) && !/^503/.test(k))).toEqual([]);
      expect(await server.stop()).toBe(0);
    } finally {
      await server.stop();
    }
  }, 300_000);
});
