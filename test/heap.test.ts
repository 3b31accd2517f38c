// bindings/heap.ts: handing free heap memory back to the system (glibc's malloc_trim), a no-op elsewhere.
import { describe, expect, it } from 'vitest';

import { releaseFreeHeap } from '../bindings/heap.ts';

const glibc = Boolean((process.report?.getReport() as { header?: { glibcVersionRuntime?: string } })?.header?.glibcVersionRuntime);

describe('releaseFreeHeap', () => {
  it('trims where the C library is glibc and says so; elsewhere it reports that nothing was done', () => {
    expect(releaseFreeHeap()).toBe(glibc);
    expect(releaseFreeHeap()).toBe(glibc);
  });
});
