// `hybridgl serve` on the fixture models, on 127.0.0.1 port 0: the CLI's result JSON, the image cache, every bad
// request a 4xx naming its field, the pixel and body limits, the full queue (503), deadlines, the bearer token,
// --allow-dir, the metrics, and the graceful SIGTERM of the real process.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { DEMO_IMAGE, FIXTURE_MODELS, imageVariants, pngHeaderOnly, spawnServe } from '../bench/loadtest.ts';
import { createSegmenter, type Segmenter } from '../src/segmenter.ts';
import { sha256Hex } from '../src/serve/cache.ts';
import { createLocalEngine, type SegmentEngine } from '../src/serve/engine.ts';
import { createService, type ServerOptions, type Service } from '../src/serve/server.ts';
import { runHybridgl } from './runProcess.ts';
import { CLIP_VOCAB_PATH } from './sharedData.ts';

const root = join(import.meta.dirname, '..');
const DEMO = readFileSync(DEMO_IMAGE);
const EXPRESSIONS = ['the dog on the left', 'the bowl'];

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function photoForm(image: Buffer | undefined, expressions: string[], extra: Record<string, string> = {}): FormData {
  const f = new FormData();
  if (image) f.append('image', new Blob([new Uint8Array(image)], { type: 'image/jpeg' }), 'photo.jpg');
  for (const e of expressions) f.append('expression', e);
  for (const [k, v] of Object.entries(extra)) f.append(k, v);
  return f;
}

/** The result JSON without the stage times (the only part that differs between two runs). */
const withoutTimings = (results: Json[]) => results.map(({ timings: _t, ...rest }) => rest);

/** A segmenter whose prepare waits for a gate: a request that is running stays running until the test opens it. */
function gated(segmenter: Segmenter) {
  let open!: () => void, started!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  const startedP = new Promise<void>((r) => (started = r));
  const seg: Segmenter = {
    ...segmenter,
    async prepare(input) {
      started();
      await opened;
      return segmenter.prepare(input);
    },
  };
  return { seg, open, started: startedP };
}

describe.skipIf(!existsSync(CLIP_VOCAB_PATH))('hybridgl serve', () => {
  let segmenter: Segmenter;
  const running: Service[] = [];

  /** A service on this thread's engine (the CLI's runs on a worker thread; the SIGTERM and load tests use that). */
  async function start(overrides: Partial<ServerOptions> & { segmenter?: Segmenter } = {}): Promise<{ service: Service; engine: SegmentEngine; url: string }> {
    const { segmenter: seg = segmenter, ...rest } = overrides;
    const engine = createLocalEngine(seg, { maxEntries: 8, maxBytes: 2 ** 30 });
    const service = await createService({ engine, maxPixels: 4096 * 4096, maxBodyBytes: 32 * 2 ** 20, timeoutMs: 60_000, maxQueue: 4, ...rest });
    running.push(service);
    const { host, port } = await service.listen('127.0.0.1', 0);
    expect(host).toBe('127.0.0.1');
    return { service, engine, url: `http://127.0.0.1:${port}` };
  }

  /** POST to /v1/segment of the server at `url`, or to `url` itself when it names a path. */
  const post = async (url: string, body: BodyInit, headers: Record<string, string> = {}) => {
    const res = await fetch(new URL(url).pathname === '/' ? `${url}/v1/segment` : url, { method: 'POST', body, headers });
    return { status: res.status, headers: res.headers, json: (await res.json()) as Json };
  };

  beforeAll(async () => {
    segmenter = await createSegmenter({ models: FIXTURE_MODELS, vocabPath: CLIP_VOCAB_PATH });
  });
  afterEach(async () => {
    while (running.length) await running.pop()!.shutdown();
  });
  afterAll(async () => segmenter?.dispose());

  it('answers the CLI segment JSON; the second call on the same photo comes from the cache', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hybridgl-serve-'));
    try {
      const json = join(dir, 'result.json');
      const cli = await runHybridgl(['segment', DEMO_IMAGE, ...EXPRESSIONS, '--models', FIXTURE_MODELS, '--json', json], { env: { ...process.env, HYBRIDGL_VOCAB: CLIP_VOCAB_PATH } });
      expect(cli.status, cli.stderr).toBe(0);
      const expected = JSON.parse(readFileSync(json, 'utf8'));
      const { url, engine } = await start();

      const first = await post(url, photoForm(DEMO, EXPRESSIONS));
      expect(first.status).toBe(200);
      expect(first.json.cached).toBe(false);
      expect(withoutTimings(first.json.results)).toEqual(withoutTimings(expected));
      expect(first.json.image).toEqual({ sha256: sha256Hex(DEMO), height: 320, width: 480, proposals: first.json.image.proposals });
      expect(Object.keys(first.json.timings)).toEqual(expect.arrayContaining(['queue', 'hash', 'decode', 'samEncoder', 'samDecoder', 'clipTrunk', 'gem', 'expressions', 'total']));
      for (const r of first.json.results) expect(Object.keys(r.timings)).toEqual(expect.arrayContaining(['text', 'clipScores', 'coherence', 'relation']));

      // Another expression on the same photo, sent as the raw body this time: no image stage runs again.
      const second = await post(`${url}/v1/segment?expression=${encodeURIComponent(EXPRESSIONS[1])}`, new Uint8Array(DEMO), { 'Content-Type': 'image/jpeg' });
      expect(second.status).toBe(200);
      expect(second.json.cached).toBe(true);
      expect(second.json.timings).not.toHaveProperty('samEncoder');
      expect(withoutTimings(second.json.results)).toEqual(withoutTimings([expected[1]]));

      // JSON with base64, options and an overlay per expression.
      const third = await post(url, JSON.stringify({
        expressions: EXPRESSIONS, imageBase64: DEMO.toString('base64'), overlay: true, options: { kVariants: [{ k1: 2, k2: 4 }] },
      }), { 'Content-Type': 'application/json' });
      expect(third.status).toBe(200);
      expect(third.json.cached).toBe(true);
      expect(withoutTimings(third.json.results).map(({ guidedByK: _g, ...r }) => r)).toEqual(withoutTimings(expected));
      expect(third.json.results[0].guidedByK).toHaveProperty(['2,4']);
      expect(third.json.overlays).toHaveLength(2);
      const meta = await sharp(Buffer.from(third.json.overlays[0], 'base64')).metadata();
      expect([meta.format, meta.width]).toEqual(['png', 480]);
      expect(engine.cacheStats()).toMatchObject({ entries: 1, hits: 2, misses: 1 });

      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).toMatch(/^hybridgl_image_cache_hits_total 2$/m);
      expect(metrics).toMatch(/^hybridgl_image_cache_misses_total 1$/m);
      expect(metrics).toMatch(/^hybridgl_queue_depth 0$/m);
      expect(metrics).toMatch(/^hybridgl_stage_duration_seconds_count\{stage="samEncoder"\} 1$/m);
      expect(metrics).toMatch(/^hybridgl_http_request_duration_seconds_count\{route="\/v1\/segment",method="POST",status="200"\} 3$/m);
      expect(metrics).toMatch(/^process_resident_memory_bytes \d+$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers every bad request with a 4xx JSON error naming the field, and keeps serving', async () => {
    const { url, engine } = await start();
    const json = (body: unknown) => [typeof body === 'string' ? body : JSON.stringify(body), { 'Content-Type': 'application/json' }] as const;
    const cases: Array<[string, BodyInit, Record<string, string>, number, string, string?]> = [
      ['no expression', photoForm(DEMO, []), {}, 400, 'expressions'],
      ['blank expression', photoForm(DEMO, ['the dog', ' ']), {}, 400, 'expression[1]'],
      ['long expression', photoForm(DEMO, ['x'.repeat(501)]), {}, 400, 'expression[0]'],
      ['expressions not JSON', photoForm(DEMO, [], { expressions: 'the dog' }), {}, 400, 'expressions'],
      ['not an image', photoForm(Buffer.from('hello'), ['the dog']), {}, 400, 'image'],
      ['no image', photoForm(undefined, ['the dog']), {}, 400, 'image'],
      ['two images', ...json({ expressions: ['x'], imageBase64: 'AAAA', imagePath: 'a.jpg' }), 400, 'imagePath'],
      ['bad base64', ...json({ expressions: ['x'], imageBase64: '***' }), 400, 'imageBase64'],
      ['expression not a string', ...json({ expressions: ['x', 3], imageBase64: DEMO.toString('base64') }), 400, 'expressions[1]'],
      ['unknown JSON field', ...json({ expressions: ['x'], image: 'a.jpg' }), 400, 'image'],
      ['body not an object', ...json([1, 2]), 400, 'body'],
      ['broken JSON', ...json('{"expressions": ['), 400, 'body'],
      ['unknown form field', photoForm(DEMO, ['x'], { expresion: 'y' }), {}, 400, 'expresion'],
      ['options not JSON', photoForm(DEMO, ['x'], { options: '{k1' }), {}, 400, 'options'],
      ['unknown option', photoForm(DEMO, ['x'], { options: '{"topK":3}' }), {}, 400, 'options.topK'],
      ['k out of range', photoForm(DEMO, ['x'], { options: '{"k":{"k1":2,"k2":100}}' }), {}, 400, 'options.k.k2'],
      ['bad k variant', photoForm(DEMO, ['x'], { options: '{"kVariants":[{"k1":1,"k2":2},{"k1":1.5,"k2":2}]}' }), {}, 400, 'options.kVariants[1].k1'],
      ['bad overlay', photoForm(DEMO, ['x'], { overlay: 'yes' }), {}, 400, 'overlay'],
      ['server path without --allow-dir', ...json({ expressions: ['x'], imagePath: DEMO_IMAGE }), 403, 'imagePath'],
      ['text body', 'the dog', { 'Content-Type': 'text/plain' }, 415, 'Content-Type'],
      ['truncated image', photoForm(DEMO.subarray(0, 2000), ['the dog']), {}, 400, 'image'],
      ['multipart without boundary', 'x', { 'Content-Type': 'multipart/form-data' }, 400, 'body'],
      ['two files', (() => {
        const f = photoForm(DEMO, ['the dog']);
        f.append('image', new Blob([new Uint8Array(DEMO)]), 'again.jpg');
        return f;
      })(), {}, 413, 'image'],
      ['file in another field', (() => {
        const f = photoForm(undefined, ['the dog']);
        f.append('photo', new Blob([new Uint8Array(DEMO)]), 'photo.jpg');
        return f;
      })(), {}, 400, 'photo'],
      ['no Content-Type', new Uint8Array(DEMO), {}, 415, 'Content-Type'],
    ];
    for (const [name, body, headers, status, field] of cases) {
      const r = await post(url, body, headers);
      expect([name, r.status, r.json.field], r.json.error).toEqual([name, status, field]);
      expect(typeof r.json.error).toBe('string');
    }
    const unknownQuery = await post(`${url}/v1/segment?expresion=x`, new Uint8Array(DEMO), { 'Content-Type': 'image/jpeg' });
    expect([unknownQuery.status, unknownQuery.json.field]).toEqual([400, 'expresion']);
    const route = await fetch(`${url}/v1/segmnet`, { method: 'POST' });
    expect([route.status, ((await route.json()) as Json).field]).toEqual([404, 'url']);
    expect(engine.cacheStats().entries).toBe(0);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await post(url, photoForm(DEMO, ['the dog']))).status).toBe(200);
  });

  it('checks the pixel limit from the header before decoding, and the body limit', async () => {
    const { url, engine } = await start({ maxPixels: 480 * 320 - 1 });
    const tooBig = await post(url, photoForm(DEMO, ['the dog']));
    expect([tooBig.status, tooBig.json.field]).toEqual([413, 'image']);
    expect(tooBig.json.error).toMatch(/480×320 = 153600 pixels/);
    // A header that claims 40000×40000 over 100 bytes of data: refused by its header, never decoded.
    const claim = await post(`${url}/v1/segment?expression=x`, new Uint8Array(pngHeaderOnly(40_000, 40_000)), { 'Content-Type': 'image/png' });
    expect([claim.status, claim.json.field]).toEqual([413, 'image']);
    expect(engine.cacheStats()).toMatchObject({ hits: 0, misses: 0 });

    const small = await start({ maxBodyBytes: 10_000 });
    const upload = await post(small.url, photoForm(DEMO, ['the dog']));
    expect([upload.status, upload.json.field]).toEqual([413, 'image']);
    const raw = await post(`${small.url}/v1/segment?expression=x`, new Uint8Array(DEMO), { 'Content-Type': 'image/jpeg' });
    expect([raw.status, raw.json.field]).toEqual([413, 'body']);
  });

  it('answers 503 with Retry-After when the queue is full, and serves again after', async () => {
    const g = gated(segmenter);
    const { url, service } = await start({ segmenter: g.seg, maxQueue: 0 });
    const [fresh] = await imageVariants(1, 11);
    const first = post(url, photoForm(fresh, ['the dog']));
    await g.started;
    const refused = await post(url, photoForm(DEMO, ['the dog']));
    expect(refused.status).toBe(503);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(refused.json.error).toMatch(/queue full/);
    g.open();
    expect((await first).status).toBe(200);
    expect((await post(url, photoForm(DEMO, ['the dog']))).status).toBe(200);
    expect(await service.metrics.text()).toMatch(/^hybridgl_queue_rejected_total 1$/m);
  });

  it('answers at the deadline (504 running, 503 waiting) and keeps the work it finished', async () => {
    const g = gated(segmenter);
    const { url, engine } = await start({ segmenter: g.seg, maxQueue: 1, timeoutMs: 300 });
    const [fresh] = await imageVariants(1, 12);
    const first = post(url, photoForm(fresh, ['the dog']));
    await g.started;
    const waiting = await post(url, photoForm(DEMO, ['the dog']));
    expect(waiting.status).toBe(503);
    expect(waiting.headers.get('retry-after')).toMatch(/^\d+$/);
    const late = await first;
    expect([late.status, late.json.error]).toEqual([504, expect.stringMatching(/timeout .*still running/)]);
    g.open();
    await new Promise((r) => setTimeout(r, 50));
    while (engine.cacheStats().entries === 0) await new Promise((r) => setTimeout(r, 50));
    // The timed-out job finished in the background: the same photo is now a cache hit, well within the deadline.
    const again = await post(url, photoForm(fresh, ['the bowl']));
    expect([again.status, again.json.cached]).toEqual([200, true]);
  });

  it('requires the bearer token on the API and the metrics, not on /healthz and the page', async () => {
    const { url } = await start({ token: 's3cret' });
    const none = await post(url, photoForm(DEMO, ['the dog']));
    expect([none.status, none.json.field]).toEqual([401, 'Authorization']);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect((await post(url, photoForm(DEMO, ['the dog']), { Authorization: 'Bearer s3cre' })).status).toBe(401);
    expect((await post(url, photoForm(DEMO, ['the dog']), { Authorization: 'Bearer s3cret' })).status).toBe(200);
    expect((await fetch(`${url}/metrics`)).status).toBe(401);
    expect((await fetch(`${url}/metrics`, { headers: { Authorization: 'Bearer s3cret' } })).status).toBe(200);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
  });

  it('reads imagePath only inside --allow-dir, links resolved, no escape', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hybridgl-allow-'));
    try {
      const allowed = join(dir, 'allowed');
      mkdirSync(join(allowed, 'sub'), { recursive: true });
      copyFileSync(DEMO_IMAGE, join(allowed, 'sub', 'photo.jpg'));
      copyFileSync(DEMO_IMAGE, join(dir, 'outside.jpg'));
      symlinkSync(join(dir, 'outside.jpg'), join(allowed, 'link.jpg'));
      symlinkSync(join(allowed, 'sub', 'photo.jpg'), join(allowed, 'inner-link.jpg'));
      const { url } = await start({ allowDir: allowed });
      const ask = (imagePath: string) => post(url, JSON.stringify({ expressions: ['the dog'], imagePath }), { 'Content-Type': 'application/json' });
      for (const [path, status] of [
        ['../outside.jpg', 403], [join(dir, 'outside.jpg'), 403], ['link.jpg', 403], ['sub/../../outside.jpg', 403], ['/etc/passwd', 403],
        ['missing.jpg', 404], ['sub', 400], ['.', 403], ['', 400],
      ] as const) {
        const r = await ask(path);
        expect([path, r.status, r.json.field]).toEqual([path, status, 'imagePath']);
      }
      const ok = await ask('sub/photo.jpg');
      expect([ok.status, ok.json.image.sha256]).toEqual([200, sha256Hex(DEMO)]);
      const viaLink = await ask('inner-link.jpg');
      expect([viaLink.status, viaLink.json.cached]).toEqual([200, true]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('hybridgl serve exits 2 on bad options before loading any model, 4 without models', async () => {
    const serve = (args: string[]) => runHybridgl(['serve', ...args]);
    for (const [args, message] of [
      [[], /--models DIR is required/], [['--models', FIXTURE_MODELS, '--port', '70000'], /--port/],
      [['--models', FIXTURE_MODELS, '--queue', '-1'], /--queue/], [['--models', FIXTURE_MODELS, '--max-pixels', '2.5'], /--max-pixels/],
      [['--models', FIXTURE_MODELS, '--allow-dir', join(root, 'nope')], /--allow-dir/], [['--models', FIXTURE_MODELS, '--token', ''], /--token/],
      [['--models', FIXTURE_MODELS, '--bogus'], /bogus/],
    ] as const) {
      const r = await serve([...args]);
      expect([args, r.status], r.stderr).toEqual([args, 2]);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/loading models/);
    }
    const noModels = await serve(['--models', join(root, 'nope')]);
    expect([noModels.status, noModels.stderr]).toEqual([4, expect.stringMatching(/no models at .*manifest\.json missing/)]);
    const help = await serve(['--help']);
    expect([help.status, help.stdout]).toEqual([0, expect.stringMatching(/--allow-dir DIR/)]);
  });

  it('the CLI process finishes accepted requests on SIGTERM, refuses new ones and exits 0', async () => {
    const server = await spawnServe(['--models', FIXTURE_MODELS], { ...process.env, HYBRIDGL_VOCAB: CLIP_VOCAB_PATH });
    try {
      const [a, b] = await imageVariants(2, 13);
      const first = post(server.url, photoForm(a, ['the dog']));
      const second = post(server.url, photoForm(b, ['the bowl']));
      // Both accepted: one running, one waiting (each new photo is seconds of work on the fixture models).
      for (;;) {
        const h = (await (await fetch(`${server.url}/healthz`)).json()) as Json;
        if (h.queue.running + h.queue.waiting === 2) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      server.child.kill('SIGTERM');
      while (!/SIGTERM: shutting down/.test(server.stderr())) await new Promise((r) => setTimeout(r, 10));
      const refused = await fetch(`${server.url}/healthz`).then((r) => r.status, (e: Error) => e.name);
      expect([503, 'TypeError']).toContain(refused); // 503 on a kept-alive connection, else connection refused
      const [r1, r2] = await Promise.all([first, second]);
      expect([r1.status, r2.status]).toEqual([200, 200]);
      expect(await server.stop()).toBe(0);
      expect(server.stderr()).toMatch(/stopped/);
    } finally {
      await server.stop();
    }
  });
});
