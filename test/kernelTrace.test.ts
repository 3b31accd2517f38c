// The kernel trace hook of bindings/: every native call reported with its kernel, argument sizes, bytes and times.
import { afterEach, describe, expect, it } from 'vitest';

import { gaussianBlur, gaussianBlurAsync } from '../bindings/gaussianBlur.ts';
import { setKernelTraceHook, type KernelCall } from '../bindings/kernelTrace.ts';
import { maskIoU } from '../bindings/maskOps.ts';
import { native } from '../bindings/native.ts';

afterEach(() => {
  setKernelTraceHook(null);
});

describe('setKernelTraceHook', () => {
  it('reports a call on the JS thread with its sizes, bytes and times', () => {
    const calls: KernelCall[] = [];
    setKernelTraceHook((c) => calls.push(c));
    const before = performance.now();
    gaussianBlur(new Uint8Array(4 * 5 * 3), 4, 5);
    expect(calls).toHaveLength(1);
    const [c] = calls;
    expect(c.name).toBe('gaussianBlur');
    expect(c.sizes).toEqual(['Uint8Array[60]', 4, 5, 'false']);
    expect(c.bytes).toBe(60 + 60);
    expect(c.startMs).toBeGreaterThanOrEqual(before);
    expect(c.endMs).toBeGreaterThanOrEqual(c.startMs);
  });

  it('reports a call off the JS thread when its promise settles, and counts bytes inside a result object', async () => {
    const calls: KernelCall[] = [];
    setKernelTraceHook((c) => calls.push(c));
    const pending = gaussianBlurAsync(new Uint8Array(2 * 2 * 3), 2, 2);
    expect(calls).toHaveLength(0);
    await pending;
    expect(calls.map((c) => [c.name, c.sizes])).toEqual([['gaussianBlur', ['Uint8Array[12]', 2, 2, 'true']]]);
    calls.length = 0;
    maskIoU(new Uint8Array(2 * 9), new Uint8Array(9), 3, 3);
    // 18 + 9 bytes of masks in, and the intersection and union counts (2 × 1 Float64) out.
    expect(calls.map((c) => [c.name, c.bytes])).toEqual([['pairwiseMaskCounts', 18 + 9 + 2 * 2 * 8]]);
  });

  it('hands back the hook it replaces; null stops the reports; a refused call is not reported', () => {
    const first: string[] = [], second: string[] = [];
    const hookA = (c: KernelCall) => first.push(c.name);
    expect(setKernelTraceHook(hookA)).toBeNull();
    expect(setKernelTraceHook((c) => second.push(c.name))).toBe(hookA);
    gaussianBlur(new Uint8Array(3), 1, 1);
    setKernelTraceHook(null);
    gaussianBlur(new Uint8Array(3), 1, 1);
    expect([first, second]).toEqual([[], ['gaussianBlur']]);
    setKernelTraceHook((c) => first.push(c.name));
    expect(() => native.gaussianBlur(new Uint8Array(2), 1, 1, false)).toThrow(/^rgb has length 2/);
    expect(first).toEqual([]);
    expect(() => setKernelTraceHook('log' as unknown as null)).toThrow(TypeError);
  });
});
