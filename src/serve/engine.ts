// What the service asks of the models: one segment job (cache lookup, prepare on a miss, the expressions, optional
// overlays) with its stage times. The local engine runs it on the calling thread; the worker engine
// (workerEngine.ts) runs a local engine on a worker thread, because onnxruntime-node runs each model synchronously
// on the thread that calls it and the HTTP side must keep answering meanwhile.
import { renderOverlay } from '../render/overlay.ts';
import { resultJson, type ExpressionResultJson } from '../resultJson.ts';
import type { PreparedImage, Segmenter, SegmentOptions } from '../segmenter.ts';
import { ImageCache, preparedImageBytes, sha256Hex, type CacheLimits, type CacheStats } from './cache.ts';

export interface EngineJob {
  image: Uint8Array;
  expressions: string[];
  options: SegmentOptions;
  overlay: boolean;
}

export interface EngineAnswer {
  /** Whether the prepared image (proposals, hybrid and GEM features) came from the cache. */
  cached: boolean;
  image: { sha256: string; height: number; width: number; proposals: number };
  /** Milliseconds: hash, the image stages (on a miss), expressions, overlay. */
  timings: Record<string, number>;
  /** Exactly what `hybridgl segment` prints for the same image and expressions. */
  results: ExpressionResultJson[];
  /** One PNG per expression (the CLI's --out picture), base64, when asked. */
  overlays?: string[];
  /** The cache after this job. */
  cache: CacheStats;
}

export interface SegmentEngine {
  /** The model names loaded (for /healthz). */
  readonly models: string[];
  run(job: EngineJob): Promise<EngineAnswer>;
  /** The cache's tallies as of the last job. */
  cacheStats(): CacheStats;
  /** Frees the models (after the last job). */
  close(): Promise<void>;
}

/** Runs jobs on this thread with `segmenter` and an image cache keyed by the sha256 of the image bytes. */
export function createLocalEngine(segmenter: Segmenter, limits: CacheLimits, options: { disposeOnClose?: boolean } = {}): SegmentEngine {
  const cache = new ImageCache<PreparedImage>(limits, preparedImageBytes);
  return {
    models: segmenter.models.manifest.files.map((f) => f.model),
    cacheStats: () => cache.stats(),
    async run(job) {
      const timings: Record<string, number> = {};
      const t0 = performance.now();
      const sha256 = sha256Hex(job.image);
      timings.hash = performance.now() - t0;
      let prepared = cache.get(sha256);
      const cached = prepared !== undefined;
      if (!prepared) {
        prepared = await segmenter.prepare(job.image);
        Object.assign(timings, prepared.timings);
        cache.set(sha256, prepared);
      }
      const tExpr = performance.now();
      const results = await segmenter.segmentPrepared(prepared, job.expressions, job.options);
      timings.expressions = performance.now() - tExpr;
      let overlays: string[] | undefined;
      if (job.overlay) {
        const tOverlay = performance.now();
        const { image } = prepared;
        overlays = await Promise.all(results.map(async (r) =>
          (await renderOverlay(image, segmenter.decodeMask(r.mask), { bbox: r.bbox, caption: r.expression })).toString('base64')));
        timings.overlay = performance.now() - tOverlay;
      }
      const { image, proposals } = prepared;
      return {
        cached, image: { sha256, height: image.height, width: image.width, proposals: proposals.count }, timings,
        results: resultJson(results), ...(overlays ? { overlays } : {}), cache: cache.stats(),
      };
    },
    async close() {
      cache.clear();
      if (options.disposeOnClose) await segmenter.dispose();
    },
  };
}
