// `npm run loadtest`: a bounded load test of `hybridgl serve` on loopback. It starts the service on the fixture
// models, sends a fixed number of requests at a fixed concurrency (repeated images, new images, bad requests, in a
// seeded order), stops by itself, and reports latency percentiles, throughput, answers by kind and the server's RSS.
// It fails on a crash, on any 5xx but 503, on a bad request not answered with its expected 4xx and field, and on RSS
// growing across the second half. `--short` is the CI size (about 30 s on the fixture models).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32, deflateSync } from 'node:zlib';

import sharp from 'sharp';

import { rng } from '../test/helpers.ts';
import { CLIP_VOCAB_PATH } from '../test/sharedData.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const FIXTURE_MODELS = join(root, 'test', 'fixtures', 'e2e', 'models');
export const DEMO_IMAGE = join(root, 'assets', 'demo.jpg');

export interface ServeProcess {
  url: string;
  child: ChildProcess;
  /** Everything the server wrote on stderr so far. */
  stderr(): string;
  /** SIGTERM, then the exit code (null if killed by a signal). */
  stop(): Promise<number | null>;
}

/** Starts `hybridgl serve --port 0 …` and resolves once it listens (its address is read from stderr). */
export function spawnServe(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<ServeProcess> {
  const child = spawn(process.execPath, [join(root, 'bin', 'hybridgl.js'), 'serve', '--port', '0', ...args], {
    cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start in 180 s:\n${err}`)), 180_000);
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      err += chunk;
      const m = /listening on (http:\/\/\S+?:\d+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({
          url: m[1], child, stderr: () => err,
          stop: () => {
            if (!child.killed && child.exitCode === null) child.kill('SIGTERM'); // once: a second signal stops it at once
            return exited;
          },
        });
      }
    });
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code} before listening:\n${err}`));
    });
  });
}

/** A PNG whose header claims width × height but that holds almost no data: the pixel limit must reject it unread. */
export function pngHeaderOnly(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const len = Buffer.alloc(4), crc = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.alloc(64))), chunk('IEND', Buffer.alloc(0))]);
}

/** `count` images that differ from the demo photo (and from each other) in their bytes: each is new to the cache. */
export async function imageVariants(count: number, seed = 0): Promise<Buffer[]> {
  const base = readFileSync(DEMO_IMAGE);
  return Promise.all(Array.from({ length: count }, (_, i) =>
    sharp(base).modulate({ brightness: 0.8 + ((i * 7 + seed) % 40) / 100, hue: (i * 37 + seed) % 360 }).jpeg({ quality: 80 + (i % 15) }).toBuffer()));
}

type Kind = 'repeated' | 'new' | 'bad';

interface PlannedRequest {
  kind: Kind;
  /** For bad requests: what is wrong, and the answer expected. */
  bad?: { name: string; status: number; field: string };
  path: string;
  init: RequestInit;
}

const EXPRESSIONS = ['the dog on the left', 'the bowl', 'the person in the middle', 'the largest object', 'the thing on the right'];

function form(image: Buffer | undefined, expressions: string[], extra: Record<string, string> = {}): FormData {
  const f = new FormData();
  if (image) f.append('image', new Blob([new Uint8Array(image)], { type: 'image/jpeg' }), 'photo.jpg');
  for (const e of expressions) f.append('expression', e);
  for (const [k, v] of Object.entries(extra)) f.append(k, v);
  return f;
}

/** The bad requests, each with the status and field its answer must name. */
function badRequests(image: Buffer): Array<Omit<PlannedRequest, 'kind'>> {
  const json = (body: string) => ({ method: 'POST', body, headers: { 'Content-Type': 'application/json' } });
  return [
    { bad: { name: 'no expression', status: 400, field: 'expressions' }, path: '/v1/segment', init: { method: 'POST', body: form(image, []) } },
    { bad: { name: 'empty expression', status: 400, field: 'expression[1]' }, path: '/v1/segment', init: { method: 'POST', body: form(image, ['the dog', '  ']) } },
    { bad: { name: 'not an image', status: 400, field: 'image' }, path: '/v1/segment', init: { method: 'POST', body: form(Buffer.from('GIF89a but not really'), ['the dog']) } },
    { bad: { name: 'no image', status: 400, field: 'image' }, path: '/v1/segment', init: { method: 'POST', body: form(undefined, ['the dog']) } },
    { bad: { name: 'bad option', status: 400, field: 'options.k.k1' }, path: '/v1/segment', init: { method: 'POST', body: form(image, ['the dog'], { options: '{"k":{"k1":0,"k2":3}}' }) } },
    { bad: { name: 'unknown option', status: 400, field: 'options.topk' }, path: '/v1/segment', init: json(JSON.stringify({ expressions: ['the dog'], imageBase64: image.toString('base64'), options: { topk: 3 } })) },
    { bad: { name: 'broken JSON', status: 400, field: 'body' }, path: '/v1/segment', init: json('{"expressions": ["the dog"') },
    { bad: { name: 'server path', status: 403, field: 'imagePath' }, path: '/v1/segment', init: json(JSON.stringify({ expressions: ['x'], imagePath: '/etc/passwd' })) },
    { bad: { name: 'too many pixels', status: 413, field: 'image' }, path: '/v1/segment?expression=the%20dog', init: { method: 'POST', body: new Uint8Array(pngHeaderOnly(40_000, 40_000)), headers: { 'Content-Type': 'image/png' } } },
    { bad: { name: 'text body', status: 415, field: 'Content-Type' }, path: '/v1/segment', init: { method: 'POST', body: 'the dog', headers: { 'Content-Type': 'text/plain' } } },
    { bad: { name: 'unknown route', status: 404, field: 'url' }, path: '/v1/segmnet', init: { method: 'POST', body: form(image, ['the dog']) } },
  ];
}

export interface LoadTestOptions {
  url: string;
  requests: number;
  concurrency: number;
  /** Requests with an image never seen before (each costs a full image pass). */
  newImages: number;
  /** Share of bad requests. */
  badShare: number;
  /** New images sent before the measured run, so that the allocators reach their steady state first. */
  warmImages?: number;
  seed?: number;
  token?: string;
  /** Per-request client timeout in ms. */
  clientTimeoutMs?: number;
}

export interface LoadReport {
  requests: number;
  concurrency: number;
  seconds: number;
  throughput: number;
  /** Latency percentiles in ms of the 200 answers, overall and per kind, and of the bad requests' 4xx answers. */
  latencyMs: Record<'all' | Kind, { p50: number; p99: number; n: number }>;
  /** Answers counted by kind: "200 cached", "200 prepared", "400 expressions", "503 busy", "network: …". */
  answers: Record<string, number>;
  /** Bad requests not answered with their expected status and field, and unexpected answers, described. */
  failures: string[];
  rssBytes: { before: number; middle: number; after: number };
  /** The server's RSS at every tenth of the run, in MiB. */
  rssTraceMiB: number[];
  cacheEntries: number;
  alive: boolean;
}

async function scrape(url: string, token?: string): Promise<Record<string, number>> {
  const res = await fetch(`${url}/metrics`, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  const out: Record<string, number> = {};
  for (const line of (await res.text()).split('\n')) {
    const m = /^([a-z_]+) ([-\d.e+]+)$/.exec(line);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

export async function runLoadTest(options: LoadTestOptions): Promise<LoadReport> {
  const { url, requests, concurrency, token, seed = 1, clientTimeoutMs = 180_000 } = options;
  const random = rng(seed);
  const demo = readFileSync(DEMO_IMAGE);
  const repeatedImages = [demo, await sharp(demo).flop().jpeg().toBuffer()];
  const warm = options.warmImages ?? 2;
  const variants = await imageVariants(options.newImages + warm, seed);
  const fresh = variants.slice(warm);
  const bad = badRequests(demo);
  const nBad = Math.round(requests * options.badShare);
  const plan: PlannedRequest[] = [];
  for (const image of fresh) plan.push({ kind: 'new', path: '/v1/segment', init: { method: 'POST', body: form(image, [EXPRESSIONS[0]]) } });
  for (let i = 0; i < nBad; i++) plan.push({ kind: 'bad', ...bad[i % bad.length] });
  while (plan.length < requests) {
    const image = repeatedImages[plan.length % repeatedImages.length];
    const count = 1 + Math.floor(random() * 3);
    const expressions = Array.from({ length: count }, () => EXPRESSIONS[Math.floor(random() * EXPRESSIONS.length)]);
    plan.push({ kind: 'repeated', path: '/v1/segment', init: { method: 'POST', body: form(image, expressions) } });
  }
  for (let i = plan.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [plan[i], plan[j]] = [plan[j], plan[i]];
  }
  const auth: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
  // Warm-up, not measured: the repeated images enter the cache, and a few new ones bring the server's memory
  // (onnxruntime's arenas, malloc) to its steady state, so that the second half shows growth, not warm-up.
  for (const image of [...repeatedImages, ...variants.slice(0, warm)]) {
    await fetch(`${url}/v1/segment`, { method: 'POST', body: form(image, ['warm up']), headers: auth });
  }

  const before = await scrape(url, token);
  const latencies: Record<Kind, number[]> = { repeated: [], new: [], bad: [] };
  const answers: Record<string, number> = {};
  const failures: string[] = [];
  const count = (k: string) => (answers[k] = (answers[k] ?? 0) + 1);
  let next = 0, middle: Record<string, number> | undefined;
  const trace: number[] = [];
  const tenth = Math.max(1, Math.floor(plan.length / 10));
  const t0 = performance.now();
  async function worker() {
    while (next < plan.length) {
      const index = next++;
      if (index % tenth === 0) {
        const m = await scrape(url, token);
        trace.push(Math.round(m.process_resident_memory_bytes / 2 ** 20));
        if (index === tenth * 5) middle = m;
      }
      const r = plan[index];
      const start = performance.now();
      try {
        const res = await fetch(`${url}${r.path}`, { ...r.init, headers: { ...(r.init.headers as Record<string, string>), ...auth }, signal: AbortSignal.timeout(clientTimeoutMs) });
        const body = await res.json().catch(() => undefined) as { cached?: boolean; field?: string; error?: string } | undefined;
        // Latency of answers proper: 200s, and the 4xx of bad requests; refusals (503) are counted, not timed.
        if (res.status === 200 || r.kind === 'bad') latencies[r.kind].push(performance.now() - start);
        if (res.status === 200) count(`200 ${body?.cached ? 'cached' : 'prepared'}`);
        else if (res.status === 503) count('503 busy');
        else count(`${res.status} ${body?.field ?? '(no field)'}`);
        if (r.bad && (res.status !== r.bad.status || body?.field !== r.bad.field)) {
          failures.push(`${r.bad.name}: expected ${r.bad.status} ${r.bad.field}, got ${res.status} ${body?.field} (${body?.error})`);
        } else if (!r.bad && res.status !== 200 && res.status !== 503) {
          failures.push(`${r.kind} request: ${res.status} ${body?.error}`);
        }
        if (res.status === 503) {
          const retryAfter = Number(res.headers.get('retry-after'));
          if (!(retryAfter >= 1)) failures.push(`503 without a Retry-After of at least 1 s (got '${res.headers.get('retry-after')}')`);
          // A polite client: this one waits as told (at most 5 s) before its next request.
          else await new Promise((r) => setTimeout(r, Math.min(retryAfter, 5) * 1000));
        }
      } catch (err) {
        count(`network: ${(err as Error).name}`);
        failures.push(`${r.kind} request: ${(err as Error).message}`);
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - t0) / 1000;
  const after = await scrape(url, token);
  const alive = (await fetch(`${url}/healthz`).then((r) => r.status, () => 0)) === 200;
  const stats = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return { p50: percentile(s, 0.5), p99: percentile(s, 0.99), n: s.length };
  };
  return {
    requests: plan.length, concurrency, seconds, throughput: plan.length / seconds,
    latencyMs: { all: stats([...latencies.repeated, ...latencies.new]), repeated: stats(latencies.repeated), new: stats(latencies.new), bad: stats(latencies.bad) },
    answers, failures,
    rssBytes: { before: before.process_resident_memory_bytes, middle: (middle ?? after).process_resident_memory_bytes, after: after.process_resident_memory_bytes },
    rssTraceMiB: [...trace, Math.round(after.process_resident_memory_bytes / 2 ** 20)],
    cacheEntries: after.hybridgl_image_cache_entries, alive,
  };
}

/** RSS may grow across the second half by at most this (allocator slack, JIT): the cache is full by then. */
export const RSS_GROWTH_BOUND = { fraction: 0.1, bytes: 64 * 2 ** 20 };

/** The load test's verdict: what went wrong, empty when all held. */
export function verdict(r: LoadReport): string[] {
  const out = [...r.failures];
  if (!r.alive) out.push('the server did not answer /healthz after the run');
  const growth = r.rssBytes.after - r.rssBytes.middle;
  const bound = Math.max(RSS_GROWTH_BOUND.bytes, RSS_GROWTH_BOUND.fraction * r.rssBytes.middle);
  if (!(growth <= bound)) out.push(`RSS grew by ${(growth / 2 ** 20).toFixed(0)} MiB across the second half (bound ${(bound / 2 ** 20).toFixed(0)} MiB)`);
  return out;
}

export function formatReport(r: LoadReport): string {
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
  const lat = Object.entries(r.latencyMs).map(([k, v]) => `  ${k.padEnd(9)} p50 ${v.p50.toFixed(0).padStart(6)} ms  p99 ${v.p99.toFixed(0).padStart(6)} ms  (${v.n})`);
  return [
    `${r.requests} requests at concurrency ${r.concurrency} in ${r.seconds.toFixed(1)} s: ${r.throughput.toFixed(1)} requests/s`,
    'latency of the answers (200s; for bad requests their 4xx; 503s not timed):', ...lat,
    'answers:', ...Object.entries(r.answers).sort().map(([k, n]) => `  ${k.padEnd(36)} ${n}`),
    `server RSS: before ${mib(r.rssBytes.before)}, middle ${mib(r.rssBytes.middle)}, after ${mib(r.rssBytes.after)}; cache entries ${r.cacheEntries}`,
    `server RSS every tenth of the run (MiB): ${r.rssTraceMiB.join(' ')}`,
  ].join('\n');
}

/** Sizes: the full run (npm run loadtest) and the CI one (--short). */
export const LOAD_SIZES = {
  // More clients than slots: some requests meet a full queue (503 + Retry-After, which the clients honour).
  full: { requests: 400, concurrency: 8, newImages: 24, warmImages: 2, badShare: 0.2, serve: ['--queue', '4', '--cache-entries', '6'] },
  // As many clients as the queue holds plus one running: every good request is answered.
  short: { requests: 120, concurrency: 4, newImages: 3, warmImages: 1, badShare: 0.2, serve: ['--queue', '3', '--cache-entries', '4'] },
};

async function main(): Promise<number> {
  const size = process.argv.includes('--short') ? LOAD_SIZES.short : LOAD_SIZES.full;
  const server = await spawnServe(['--models', FIXTURE_MODELS, ...size.serve], { ...process.env, HYBRIDGL_VOCAB: process.env.HYBRIDGL_VOCAB ?? CLIP_VOCAB_PATH });
  process.stderr.write(`server at ${server.url}\n`);
  const problems: string[] = [];
  try {
    const report = await runLoadTest({ url: server.url, ...size });
    console.log(formatReport(report));
    problems.push(...verdict(report));
  } catch (err) {
    problems.push(`the load test failed: ${err instanceof Error ? err.stack : String(err)}`);
  }
  const code = await server.stop();
  if (code !== 0) problems.push(`the server exited with ${code} after SIGTERM:\n${server.stderr()}`);
  for (const p of problems) console.error(`FAIL: ${p}`);
  return problems.length ? 1 : 0;
}

if (process.argv[1] && /loadtest\.ts$/.test(process.argv[1])) main().then((code) => (process.exitCode = code));
