// The service's image cache: LRU order, both bounds, oversize entries, and the byte estimate of a prepared image.
import { describe, expect, it } from 'vitest';

import type { PreparedImage } from '../src/segmenter.ts';
import { ImageCache, preparedImageBytes, sha256Hex } from '../src/serve/cache.ts';

const sized = (limits: { maxEntries: number; maxBytes: number }) => new ImageCache<{ n: number }>(limits, (v) => v.n);

describe('ImageCache', () => {
  it('evicts the least recently used first when the entry bound is reached', () => {
    const c = sized({ maxEntries: 2, maxBytes: 1000 });
    c.set('a', { n: 1 });
    c.set('b', { n: 1 });
    expect(c.get('a')).toEqual({ n: 1 }); // a is now the most recent
    c.set('c', { n: 1 });
    expect(c.get('b')).toBeUndefined();
    expect(c.get('a')).toBeDefined();
    expect(c.get('c')).toBeDefined();
    expect(c.stats()).toEqual({ entries: 2, bytes: 2, hits: 3, misses: 1, evictions: 1 });
  });

  it('evicts until the byte bound holds, and keeps no entry larger than the bound', () => {
    const c = sized({ maxEntries: 10, maxBytes: 100 });
    c.set('a', { n: 40 });
    c.set('b', { n: 40 });
    c.set('c', { n: 50 }); // 130 > 100: a goes
    expect([c.get('a'), c.get('b')?.n, c.get('c')?.n]).toEqual([undefined, 40, 50]);
    expect(c.set('huge', { n: 101 })).toBe(false);
    expect(c.get('huge')).toBeUndefined();
    expect(c.stats().bytes).toBe(90);
    c.set('b', { n: 10 }); // replacing an entry replaces its bytes
    expect(c.stats()).toMatchObject({ entries: 2, bytes: 60 });
  });

  it('keeps nothing with maxEntries 0, and rejects bad bounds', () => {
    const c = sized({ maxEntries: 0, maxBytes: 100 });
    expect(c.set('a', { n: 1 })).toBe(false);
    expect(c.stats().entries).toBe(0);
    expect(() => sized({ maxEntries: -1, maxBytes: 1 })).toThrow(/maxEntries/);
    expect(() => sized({ maxEntries: 1, maxBytes: 1.5 })).toThrow(/maxBytes/);
  });

  it('sha256Hex is the hex digest of the bytes', () => {
    expect(sha256Hex(new TextEncoder().encode('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('estimates a prepared image from its pixels, masks, features and RLE bound', () => {
    const h = 10, w = 20, n = 3;
    const p = {
      image: { rgb: new Uint8Array(h * w * 3), height: h, width: w },
      proposals: {
        count: n, height: h, width: w, masks: new Uint8Array(n * h * w), boxesXYXY: new Int32Array(4 * n), boxesXYWH: new Int32Array(4 * n),
        predictedIoU: new Float32Array(n), stabilityScore: new Float32Array(n), pointCoords: new Float64Array(2 * n), proposalIndex: new Int32Array(n),
      },
      features: new Float32Array(n * 8), dim: 8, gemPatches: new Float32Array(5), timings: {}, proposalRle: () => ({ size: [h, w], counts: '' }),
    } as unknown as PreparedImage;
    const arrays = h * w * 3 + n * h * w + 2 * 16 * n + 2 * 4 * n + 16 * n + 4 * n + n * 8 * 4 + 5 * 4;
    expect(preparedImageBytes(p)).toBe(arrays + n * (2 * (h + w) + 64));
  });
});
