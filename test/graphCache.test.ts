// ONNX Runtime's optimised graphs saved beside the models (src/models/graphCache.ts) on the tiny fixtures: written
// once, loaded after, same outputs; keyed; read-only fallback; opt-out.
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { createCachedSession, graphCacheDirs, graphCacheKey } from '../src/models/graphCache.ts';
import { loadModels, readManifest } from '../src/models/loadModels.ts';
import { loadReference, referenceOutput, runReferenceCase } from './modelReference.ts';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'models');
const OPTIONS = { executionProviders: ['cpu'], graphOptimizationLevel: 'all' as const, logSeverityLevel: 3 as const };

describe('graph cache', () => {
  let root: string, dir: string;
  const savedXdg = process.env.XDG_CACHE_HOME;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'hybridgl-graphcache-'));
    process.env.XDG_CACHE_HOME = join(root, 'xdg');
  });
  afterAll(() => {
    if (savedXdg === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = savedXdg;
    rmSync(root, { recursive: true, force: true });
  });
  afterEach(() => rmSync(join(root, 'xdg'), { recursive: true, force: true }));
  const fresh = (name: string) => {
    dir = join(root, name);
    cpSync(FIXTURES, dir, { recursive: true });
    rmSync(join(dir, '.ort-cache'), { recursive: true, force: true }); // the fixtures' own, from other tests
    return dir;
  };
  const decoderFile = (d: string) => readManifest(d).files.find((f) => f.model === 'sam_decoder' && f.precision === 'fp32')!;

  it('keys by the model sha256, ONNX Runtime version, provider and level', () => {
    const k = graphCacheKey('a'.repeat(64), 'cpu', 'all');
    expect(k).toMatch(/^[0-9a-f]{32}$/);
    expect(graphCacheKey('a'.repeat(64), 'cpu', 'all')).toBe(k);
    expect(graphCacheKey('b'.repeat(64), 'cpu', 'all')).not.toBe(k);
    expect(graphCacheKey('a'.repeat(64), 'cuda', 'all')).not.toBe(k);
    expect(graphCacheKey('a'.repeat(64), 'cpu', 'extended')).not.toBe(k);
  });

  it('writes the graph beside the models once, then loads it with the same outputs', async () => {
    const d = fresh('beside');
    const file = decoderFile(d);
    const first = await createCachedSession(d, file, OPTIONS, true);
    expect(first.cache).toBe('written');
    await first.session.release();
    const saved = readdirSync(join(d, '.ort-cache'));
    expect(saved).toEqual([`sam_decoder.fp32.${graphCacheKey(file.sha256, 'cpu', 'all')}.onnx`]);
    const second = await createCachedSession(d, file, OPTIONS, true);
    expect(second.cache).toBe('hit');
    await second.session.release();

    // Through loadModels: every model's outputs from the saved graphs equal those from the exports.
    const reference = loadReference(FIXTURES);
    const plain = await loadModels(d, { device: 'cpu', graphCache: false, warmup: false });
    const writing = await loadModels(d, { device: 'cpu', warmup: false, graphCache: true });
    process.env.HYBRIDGL_GRAPH_CACHE = '1';
    const cached = await loadModels(d, { device: 'cpu', warmup: false }).finally(() => delete process.env.HYBRIDGL_GRAPH_CACHE);
    try {
      expect(readdirSync(join(d, '.ort-cache')).length).toBe(plain.manifest.files.filter((f) => f.precision === 'fp32').length);
      for (const c of reference.cases) {
        const want = await runReferenceCase(plain, reference, c);
        expect(await runReferenceCase(cached, reference, c), c.model).toEqual(want);
        expect(await runReferenceCase(writing, reference, c), c.model).toEqual(want);
      }
    } finally {
      await Promise.all([plain.dispose(), writing.dispose(), cached.dispose()]);
    }
    expect(readdirSync(join(d, '.ort-cache')).some((f) => f.includes('.tmp-'))).toBe(false);
  }, 180_000);

  it('replaces a saved graph that does not load, and drops graphs of the file saved under another key', async () => {
    const d = fresh('stale');
    const file = decoderFile(d);
    const cacheDir = join(d, '.ort-cache');
    await (await createCachedSession(d, file, OPTIONS, true)).session.release();
    const [name] = readdirSync(cacheDir);
    writeFileSync(join(cacheDir, name), 'not a model');
    writeFileSync(join(cacheDir, `sam_decoder.fp32.${'0'.repeat(32)}.onnx`), 'an older key');
    const again = await createCachedSession(d, file, OPTIONS, true);
    expect(again.cache).toBe('written');
    await again.session.release();
    expect(readdirSync(cacheDir)).toEqual([name]);
    const reference = loadReference(FIXTURES);
    const c = reference.cases.find((x) => x.model === 'sam_decoder')!;
    const models = await loadModels(d, { device: 'cpu', models: ['sam_decoder'], warmup: false, graphCache: true });
    try {
      const got = await runReferenceCase(models, reference, c);
      expect(got.low_res_logits.dims).toEqual(referenceOutput(reference, c, 'low_res_logits').dims);
    } finally {
      await models.dispose();
    }
  }, 120_000);

  it('falls back to the user cache directory when nothing can be written beside the models', async () => {
    const d = fresh('readonly');
    writeFileSync(join(d, '.ort-cache'), ''); // a file where the directory would go: mkdir fails, as on a read-only mount
    const file = decoderFile(d);
    const s = await createCachedSession(d, file, OPTIONS, true);
    expect(s.cache).toBe('written');
    await s.session.release();
    const user = graphCacheDirs(d)[1];
    expect(user.startsWith(join(root, 'xdg'))).toBe(true);
    expect(readdirSync(user)).toEqual([`sam_decoder.fp32.${graphCacheKey(file.sha256, 'cpu', 'all')}.onnx`]);
    expect((await createCachedSession(d, file, OPTIONS, true)).cache).toBe('hit');
  }, 60_000);

  it('is off by default, when asked (option or HYBRIDGL_GRAPH_CACHE=0) and unless HYBRIDGL_GRAPH_CACHE=1', async () => {
    const d = fresh('off');
    const file = decoderFile(d);
    expect((await createCachedSession(d, file, OPTIONS, false)).cache).toBe('off');
    const models = await loadModels(d, { device: 'cpu', models: ['sam_decoder'], warmup: false });
    await models.dispose();
    await (await loadModels(d, { device: 'cpu', models: ['sam_decoder'], warmup: false, graphCache: false })).dispose();
    process.env.HYBRIDGL_GRAPH_CACHE = '0';
    try {
      const m2 = await loadModels(d, { device: 'cpu', models: ['sam_decoder'], warmup: false });
      await m2.dispose();
    } finally {
      delete process.env.HYBRIDGL_GRAPH_CACHE;
    }
    expect(existsSync(join(d, '.ort-cache'))).toBe(false);
    expect(existsSync(join(root, 'xdg'))).toBe(false);
  }, 60_000);
});
