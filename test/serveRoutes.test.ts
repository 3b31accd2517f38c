// The service under hostile requests, on a stand-in engine (no models): the token is checked on the route the
// router serves, whatever spelling of it is sent (percent-encoded, doubled slashes, dot segments, case, suffixes);
// a body trickled byte by byte is cut at the request deadline (408); an expressions array of any size is a 400;
// seeded random bodies give a 2xx or a 4xx naming a field, never a 500.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import type { EngineJob, SegmentEngine } from '../src/serve/engine.ts';
import { createService, type ServerOptions, type Service } from '../src/serve/server.ts';
import { rng } from './helpers.ts';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const TOKEN = 's3cret';
let PHOTO: Buffer;
let dir: string;
const running: Service[] = [];

/** An engine that records its jobs and answers at once. */
function standInEngine(): SegmentEngine & { jobs: EngineJob[] } {
  const jobs: EngineJob[] = [];
  const stats = { entries: 0, bytes: 0, hits: 0, misses: 0, evictions: 0 };
  return {
    jobs,
    models: ['stand-in'],
    cacheStats: () => stats,
    async run(job) {
      jobs.push(job);
      return { cached: false, image: { sha256: '0', height: 8, width: 8, proposals: 1 }, timings: {}, results: [], cache: stats };
    },
    async close() {},
  };
}

async function start(overrides: Partial<ServerOptions> = {}) {
  const engine = standInEngine();
  const service = await createService({ engine, maxPixels: 1 << 20, maxBodyBytes: 1 << 20, timeoutMs: 10_000, maxQueue: 4, allowDir: dir, ...overrides });
  running.push(service);
  const { port } = await service.listen('127.0.0.1', 0);
  return { engine, port, service };
}

/** One request with the path sent exactly as given (fetch would normalise it). */
function send(port: number, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Spellings of `path` a router might serve as `path`: each letter percent-encoded (either hex case), doubled and
 *  encoded slashes, dot segments, case changes, suffixes; a seeded random mix of them on top. */
function variants(path: string, seed: number, randomCount: number): string[] {
  const enc = (c: string, upper: boolean) => {
    const hex = c.charCodeAt(0).toString(16).padStart(2, '0');
    return `%${upper ? hex.toUpperCase() : hex}`;
  };
  const out = new Set<string>();
  for (let i = 1; i < path.length; i++) {
    for (const upper of [false, true]) out.add(path.slice(0, i) + enc(path[i], upper) + path.slice(i + 1));
    out.add(`${path.slice(0, i)}/${path.slice(i)}`);
    if (path[i] === '/') out.add(`${path.slice(0, i)}/./${path.slice(i + 1)}`);
  }
  for (const v of [`/${path}`, `/.${path}`, `/x/..${path}`, `${path}/`, `${path}/.`, `${path};x`, `${path}%00`, `${path}?a=1`,
    `${path}%2F`, path.toUpperCase(), path.replace(/[a-z]/, (c) => c.toUpperCase()), `/%2e${path}`, `/%2E%2E${path}`]) out.add(v);
  const r = rng(seed);
  for (let n = 0; n < randomCount; n++) {
    let v = '/'; // a target not starting with '/' is refused by Node's parser before any routing
    for (const c of path.slice(1)) {
      const roll = r();
      if (c === '/' && roll < 0.2) v += r() < 0.5 ? '//' : '/./';
      else if (roll < 0.35) v += enc(c, r() < 0.5);
      else if (roll < 0.45) v += c.toUpperCase();
      else v += c;
    }
    out.add(v);
  }
  return [...out];
}

beforeAll(async () => {
  PHOTO = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } }).png().toBuffer();
  dir = mkdtempSync(join(tmpdir(), 'hybridgl-routes-'));
  mkdirSync(join(dir, 'allowed'));
  writeFileSync(join(dir, 'allowed', 'secret.png'), PHOTO);
  dir = join(dir, 'allowed');
});
afterEach(async () => {
  while (running.length) await running.pop()!.shutdown();
});
afterAll(() => rmSync(join(dir, '..'), { recursive: true, force: true }));

describe('the service under hostile requests', () => {
  it('checks the token on the route served: no spelling of /metrics or /v1/segment gets in without it', async () => {
    const { engine, port } = await start({ token: TOKEN });
    const segmentBody = JSON.stringify({ expressions: ['x'], imagePath: 'secret.png' });
    const json = { 'Content-Type': 'application/json' };
    const routes: Array<{ method: string; path: string; isPublic: boolean; body?: string }> = [
      { method: 'GET', path: '/metrics', isPublic: false },
      { method: 'HEAD', path: '/metrics', isPublic: false },
      { method: 'POST', path: '/v1/segment', isPublic: false, body: segmentBody },
      { method: 'GET', path: '/healthz', isPublic: true },
      { method: 'GET', path: '/app.js', isPublic: true },
    ];
    let served = 0, segmentsServed = 0;
    for (const [i, route] of routes.entries()) {
      const headers = route.body ? json : {};
      for (const path of variants(route.path, 1000 + i, 40)) {
        const bare = await send(port, route.method, path, headers, route.body);
        if (route.isPublic) expect([route.method, path, [200, 401].includes(bare.status)]).toEqual([route.method, path, true]);
        else expect([route.method, path, bare.status]).toEqual([route.method, path, 401]);
        const withToken = await send(port, route.method, path, { ...headers, Authorization: `Bearer ${TOKEN}` }, route.body);
        if (withToken.status === 200) {
          served++;
          if (route.body) segmentsServed++;
        }
        expect([path, withToken.status === 401]).toEqual([path, false]);
      }
    }
    // The router does serve some of those spellings (e.g. /%6detrics): they were refused above by the route.
    expect(served).toBeGreaterThan(routes.length);
    // Only requests with the token reached the work.
    expect(engine.jobs.length).toBe(segmentsServed);
    for (const job of engine.jobs) expect(job.expressions).toEqual(['x']);
    const encoded = await send(port, 'GET', '/%6detrics', { Authorization: `Bearer ${TOKEN}` });
    expect(encoded.status).toBe(200);
    expect((await send(port, 'GET', '/%6detrics')).status).toBe(401);
    expect((await send(port, 'POST', '/v%31/segment', json, segmentBody)).status).toBe(401);
    expect((await send(port, 'GET', '/no-such-route')).status).toBe(401);
  }, 60_000);

  it('without a token configured, every route answers as before', async () => {
    const { port } = await start();
    expect((await send(port, 'GET', '/metrics')).status).toBe(200);
    expect((await send(port, 'GET', '/healthz')).status).toBe(200);
    const missing = await send(port, 'GET', '/nowhere');
    expect([missing.status, JSON.parse(missing.text).field]).toEqual([404, 'url']);
  });

  it('cuts a body trickled byte by byte at the request deadline with a 408, and keeps serving', async () => {
    const { port, engine } = await start({ timeoutMs: 400 });
    for (const contentType of ['application/json', 'image/png', 'multipart/form-data; boundary=x']) {
      const answer = await new Promise<{ head: string; sent: number }>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1');
        let sent = 0, head = '';
        const total = 200; // 200 bytes at one per 50 ms: 10 s, far past the 400 ms deadline
        socket.on('connect', () => {
          socket.write(`POST /v1/segment HTTP/1.1\r\nHost: x\r\nContent-Type: ${contentType}\r\nContent-Length: ${total}\r\n\r\n`);
          const tick = setInterval(() => {
            if (sent >= total || socket.destroyed) return clearInterval(tick);
            socket.write('-');
            sent++;
          }, 50);
          socket.on('close', () => clearInterval(tick));
        });
        socket.setEncoding('utf8');
        socket.on('data', (c: string) => (head += c));
        socket.on('close', () => resolve({ head, sent }));
        socket.on('error', reject);
      });
      expect([contentType, answer.head.split('\r\n')[0]]).toEqual([contentType, 'HTTP/1.1 408 Request Timeout']);
      expect(answer.head).toMatch(/"field":"body"/);
      expect(answer.sent).toBeLessThan(200); // cut while the client was still sending
    }
    expect(engine.jobs.length).toBe(0);
    expect((await send(port, 'GET', '/healthz')).status).toBe(200);
  }, 30_000);

  it('refuses an expressions array of any size with a 400 naming the field', async () => {
    const { port, engine } = await start({ maxBodyBytes: 8 << 20 });
    const imageBase64 = PHOTO.toString('base64');
    for (const n of [33, 1000, 300_000]) {
      const body = JSON.stringify({ expressions: Array.from({ length: n }, () => 'x'), imageBase64 });
      const r = await send(port, 'POST', '/v1/segment', { 'Content-Type': 'application/json' }, body);
      expect([n, r.status, JSON.parse(r.text).field]).toEqual([n, 400, 'expressions']);
    }
    const query = Array.from({ length: 40 }, () => 'expression=x').join('&');
    const viaQuery = await send(port, 'POST', `/v1/segment?${query}`, { 'Content-Type': 'image/png' }, PHOTO.toString('latin1'));
    expect([viaQuery.status, JSON.parse(viaQuery.text).field]).toEqual([400, 'expression']);
    expect(engine.jobs.length).toBe(0);
  }, 30_000);

  it('answers seeded random JSON bodies with a 200 or a 4xx naming a field, never a 500', async () => {
    const { port } = await start();
    const r = rng(2828);
    const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
    const imageBase64 = PHOTO.toString('base64');
    const values = (): unknown => pick<() => unknown>([
      () => null, () => true, () => -1, () => 1e308, () => 'x', () => '', () => '\u0000', () => 'a'.repeat(600), () => imageBase64,
      () => 'secret.png', () => '../secret.png', () => [], () => ['x'], () => Array.from({ length: Math.floor(r() * 100) }, () => 'y'),
      () => ({}), () => ({ k: { k1: 2, k2: 3 } }), () => ({ k: { k1: -1, k2: 1e9 } }), () => ({ kVariants: Array.from({ length: 20 }, () => ({ k1: 1, k2: 1 })) }),
      () => ({ __proto__: { polluted: true } }), () => JSON.parse('{"constructor":{"prototype":{"x":1}}}'),
    ])();
    const fields = ['expressions', 'imageBase64', 'imagePath', 'options', 'overlay', 'image', 'extra'];
    const statuses = new Map<number, number>();
    for (let i = 0; i < 250; i++) {
      const body: Record<string, unknown> = {};
      for (const f of fields) if (r() < 0.5) body[f] = values();
      if (r() < 0.5) body.expressions = ['the dog'];
      if (r() < 0.3) body.imageBase64 = imageBase64;
      const res = await send(port, 'POST', '/v1/segment', { 'Content-Type': 'application/json' }, JSON.stringify(body));
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      const answer = JSON.parse(res.text) as Json;
      if (res.status === 200) continue;
      expect([JSON.stringify(body).slice(0, 200), res.status >= 400 && res.status < 500, typeof answer.field]).toEqual([JSON.stringify(body).slice(0, 200), true, 'string']);
    }
    expect(statuses.get(200)).toBeGreaterThan(0);
    expect(({} as Json).polluted).toBeUndefined();
  }, 60_000);
});
