// The service's Prometheus metrics (text format at GET /metrics): request and stage latency histograms, queue depth,
// image-cache counters, and the process's own (RSS, heap, event-loop lag) from prom-client's default collectors.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

import type { CacheStats } from './cache.ts';

/** Seconds, from a cheap stage (0.1 ms) to a full-size image on a CPU (a minute). */
const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export interface ServiceMetrics {
  readonly registry: Registry;
  /** One answered HTTP request: its route (the pattern, not the URL), method, status and seconds. */
  request(route: string, method: string, status: number, seconds: number): void;
  /** Stage times of one segmentation, in milliseconds as the pipeline reports them. */
  stages(timings: Record<string, number>): void;
  /** Requests refused because the queue was full. */
  rejected(): void;
  /** Requests whose deadline passed, by phase. */
  timedOut(phase: 'queued' | 'running'): void;
  /** The content type of GET /metrics. */
  readonly contentType: string;
  text(): Promise<string>;
}

export function createMetrics(sources: { queue: () => { depth: number; active: number }; cache: () => CacheStats }): ServiceMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Histogram({
    name: 'hybridgl_http_request_duration_seconds', help: 'HTTP request latency, by route, method and status',
    labelNames: ['route', 'method', 'status'], buckets: LATENCY_BUCKETS, registers: [registry],
  });
  const stages = new Histogram({
    name: 'hybridgl_stage_duration_seconds', help: 'Pipeline stage latency (queue wait, hash, image stages, per-expression stages)',
    labelNames: ['stage'], buckets: LATENCY_BUCKETS, registers: [registry],
  });
  const rejected = new Counter({ name: 'hybridgl_queue_rejected_total', help: 'Requests refused with 503 because the queue was full', registers: [registry] });
  const timeouts = new Counter({ name: 'hybridgl_request_timeouts_total', help: 'Requests past their deadline, by phase', labelNames: ['phase'], registers: [registry] });
  new Gauge({
    name: 'hybridgl_queue_depth', help: 'Requests waiting for a slot', registers: [registry],
    collect() { this.set(sources.queue().depth); },
  });
  new Gauge({
    name: 'hybridgl_queue_running', help: 'Requests running now', registers: [registry],
    collect() { this.set(sources.queue().active); },
  });
  const cacheGauge = (name: string, help: string, pick: (s: CacheStats) => number) =>
    new Gauge({ name, help, registers: [registry], collect() { this.set(pick(sources.cache())); } });
  // Counters read from the cache's own tallies at scrape time.
  const cacheCounter = (name: string, help: string, pick: (s: CacheStats) => number) =>
    new Counter({ name, help, registers: [registry], collect() { this.reset(); this.inc(pick(sources.cache())); } });
  cacheCounter('hybridgl_image_cache_hits_total', 'Requests whose image was found in the cache', (s) => s.hits);
  cacheCounter('hybridgl_image_cache_misses_total', 'Requests whose image had to be prepared', (s) => s.misses);
  cacheCounter('hybridgl_image_cache_evictions_total', 'Prepared images evicted (least recently used)', (s) => s.evictions);
  cacheGauge('hybridgl_image_cache_entries', 'Prepared images in the cache', (s) => s.entries);
  cacheGauge('hybridgl_image_cache_bytes', 'Estimated bytes held by the cache', (s) => s.bytes);
  return {
    registry,
    contentType: registry.contentType,
    request(route, method, status, seconds) {
      requests.observe({ route, method, status: String(status) }, seconds);
    },
    stages(timings) {
      for (const [stage, ms] of Object.entries(timings)) if (Number.isFinite(ms)) stages.observe({ stage }, ms / 1000);
    },
    rejected: () => rejected.inc(),
    timedOut: (phase) => timeouts.inc({ phase }),
    text: () => registry.metrics(),
  };
}
