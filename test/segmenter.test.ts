import { existsSync } from 'node:fs';

import sharp from 'sharp';
import { describe, expect, it } from 'vitest';

import { rleDecode } from '../bindings/rle.ts';
import type { FloatTensor, Models } from '../src/models/loadModels.ts';
import { standInModels as fakeModels, VOCAB } from './standInModels.ts';
import { createSegmenter, MAX_EXPRESSION_CHARS, MAX_EXPRESSIONS, SegmentError } from '../src/segmenter.ts';

const H = 60, W = 80;

function testImage() {
  const rgb = new Uint8Array(H * W * 3);
  for (let p = 0; p < H * W; p++) rgb.set([(p * 7) % 256, (p % W) * 3, Math.floor(p / W) * 4], 3 * p);
  return { rgb, height: H, width: W };
}

describe.skipIf(!existsSync(VOCAB))('createSegmenter with stand-in backbones', () => {
  it('computes image work once for all expressions and returns the result shape of the README', async () => {
    const calls: Record<string, number> = {};
    const segmenter = await createSegmenter({ models: fakeModels(calls) });
    const exprs = ['the dog on the left', 'a big cat next to the tree', 'person in the middle'];
    const result = await segmenter.segment(testImage(), exprs);
    expect(calls).toMatchObject({ samEncoder: 1, samDecoder: 1, clipTrunk: 1, clipHead: 1, gemVisual: 1, clipText: 1 });
    expect(result.proposals).toBeGreaterThan(3);
    expect(result.results.map((r) => r.expression)).toEqual(exprs);
    for (const r of result.results) {
      expect(r.mask.size).toEqual([H, W]);
      const mask = rleDecode(r.mask);
      expect(mask.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
      expect(r.bbox).toHaveLength(4);
      expect(r.candidates.length).toBe(Math.min(5, result.proposals));
      // Candidates are the best CLIP scores, best first; the pure choice is the first of them.
      for (let i = 1; i < r.candidates.length; i++) expect(r.candidates[i - 1].clip).toBeGreaterThanOrEqual(r.candidates[i].clip);
      expect(r.hybrid.proposal).toBe(r.candidates[0].proposal);
      // The guided choice is one of the top-3 and has the best final score among them.
      const finals = r.candidates.filter((c) => c.final !== undefined);
      expect(finals.length).toBe(3);
      expect(finals.map((c) => c.proposal)).toContain(r.proposal);
      expect(r.score).toBe(Math.max(...finals.map((c) => c.final!)));
      expect(r.parse.nounPhrase.length).toBeGreaterThan(0);
      expect(Object.keys(r.timings)).toEqual(expect.arrayContaining(['text', 'clipScores', 'coherence', 'relation']));
    }
    expect(Object.keys(result.timings)).toEqual(expect.arrayContaining(['decode', 'samEncoder', 'samDecoder', 'samPostprocess', 'clipInputs', 'clipTrunk', 'clipHead', 'gem']));
    // Text features are cached by string: the same expressions again need no encoder call.
    await segmenter.segmentPrepared(await segmenter.prepare(testImage()), exprs);
    expect(calls.clipText).toBe(1);
    // textCacheLimit 0 (bench --text-cache 0): the same strings are encoded again on every call.
    const uncachedCalls: Record<string, number> = {};
    const uncached = await createSegmenter({ models: fakeModels(uncachedCalls), textCacheLimit: 0 });
    const prepared = await uncached.prepare(testImage());
    await uncached.segmentPrepared(prepared, exprs);
    await uncached.segmentPrepared(prepared, exprs);
    expect(uncachedCalls.clipText).toBe(2);
  });

  it('chooses the argmax of the CLIP score without guidance, and guided variants per k', async () => {
    const calls: Record<string, number> = {};
    const models = fakeModels(calls);
    const pure = await createSegmenter({ models, guidance: false });
    const prepared = await pure.prepare(testImage());
    const [r] = await pure.segmentPrepared(prepared, ['the dog on the left']);
    expect(calls.gemVisual).toBeUndefined();
    expect(r.proposal).toBe(r.hybrid.proposal);
    expect(r.candidates.every((c) => c.final === undefined)).toBe(true);
    const guided = await createSegmenter({ models });
    const p2 = await guided.prepare(testImage());
    const [g] = await guided.segmentPrepared(p2, ['the dog on the left'], { kVariants: [{ k1: 1, k2: 1 }, { k1: 3, k2: 6 }] });
    // With k1 = 1 the only candidate is the CLIP argmax.
    expect(g.guidedByK!['1,1'].proposal).toBe(g.hybrid.proposal);
    expect(g.guidedByK!['3,6'].proposal).toBe(g.proposal);
  });

  it('names bad input and reports an image without proposals', async () => {
    const calls: Record<string, number> = {};
    const models = fakeModels(calls);
    const segmenter = await createSegmenter({ models });
    await expect(segmenter.segment(testImage(), ['  '])).rejects.toThrow(/expressions\[0\] is empty/);
    await expect(segmenter.segment(testImage(), [])).rejects.toThrow(/non-empty array/);
    await expect(segmenter.segment('/no/such/image.jpg', ['x'])).rejects.toMatchObject({ kind: 'badInput' });
    const noProposals = { ...models, samDecoder: async (_e: FloatTensor, pts: FloatTensor) => {
      const p = pts.dims[0];
      return { lowResLogits: { data: new Float32Array(p * 3 * 256 * 256).fill(-5), dims: [p, 3, 256, 256] }, iouPredictions: { data: new Float32Array(p * 3).fill(0.9), dims: [p, 3] } };
    } } as Models;
    const none = await createSegmenter({ models: noProposals });
    const err = await none.segment(testImage(), ['the dog']).catch((e) => e);
    expect(err).toBeInstanceOf(SegmentError);
    expect(err.kind).toBe('noProposal');
    await expect(createSegmenter({ models: '/no/such/models' })).rejects.toMatchObject({ kind: 'models' });
  });

  it('decodes as PIL by default and follows EXIF orientation when asked (decode.orientation)', async () => {
    const { rgb } = testImage();
    const jpeg = await sharp(rgb, { raw: { width: W, height: H, channels: 3 } }).jpeg().withMetadata({ orientation: 6 }).toBuffer();
    const stored = await createSegmenter({ models: fakeModels({}) });
    expect(await stored.segment(jpeg, ['the dog'])).toMatchObject({ height: H, width: W });
    const turned = await createSegmenter({ models: fakeModels({}), decode: { orientation: 'exif' } });
    expect(await turned.segment(jpeg, ['the dog'])).toMatchObject({ height: W, width: H });
    await expect(createSegmenter({ models: fakeModels({}), decode: { colour: 'srgb' as never } })).rejects.toThrow(/decode\.colour/);
  });

  it('type-checks expressions by index and treats invisible-only ones as empty, before any image work', async () => {
    const calls: Record<string, number> = {};
    const segmenter = await createSegmenter({ models: fakeModels(calls) });
    const bad = (e: unknown[]) => segmenter.segment(testImage(), e as string[]).catch((x) => x);
    for (const [input, message] of [
      [['the dog', 'the cat', 7], /^expressions\[2\] must be a string or \{ text: string \}, got number$/],
      [[null], /expressions\[0\] .*got null/],
      [['ok', ['x']], /expressions\[1\] .*got an array/],
      [[{ text: 5 }], /expressions\[0\] .*got an object whose text is number/],
      [['\u200b\u200c\u200d\u2060\ufeff'], /expressions\[0\] is empty/], // zero-width space/joiners, word joiner, BOM
      [['the dog', '\u00ad\u200e\u202e\u180e \ufe0f\u3164'], /expressions\[1\] is empty/], // soft hyphen, bidi, fillers
      [[{ text: '\t\u2028' }], /expressions\[0\] is empty/],
    ] as Array<[unknown[], RegExp]>) {
      const err = await bad(input);
      expect(err, JSON.stringify(input)).toBeInstanceOf(SegmentError);
      expect(err.kind).toBe('badInput');
      expect(err.message).toMatch(message);
    }
    expect(calls.samEncoder ?? 0).toBe(0);
    // A visible character among invisible ones is an expression.
    await expect(segmenter.segment(testImage(), ['\u200bdog'])).resolves.toHaveProperty('results.length', 1);
  });

  it('refuses an image over maxPixels before decoding it or running SAM', async () => {
    const calls: Record<string, number> = {};
    const small = await createSegmenter({ models: fakeModels(calls), maxPixels: H * W - 1 });
    const err = await small.segment(testImage(), ['the dog']).catch((e) => e);
    expect(err).toBeInstanceOf(SegmentError);
    expect(err.kind).toBe('badInput');
    expect(err.message).toMatch(new RegExp(`${W}×${H} = .* over maxPixels ${H * W - 1}.*--max-pixels`));
    expect(calls.samEncoder ?? 0).toBe(0);
    const exact = await createSegmenter({ models: fakeModels(calls), maxPixels: H * W });
    await expect(exact.segment(testImage(), ['the dog'])).resolves.toHaveProperty('height', H);
    await expect(createSegmenter({ models: fakeModels(), maxPixels: 0 })).rejects.toMatchObject({ kind: 'badInput' });
  });
});

describe.skipIf(!existsSync(VOCAB))('createSegmenter under hostile input', () => {
  it('refuses an image too thin or too small for SAM with a SegmentError naming its size, before SAM runs', async () => {
    const calls: Record<string, number> = {};
    const segmenter = await createSegmenter({ models: fakeModels(calls) });
    const flat = (height: number, width: number) => ({ rgb: new Uint8Array(height * width * 3).fill(128), height, width });
    for (const [h, w] of [[1, 100_000], [100_000, 1], [1, 2049], [2, 4097], [1, 1]]) {
      const err = await segmenter.segment(flat(h, w), ['the dog']).catch((e) => e);
      expect([h, w, err?.name, err?.kind]).toEqual([h, w, 'SegmentError', 'badInput']);
      expect(err.message).toMatch(new RegExp(`the image is ${w}×${h} pixels: too small or too thin`));
    }
    expect(calls.samEncoder ?? 0).toBe(0);
    await expect(segmenter.segment(flat(1, 2048), ['the dog'])).resolves.toHaveProperty('width', 2048);
  });

  it('bounds the expressions (their length, MAX_EXPRESSION_CHARS, and number per call) and checks k', async () => {
    const calls: Record<string, number> = {};
    const segmenter = await createSegmenter({ models: fakeModels(calls) });
    const long = await segmenter.segment(testImage(), ['the dog', 'x'.repeat(MAX_EXPRESSION_CHARS + 1)]).catch((e) => e);
    expect([long.name, long.kind, long.message]).toEqual(['SegmentError', 'badInput', `expressions[1] is ${MAX_EXPRESSION_CHARS + 1} characters long, more than ${MAX_EXPRESSION_CHARS}`]);
    const many = await segmenter.segment(testImage(), Array.from({ length: 300_000 }, () => 'x')).catch((e) => e);
    expect([many.name, many.kind, many.message]).toEqual(['SegmentError', 'badInput', `300000 expressions in one call, more than ${MAX_EXPRESSIONS}`]);
    // Sticky-k values from the caller: negative or NaN is a RangeError naming the option, before any image work.
    await expect(segmenter.segment(testImage(), ['the dog'], { k: { k1: -1, k2: 6 } })).rejects.toThrow(/^options\.k\.k1 must be an integer from 1 to 1024, got -1$/);
    await expect(segmenter.segment(testImage(), ['the dog'], { kVariants: [{ k1: 3, k2: NaN }] })).rejects.toThrow(RangeError);
    expect(calls.samEncoder ?? 0).toBe(0);
    await expect(segmenter.segment(testImage(), ['the dog '.repeat(MAX_EXPRESSION_CHARS / 8)])).resolves.toHaveProperty('results.length', 1);
  });

  it('runs concurrent calls on one segmenter one image at a time, in order, every one answered', async () => {
    let active = 0, most = 0;
    const calls: Record<string, number> = {};
    const base = fakeModels(calls);
    // Between SAM's encoder and the text encoder (the last model call of a segment) a call holds its image's work.
    const models = {
      ...base,
      async samEncoder(...args: Parameters<Models['samEncoder']>) {
        most = Math.max(most, ++active);
        return base.samEncoder(...args);
      },
      async clipText(...args: Parameters<Models['clipText']>) {
        active--;
        return base.clipText(...args);
      },
    } as Models;
    const segmenter = await createSegmenter({ models, textCacheLimit: 0, guidance: false, proposals: { pointsPerSide: 1 } });
    const image = testImage();
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => segmenter.segment(image, [`the dog number ${i}`])));
    expect(results.map((r) => r.results[0].expression)).toEqual(Array.from({ length: 50 }, (_, i) => `the dog number ${i}`));
    expect(calls.samEncoder).toBe(50);
    expect(most).toBe(1);
    // A failing call does not stop the ones behind it.
    const mixed = await Promise.allSettled([segmenter.segment('/no/such.jpg', ['x']), segmenter.segment(image, ['the cat'])]);
    expect(mixed.map((m) => m.status)).toEqual(['rejected', 'fulfilled']);
  });
});
