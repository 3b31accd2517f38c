// `models fetch --from URL` against a hostile server on 127.0.0.1: redirect loops, servers that never answer or
// stall mid-body, bodies longer than declared, manifests that are not JSON, have the wrong shape or name files
// outside --out; then seeded mutations of a sound manifest. Every failure is a FetchError naming the manifest or
// URL, nothing is written outside --out, and a `.partial` stays only when the server can resume it.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { download, fetchModels, FetchError } from '../src/models/fetch.ts';
import { rng } from './helpers.ts';

const FAST = { connectTimeoutMs: 300, idleTimeoutMs: 300, maxRedirects: 5 };
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const MODEL = Buffer.from('model bytes '.repeat(100));
const VOCAB = Buffer.from('vocab');
const sound = () => ({
  format: 'hybridgl-models', formatVersion: 1, logitScale: 100,
  files: [{ name: 'clip_text.fp32.onnx', model: 'clip_text', precision: 'fp32', sha256: sha(MODEL), bytes: MODEL.length, inputs: [], outputs: [] }],
  vocab: { file: 'vocab.txt.gz', present: true, sha256: sha(VOCAB) },
});

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
const routes = new Map<string, Handler>();
const hits = new Map<string, number>();
let server: Server;
let base = '';
let tmp = '';
let area = ''; // each fetch writes under area/out: area must hold nothing else after it

const serveBytes = (body: Buffer, headers: Record<string, string | number> = {}): Handler => (_req, res) => {
  res.writeHead(200, { 'Content-Length': body.length, ...headers }).end(body);
};
const serveJson = (value: unknown) => serveBytes(Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)));

function freshArea(): string {
  area = mkdtempSync(join(tmp, 'area-'));
  return join(area, 'out');
}
/** Every path under `area` (the fetch's --out is area/out). */
function written(): string[] {
  return readdirSync(area, { recursive: true }).map(String).sort();
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'hybridgl-fetch-hostile-'));
  server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    hits.set(path, (hits.get(path) ?? 0) + 1);
    if ((hits.get(path) ?? 0) > 200) return void res.writeHead(404).end(); // bounds what an unbounded client does
    const handler = routes.get(path) ?? routes.get(path.replace(/[^/]*$/, '*'));
    if (!handler) return void res.writeHead(404).end();
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  routes.set('/ok/clip_text.fp32.onnx', serveBytes(MODEL));
  routes.set('/ok/vocab.txt.gz', serveBytes(VOCAB));
});
afterAll(() => {
  server?.closeAllConnections();
  server?.close();
  rmSync(tmp, { recursive: true, force: true });
});

const fetchFrom = (dir: string, out: string, retries = 1) => fetchModels({ out, from: `${base}/${dir}`, network: FAST, retries });

describe('models fetch against a hostile server', () => {
  it('copies a sound manifest (the baseline the cases below break)', async () => {
    routes.set('/ok/manifest.json', serveJson(sound()));
    const out = freshArea();
    await fetchFrom('ok', out);
    expect(written()).toEqual(['out', 'out/clip_text.fp32.onnx', 'out/manifest.json', 'out/vocab.txt.gz']);
  });

  it('stops a redirect loop after the redirect limit', async () => {
    routes.set('/loop/manifest.json', (_req, res) => res.writeHead(302, { Location: '/loop/manifest.json' }).end());
    hits.delete('/loop/manifest.json');
    const out = freshArea();
    await expect(fetchFrom('loop', out)).rejects.toThrow(/manifest\.json: more than 5 redirects/);
    expect(hits.get('/loop/manifest.json')).toBe(6);
    expect(written()).toEqual([]);
  });

  it('gives up on a server that never answers, and on one that stalls mid-body, leaving no .partial it cannot resume', async () => {
    routes.set('/silent/manifest.json', () => {}); // never answers
    await expect(fetchFrom('silent', freshArea())).rejects.toThrow(/silent\/manifest\.json: no answer within 300 ms/);

    routes.set('/stall/manifest.json', serveJson(sound()));
    routes.set('/stall/vocab.txt.gz', serveBytes(VOCAB));
    routes.set('/stall/clip_text.fp32.onnx', (_req, res) => {
      res.writeHead(200, { 'Content-Length': MODEL.length });
      res.write(MODEL.subarray(0, 10)); // then silence
    });
    const out = freshArea();
    await expect(fetchFrom('stall', out)).rejects.toThrow(FetchError);
    await expect(fetchFrom('stall', out)).rejects.toThrow(/clip_text\.fp32\.onnx: connection cut or stalled 2 times$/);
    expect(written()).toEqual(['out']);
  });

  it('keeps the .partial of a server that takes Range requests, and resumes it on the next run', async () => {
    let stall = true;
    routes.set('/resume/manifest.json', serveJson(sound()));
    routes.set('/resume/vocab.txt.gz', serveBytes(VOCAB));
    routes.set('/resume/clip_text.fp32.onnx', (req, res) => {
      const start = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? 0);
      const headers = { 'Accept-Ranges': 'bytes', 'Content-Length': MODEL.length - start,
        ...(start ? { 'Content-Range': `bytes ${start}-${MODEL.length - 1}/${MODEL.length}` } : {}) };
      res.writeHead(start ? 206 : 200, headers);
      if (stall) res.write(MODEL.subarray(start, start + 100));
      else res.end(MODEL.subarray(start));
    });
    const out = freshArea();
    await expect(fetchFrom('resume', out)).rejects.toThrow(/stalled 2 times; run again to resume/);
    expect(readFileSync(join(out, 'clip_text.fp32.onnx.partial')).length).toBe(200);
    stall = false;
    await fetchFrom('resume', out);
    expect(sha(readFileSync(join(out, 'clip_text.fp32.onnx')))).toBe(sha(MODEL));
    expect(existsSync(join(out, 'clip_text.fp32.onnx.partial'))).toBe(false);
  });

  it('writes no byte past the declared size: a longer body is cut and deleted, a longer Content-Length refused', async () => {
    const big = Buffer.alloc(8 << 20, 7);
    const manifest = sound();
    manifest.files[0].bytes = 1024;
    routes.set('/long/manifest.json', serveJson(manifest));
    routes.set('/long/vocab.txt.gz', serveBytes(VOCAB));
    routes.set('/long/clip_text.fp32.onnx', (_req, res) => { // chunked: no length announced
      res.writeHead(200);
      res.end(big);
    });
    let out = freshArea();
    await expect(fetchFrom('long', out)).rejects.toThrow(/clip_text\.fp32\.onnx: the server sent more than the 1024 bytes the manifest declares/);
    expect(written()).toEqual(['out']);
    routes.set('/long/clip_text.fp32.onnx', serveBytes(big));
    out = freshArea();
    await expect(fetchFrom('long', out)).rejects.toThrow(/the server sends 8388608 bytes, the manifest says 1024/);
    expect(written()).toEqual(['out']);
    // A manifest is read into memory up to 16 MiB, no further.
    routes.set('/huge/manifest.json', (_req, res) => {
      res.writeHead(200);
      res.end(Buffer.alloc(17 << 20, 32));
    });
    await expect(fetchFrom('huge', freshArea())).rejects.toThrow(/huge\/manifest\.json is more than the 16777216 bytes allowed/);
    // download() on its own: an undeclared file is bounded too.
    await expect(download(`${base}/long/clip_text.fp32.onnx`, join(area, 'x'), null, { maxBytes: 4096, network: FAST }))
      .rejects.toThrow(/the server sends 8388608 bytes, more than the 4096 allowed/);
  });

  it('refuses a manifest that is not JSON or has the wrong shape, naming the manifest and the field', async () => {
    const withFile = (patch: Record<string, unknown>) => ({ ...sound(), files: [{ ...sound().files[0], ...patch }] });
    const cases: Array<[unknown, RegExp]> = [
      ['{"files": [', /bad\/manifest\.json is not JSON/],
      ['<html>oops</html>', /bad\/manifest\.json is not JSON/],
      [[1, 2], /bad\/manifest\.json: the manifest must be a JSON object/],
      [{ ...sound(), files: {} }, /files must be a non-empty array/],
      [{ ...sound(), files: Array.from({ length: 65 }, () => sound().files[0]) }, /files lists 65 entries/],
      [{ ...sound(), vocab: null }, /vocab must be an object/],
      [{ ...sound(), logitScale: 'x' }, /logitScale must be a finite number/],
      [withFile({ name: '' }), /files\[0\]\.name is empty/],
      [withFile({ name: 'a\u0000b' }), /files\[0\]\.name "a\\u0000b" has a control character/],
      [withFile({ name: 'sub/a.onnx' }), /files\[0\]\.name "sub\/a\.onnx" has a path separator/],
      [withFile({ name: '..\\a.onnx' }), /files\[0\]\.name "\.\.\\\\a\.onnx" has a path separator/],
      [withFile({ name: '..' }), /files\[0\]\.name "\.\." is not a file name/],
      [withFile({ name: '.' }), /files\[0\]\.name "\." is not a file name/],
      [withFile({ name: 'manifest.json' }), /files\[0\]\.name "manifest\.json" is a name fetch keeps/],
      [withFile({ name: 42 }), /files\[0\]\.name must be a file name string, got number/],
      [withFile({ sha256: 'abc' }), /files\[0\]\.sha256 must be 64 lowercase hex digits/],
      [withFile({ bytes: -1 }), /files\[0\]\.bytes must be a non-negative integer/],
      [withFile({ precision: 'fp8' }), /files\[0\]\.precision must be one of "fp32", "fp16", "int8"/],
      [withFile({ externalData: { name: '', sha256: sha(VOCAB), bytes: 1 } }), /files\[0\]\.externalData\.name is empty/],
      [{ ...sound(), vocab: { ...sound().vocab, file: 'clip_text.fp32.onnx' } }, /"clip_text\.fp32\.onnx" is named by two entries/],
    ];
    for (const [manifest, message] of cases) {
      routes.set('/bad/manifest.json', serveJson(manifest));
      hits.clear();
      await expect(fetchFrom('bad', freshArea())).rejects.toThrow(message);
      expect(written()).toEqual([]);
      expect([...hits.keys()]).toEqual(['/bad/manifest.json']); // nothing else requested
    }
  });

  it('seeded mutations of a sound manifest: a copy or a FetchError, never another error, nothing outside --out', async () => {
    const r = rng(28);
    const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
    const junk = () => pick<unknown>([undefined, null, '', '.', '..', '../x', '/etc/passwd', 'a\u0000', 'C:\\x', 'x'.repeat(300), -1, 1e300, NaN, 0.5,
      '0'.repeat(64), [], {}, true, 'clip_text.fp32.onnx', 'vocab.txt.gz']);
    const paths = [['files', 0, 'name'], ['files', 0, 'sha256'], ['files', 0, 'bytes'], ['files', 0, 'precision'], ['files', 0, 'model'],
      ['files', 0, 'externalData'], ['files', 0], ['files'], ['vocab', 'file'], ['vocab', 'present'], ['vocab', 'sha256'], ['vocab'], ['logitScale']];
    let copied = 0;
    for (let i = 0; i < 60; i++) {
      const m = sound() as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
      for (let k = 0; k < 1 + Math.floor(r() * 2); k++) {
        const path = pick(paths);
        let at = m;
        for (const key of path.slice(0, -1)) at = at?.[key as string];
        if (at && typeof at === 'object') at[path[path.length - 1] as string] = junk();
      }
      routes.set('/mut/manifest.json', serveJson(JSON.stringify(m)));
      routes.set('/mut/*', (req, res) => {
        const name = decodeURIComponent((req.url ?? '').split('/').pop() ?? '');
        serveBytes(name === 'vocab.txt.gz' ? VOCAB : MODEL)(req, res);
      });
      const out = freshArea();
      try {
        await fetchFrom('mut', out);
        copied++;
      } catch (e) {
        expect([JSON.stringify(m).slice(0, 300), (e as Error).name]).toEqual([JSON.stringify(m).slice(0, 300), 'FetchError']);
      }
      for (const p of written()) expect(p === 'out' || p.startsWith('out/')).toBe(true);
    }
    expect(copied).toBeGreaterThan(0);
  }, 60_000);
});

describe('download', () => {
  it('refuses a redirect to a URL that is not http(s)', async () => {
    routes.set('/ftp', (_req, res) => res.writeHead(301, { Location: 'file:///etc/passwd' }).end());
    mkdirSync(join(tmp, 'dl'), { recursive: true });
    await expect(download(`${base}/ftp`, join(tmp, 'dl', 'x'), null, { network: FAST }))
      .rejects.toThrow(/file:\/\/\/etc\/passwd: only http\(s\) URLs can be fetched/);
    expect(readdirSync(join(tmp, 'dl'))).toEqual([]);
  });
});
