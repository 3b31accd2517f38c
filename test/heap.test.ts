// bindings/heap.ts: handing free heap memory back to the system (glibc's malloc_trim) and glibc's mmap threshold,
// both no-ops elsewhere.
import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { MAX_MMAP_THRESHOLD_BYTES, releaseFreeHeap, setMmapThreshold } from '../bindings/heap.ts';

const glibc = Boolean((process.report?.getReport() as { header?: { glibcVersionRuntime?: string } })?.header?.glibcVersionRuntime);

describe('releaseFreeHeap', () => {
  it('trims where the C library is glibc and says so; elsewhere it reports that nothing was done', () => {
    expect(releaseFreeHeap()).toBe(glibc);
    expect(releaseFreeHeap()).toBe(glibc);
  });
});

describe('setMmapThreshold', () => {
  it('sets glibc\'s threshold anywhere in [0, 32 MiB] and says whether it did', () => {
    expect(setMmapThreshold(4 * 1024 * 1024)).toBe(glibc);
    expect(setMmapThreshold(MAX_MMAP_THRESHOLD_BYTES)).toBe(glibc);
  });

  it.runIf(glibc && process.platform === 'linux')('maps a block at or above the threshold on its own, and one below in the heap', () => {
    const bytes = 5 * 1024 * 1024 + 12345;
    // Anonymous read-write mappings of this block's size (glibc adds its header and rounds up to pages).
    const ownMappings = () => readFileSync('/proc/self/maps', 'utf8').split('\n').filter((line) => {
      const m = /^([0-9a-f]+)-([0-9a-f]+) rw-p 00000000 00:00 0\s*$/.exec(line);
      const size = m ? parseInt(m[2], 16) - parseInt(m[1], 16) : 0;
      return size >= bytes && size < bytes + 8192;
    }).length;
    try {
      const before = ownMappings();
      setMmapThreshold(4 * 1024 * 1024);
      const mapped = Buffer.allocUnsafeSlow(bytes).fill(1);
      expect(ownMappings()).toBe(before + 1);
      setMmapThreshold(MAX_MMAP_THRESHOLD_BYTES);
      const inHeap = Buffer.allocUnsafeSlow(bytes).fill(2);
      expect(ownMappings()).toBe(before + 1);
      expect(mapped[0] + inHeap[0]).toBe(3);
    } finally {
      setMmapThreshold(MAX_MMAP_THRESHOLD_BYTES);
    }
  });

  it('refuses a size glibc would not take, naming the argument', () => {
    expect(() => setMmapThreshold(MAX_MMAP_THRESHOLD_BYTES + 1)).toThrow(/^bytes must be in \[0, 33554432\], got 33554433$/);
    expect(() => setMmapThreshold(-1)).toThrow(RangeError);
    expect(() => setMmapThreshold(1.5)).toThrow(/^bytes must be an integer$/);
    expect(() => setMmapThreshold(Number.NaN)).toThrow(TypeError);
    expect(() => (setMmapThreshold as (b: unknown) => boolean)('4')).toThrow(TypeError);
  });
});
