// `models fetch` against a local HTTP server (127.0.0.1) serving the fixture checkpoints (test/fixtures/convert):
// resume after a cut connection (HTTP Range), a wrong sha256 refused, a 404 named, a model directory over HTTP.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchModels, type CheckpointSource } from '../src/models/fetch.ts';
import { loadModels, type Manifest } from '../src/models/loadModels.ts';

const FIX = join(import.meta.dirname, 'fixtures', 'convert');
const expected = JSON.parse(readFileSync(join(FIX, 'expected.json'), 'utf8')) as Manifest;
const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const tmp = mkdtempSync(join(tmpdir(), 'hybridgl-fetch-'));
const served = new Map<string, string>(); // URL path → file
const cutNext = new Set<string>(); // paths whose next response stops half-way
const log: Array<{ path: string; range?: string }> = [];
let server: Server;
let base = '';

beforeAll(async () => {
  server = createServer((req, res) => {
    const path = req.url ?? '';
    log.push({ path, range: req.headers.range });
    const file = served.get(path);
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    const body = readFileSync(file);
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    if (start >= body.length && m) {
      res.writeHead(416, { 'Content-Range': `bytes */${body.length}` }).end();
      return;
    }
    const headers = m ? { 'Content-Range': `bytes ${start}-${body.length - 1}/${body.length}`, 'Content-Length': body.length - start }
      : { 'Content-Length': body.length };
    res.writeHead(m ? 206 : 200, headers);
    if (cutNext.delete(path)) {
      res.write(body.subarray(start, start + Math.floor((body.length - start) / 2)), () => res.socket?.destroy());
      return;
    }
    res.end(body.subarray(start));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  served.set('/ck/sam_vit_b-tiny.pth', join(FIX, 'sam_vit_b-tiny.pth'));
  served.set('/ck/clip_vit_b_16-tiny.pt', join(FIX, 'clip_vit_b_16-tiny.pt'));
});
afterAll(() => {
  server?.close();
  rmSync(tmp, { recursive: true, force: true });
});

const source = (file: string, sha256 = sha(join(FIX, file))): CheckpointSource => ({ file, url: `${base}/ck/${file}`, sha256 });
const options = (out: string) => ({ out, samType: 'vit_b-tiny', templates: join(FIX, 'templates'),
  sources: { sam: source('sam_vit_b-tiny.pth'), clip: source('clip_vit_b_16-tiny.pt') } });

describe('models fetch', () => {
  it('resumes a cut download with a Range request, verifies it and converts', async () => {
    const out = join(tmp, 'resume');
    cutNext.add('/ck/sam_vit_b-tiny.pth');
    log.length = 0;
    const manifest = await fetchModels(options(out));
    const samRequests = log.filter((l) => l.path === '/ck/sam_vit_b-tiny.pth');
    expect(samRequests.length).toBe(2);
    expect(samRequests[0].range).toBeUndefined();
    expect(samRequests[1].range).toMatch(/^bytes=\d+-$/);
    expect(Number(samRequests[1].range!.slice(6, -1))).toBeGreaterThan(0);
    expect(sha(join(out, 'checkpoints', 'sam_vit_b-tiny.pth'))).toBe(sha(join(FIX, 'sam_vit_b-tiny.pth')));
    const want = new Map(expected.files.map((f) => [f.name, f.sha256]));
    for (const f of manifest.files) expect(f.sha256).toBe(want.get(f.name));
  }, 60_000);

  it('resumes a partial file left by an earlier run', async () => {
    const out = join(tmp, 'rerun');
    mkdirSync(join(out, 'checkpoints'), { recursive: true });
    const full = readFileSync(join(FIX, 'clip_vit_b_16-tiny.pt'));
    writeFileSync(join(out, 'checkpoints', 'clip_vit_b_16-tiny.pt.partial'), full.subarray(0, 1000));
    log.length = 0;
    await fetchModels(options(out));
    expect(log.find((l) => l.path === '/ck/clip_vit_b_16-tiny.pt')?.range).toBe('bytes=1000-');
  }, 60_000);

  it('refuses a download whose sha256 is wrong and deletes it', async () => {
    const out = join(tmp, 'badsha');
    const opts = options(out);
    opts.sources.sam = source('sam_vit_b-tiny.pth', '0'.repeat(64));
    await expect(fetchModels(opts)).rejects.toThrow(/sam_vit_b-tiny\.pth: sha256 is [0-9a-f]{64}, expected 0{64}/);
    expect(existsSync(join(out, 'checkpoints', 'sam_vit_b-tiny.pth'))).toBe(false);
    expect(existsSync(join(out, 'checkpoints', 'sam_vit_b-tiny.pth.partial'))).toBe(false);
  });

  it('refuses a SAM type without templates before downloading anything', async () => {
    log.length = 0;
    await expect(fetchModels({ ...options(join(tmp, 'vit_l')), samType: 'vit_l', sources: undefined }))
      .rejects.toThrow(/no graph templates for SAM vit_l in this package \(have: vit_b-tiny\)/);
    expect(log.length).toBe(0);
  });

  it('fetches the paper\'s SAM (vit_h) when no type is asked for', async () => {
    log.length = 0;
    const { samType: _omitted, ...rest } = options(join(tmp, 'default'));
    await expect(fetchModels({ ...rest, sources: undefined }))
      .rejects.toThrow(/no graph templates for SAM vit_h in this package \(have: vit_b-tiny\)/);
    expect(log.length).toBe(0);
  });

  it('names a 404', async () => {
    const opts = options(join(tmp, 'missing'));
    opts.sources.clip = { ...source('clip_vit_b_16-tiny.pt'), url: `${base}/ck/nothing-here.pt` };
    await expect(fetchModels(opts)).rejects.toThrow(new RegExp(`GET ${base}/ck/nothing-here\\.pt: HTTP 404`));
  });

  it('--from URL copies a model directory served over HTTP, checking every sha256', async () => {
    const src = join(tmp, 'resume');
    const manifest = JSON.parse(readFileSync(join(src, 'manifest.json'), 'utf8')) as Manifest;
    served.set('/models/manifest.json', join(src, 'manifest.json'));
    for (const f of manifest.files) served.set(`/models/${f.name}`, join(src, f.name));
    served.set(`/models/${manifest.vocab.file}`, join(src, manifest.vocab.file));
    const out = join(tmp, 'copied');
    await fetchModels({ out, from: `${base}/models` });
    for (const f of manifest.files) expect(sha(join(out, f.name))).toBe(f.sha256);
    expect(existsSync(join(out, 'manifest.json'))).toBe(true);
  }, 60_000);

  it('--from URL copies external-data files too, and refuses a manifest naming a path outside the directory', async () => {
    const src = join(import.meta.dirname, 'fixtures', 'models-external');
    const manifest = JSON.parse(readFileSync(join(src, 'manifest.json'), 'utf8')) as Manifest;
    const data = manifest.files[0].externalData!;
    served.set('/external/manifest.json', join(src, 'manifest.json'));
    for (const name of [manifest.files[0].name, data.name]) served.set(`/external/${name}`, join(src, name));
    const out = join(tmp, 'external');
    await fetchModels({ out, from: `${base}/external` });
    expect(sha(join(out, data.name))).toBe(data.sha256);
    const evil = join(tmp, 'evil-manifest.json');
    writeFileSync(evil, JSON.stringify({ ...manifest, files: [{ ...manifest.files[0], externalData: { ...data, name: '../escaped.data' } }] }));
    served.set('/evil/manifest.json', evil);
    log.length = 0;
    await expect(fetchModels({ out: join(tmp, 'evil'), from: `${base}/evil` }))
      .rejects.toThrow(/evil\/manifest\.json: files\[0\]\.externalData\.name "\.\.\/escaped\.data" has a path separator/);
    expect(log.every((l) => l.path === '/evil/manifest.json')).toBe(true); // nothing else was fetched
  }, 60_000);

  it('converts again over a directory an affected converter version wrote, and refuses to copy such a directory over HTTP', async () => {
    const out = join(tmp, 'old-converter');
    await fetchModels(options(out));
    const manifestPath = join(out, 'manifest.json');
    const current = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
    const old = { ...current, exporter: { ...current.exporter, version: '1' } };
    writeFileSync(manifestPath, JSON.stringify(old));
    writeFileSync(join(out, 'sam_decoder.fp32.onnx'), 'the old decoder');
    await expect(loadModels(out, { device: 'cpu', models: ['sam_decoder'], warmup: false })).rejects.toThrow(/converted by hybridgl models convert version 1/);
    const again = await fetchModels(options(out));
    expect(again.exporter.version).toBe('2');
    expect(sha(join(out, 'sam_decoder.fp32.onnx'))).toBe(expected.files.find((f) => f.name === 'sam_decoder.fp32.onnx')!.sha256);
    await (await loadModels(out, { device: 'cpu', models: ['sam_decoder'], warmup: false })).dispose();

    const served1 = join(tmp, 'old-manifest.json');
    writeFileSync(served1, JSON.stringify(old));
    served.set('/old/manifest.json', served1);
    log.length = 0;
    await expect(fetchModels({ out: join(tmp, 'old-copy'), from: `${base}/old` }))
      .rejects.toThrow(/old\/manifest\.json: the model directory there was converted by hybridgl models convert version 1/);
    expect(log.every((l) => l.path === '/old/manifest.json')).toBe(true);
  }, 60_000);

  it('--from DIR takes downloaded checkpoints, checked against the sha256s', async () => {
    const out = join(tmp, 'fromdir');
    const manifest = await fetchModels({ ...options(out), from: FIX });
    expect(manifest.files.length).toBe(expected.files.filter((f) => f.precision === 'fp32').length);
  }, 60_000);
});
