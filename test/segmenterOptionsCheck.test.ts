// The API's options: each wrong type a TypeError and each value out of range a RangeError naming the option,
// thrown before any model is touched; then seeded random option sets, every one either accepted or refused so.
import { existsSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { stickyKVariants, createStickyK } from '../src/eval/metrics.ts';
import { createSegmenter, type SegmenterOptions } from '../src/segmenter.ts';
import { checkSegmenterOptions, checkSegmentOptions } from '../src/segmenterOptionsCheck.ts';
import { rng } from './helpers.ts';
import { standInModels, VOCAB } from './standInModels.ts';

const models = standInModels();

describe('createSegmenter options', () => {
  it('names the option of each wrong type or value', async () => {
    const cases: Array<[unknown, ErrorConstructor, RegExp]> = [
      [undefined, TypeError, /createSegmenter needs an options object, got undefined/],
      ['models', TypeError, /needs an options object, got the string "models"/],
      [{}, TypeError, /options\.models is required/],
      [{ models: 42 }, TypeError, /options\.models must be a model directory path or the Models from loadModels, got number 42/],
      [{ models: {} }, TypeError, /options\.models must be/],
      [{ models: '' }, TypeError, /options\.models must be a model directory path/],
      [{ models, topK: -1 }, RangeError, /options\.topK must be an integer from 1 to 100, got -1/],
      [{ models, topK: 0 }, RangeError, /options\.topK/],
      [{ models, topK: 2.5 }, RangeError, /options\.topK/],
      [{ models, topK: '5' }, TypeError, /options\.topK must be a number, got the string "5"/],
      [{ models, alpha: NaN }, RangeError, /options\.alpha must be a number from 0 to 1, got NaN/],
      [{ models, alpha: 2 }, RangeError, /options\.alpha/],
      [{ models, guidance: 'no' }, TypeError, /options\.guidance must be true or false, got the string "no"/],
      [{ models, fusion: '__proto__' }, TypeError, /options\.fusion must be one of 'G2L'/],
      [{ models, device: 'gpu' }, TypeError, /options\.device must be one of 'auto', 'cpu', 'cuda'/],
      [{ models, localImage: 'resized' }, TypeError, /options\.localImage must be one of 'photo', 'resized-800', got the string "resized"/],
      [{ models, precision: 'fp8' }, TypeError, /options\.precision/],
      [{ models, vocabPath: 7 }, TypeError, /options\.vocabPath/],
      [{ models, textCacheLimit: -1 }, RangeError, /options\.textCacheLimit/],
      [{ models, quirks: { rightNever: 'yes' } }, TypeError, /options\.quirks\.rightNever/],
      [{ models, quirks: 3 }, TypeError, /options\.quirks must be an object/],
      [{ models, proposals: { pointsPerSide: 1e6 } }, RangeError, /options\.proposals\.pointsPerSide/],
      [{ models, proposals: { amg: { cropNLayers: -1 } } }, RangeError, /options\.proposals\.amg\.cropNLayers/],
      [{ models, proposals: { amg: { predIouThresh: NaN } } }, RangeError, /options\.proposals\.amg\.predIouThresh/],
      [{ models, proposals: { post: { maskThreshold: Infinity } } }, RangeError, /options\.proposals\.post\.maskThreshold/],
      [{ models, decode: 'pil' }, TypeError, /options\.decode must be an object/],
      [{ models, load: { lazy: 1 } }, TypeError, /options\.load\.lazy/],
    ];
    for (const [options, type, message] of cases) {
      const err = await createSegmenter(options as SegmenterOptions).catch((e) => e);
      expect([JSON.stringify(options ?? null)?.slice(0, 80), err?.constructor, err?.message]).toEqual([JSON.stringify(options ?? null)?.slice(0, 80), type, expect.stringMatching(message)]);
    }
  });

  it("names each call's k and kVariants: negative, NaN, fractional, missing or too many", () => {
    const cases: Array<[unknown, ErrorConstructor, RegExp]> = [
      [{ k: { k1: -1, k2: 6 } }, RangeError, /options\.k\.k1 must be an integer from 1 to 1024, got -1/],
      [{ k: { k1: 3, k2: NaN } }, RangeError, /options\.k\.k2 .* got NaN/],
      [{ k: { k1: 3 } }, TypeError, /options\.k\.k2 is required/],
      [{ k: { k1: '3', k2: 6 } }, TypeError, /options\.k\.k1 must be a number/],
      [{ k: [3, 6] }, TypeError, /options\.k must be an object/],
      [{ kVariants: [{ k1: 1, k2: 1 }, { k1: 0.5, k2: 1 }] }, RangeError, /options\.kVariants\[1\]\.k1/],
      [{ kVariants: Array.from({ length: 65 }, () => ({ k1: 1, k2: 1 })) }, RangeError, /options\.kVariants has 65 entries, more than 64/],
      [{ kVariants: 'all' }, TypeError, /options\.kVariants must be an array/],
      [7, TypeError, /options must be an object, got number 7/],
    ];
    for (const [options, type, message] of cases) {
      expect(() => checkSegmentOptions(options), JSON.stringify(options)).toThrow(type);
      expect(() => checkSegmentOptions(options), JSON.stringify(options)).toThrow(message);
    }
    expect(() => checkSegmentOptions({ k: { k1: 3, k2: 6 }, kVariants: [{ k1: 1, k2: 1 }] })).not.toThrow();
  });

  it('refuses negative or NaN sticky-k values', () => {
    for (const [args, message] of [
      [[-1], /proposals must be a positive integer, got -1/], [[NaN], /proposals .* got NaN/], [[5, -3], /k1 .* got -3/],
      [[5, 3, NaN], /k2 .* got NaN/], [[5, 2.5], /k1/],
    ] as Array<[[number, number?, number?], RegExp]>) {
      expect(() => stickyKVariants(...args)).toThrow(RangeError);
      expect(() => stickyKVariants(...args)).toThrow(message);
    }
    expect(() => createStickyK({ k1: NaN })).toThrow(RangeError);
    expect(() => createStickyK({ sticky: 'yes' as never })).toThrow(TypeError);
    expect(stickyKVariants(2)).toEqual([{ k1: 1, k2: 1 }, { k1: 2, k2: 2 }]);
  });

  it.skipIf(!existsSync(VOCAB))('seeded random option sets: a segmenter, or a TypeError/RangeError naming the option', async () => {
    const r = rng(2806);
    const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
    const junk = () => pick<unknown>([undefined, null, -1, 0, 1, 3, 0.5, NaN, Infinity, -Infinity, 1e300, '5', '', 'G2L', 'cpu', 'fp16', true, false, [], {}, { k1: 1 }]);
    const keys = ['topK', 'alpha', 'guidance', 'fusion', 'device', 'precision', 'vocabPath', 'textCacheLimit', 'quirks', 'proposals', 'decode', 'load', 'localImage'];
    let accepted = 0;
    for (let i = 0; i < 120; i++) {
      const options: Record<string, unknown> = { models };
      for (const k of keys) if (r() < 0.25) options[k] = junk();
      let error: Error | null = null;
      try {
        checkSegmenterOptions(options); // createSegmenter's own first step, without building a tokenizer 120 times
      } catch (e) {
        error = e as Error;
      }
      const shown = JSON.stringify(options, (k, v) => (k === 'models' ? 'stand-in' : typeof v === 'number' && !Number.isFinite(v) ? String(v) : v));
      if (!error) {
        accepted++;
        continue;
      }
      expect([shown, error instanceof TypeError || error instanceof RangeError, /options\.\w+/.test(error.message)]).toEqual([shown, true, true]);
      const named = /options\.(\w+)/.exec(error.message)![1];
      expect([shown, named in options]).toEqual([shown, true]);
    }
    expect(accepted).toBeGreaterThan(0);
    // A set the check accepts builds a working segmenter (no later TypeError from an option).
    const ok = await createSegmenter({ models, topK: 3, alpha: 0.5, guidance: false, fusion: 'L2G', textCacheLimit: 0 });
    const rgb = new Uint8Array(40 * 30 * 3).fill(90);
    await expect(ok.segment({ rgb, height: 30, width: 40 }, ['the dog'])).resolves.toHaveProperty('results.length', 1);
  });
});
