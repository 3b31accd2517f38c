// The glibc allocator policy: what the hybridgl command installs, what the loader does with it (heap calls recorded
// instead of made), and that a library load without it leaves the allocator alone.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';

vi.mock('../bindings/heap.ts', () => ({
  MAX_MMAP_THRESHOLD_BYTES: 32 * 1024 * 1024,
  releaseFreeHeap: vi.fn(() => true),
  setMmapThreshold: vi.fn(() => true),
}));

import { releaseFreeHeap, setMmapThreshold } from '../bindings/heap.ts';
import { allocatorHooks, commandAllocatorTuning, mmapThresholdsByDefault } from '../src/models/allocatorTuning.ts';
import { loadModels } from '../src/models/loadModels.ts';
import { referenceInput, loadReference } from './modelReference.ts';
import { runHybridgl } from './runProcess.ts';

const DIR = join(import.meta.dirname, 'fixtures', 'models');
const MiB = 1024 * 1024;

afterEach(() => {
  vi.mocked(setMmapThreshold).mockClear();
  vi.mocked(releaseFreeHeap).mockClear();
});

describe('the command\'s policy (commandAllocatorTuning)', () => {
  it('sets the thresholds where glibc maps with huge pages; HYBRIDGL_MMAP_THRESHOLDS forces either', () => {
    expect(mmapThresholdsByDefault({})).toBe(false);
    expect(mmapThresholdsByDefault({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' })).toBe(true);
    expect(mmapThresholdsByDefault({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2:glibc.malloc.hugetlb=2' })).toBe(true);
    expect(mmapThresholdsByDefault({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' })).toBe(false);
    expect(mmapThresholdsByDefault({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=10' })).toBe(false);
    expect(mmapThresholdsByDefault({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1', HYBRIDGL_MMAP_THRESHOLDS: '0' })).toBe(false);
    expect(mmapThresholdsByDefault({ HYBRIDGL_MMAP_THRESHOLDS: '1' })).toBe(true);
    expect(() => mmapThresholdsByDefault({ HYBRIDGL_MMAP_THRESHOLDS: 'yes' }))
      .toThrow(/^HYBRIDGL_MMAP_THRESHOLDS must be 1 or 0, got 'yes'$/);
  });

  it('trims the heap after each call only with HYBRIDGL_RELEASE_HEAP=1', () => {
    expect(commandAllocatorTuning({})).toEqual({ mmapThresholds: false, releaseFreeHeap: false });
    expect(commandAllocatorTuning({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1', HYBRIDGL_RELEASE_HEAP: '1' }))
      .toEqual({ mmapThresholds: true, releaseFreeHeap: true });
    expect(commandAllocatorTuning({ HYBRIDGL_RELEASE_HEAP: '0' }).releaseFreeHeap).toBe(false);
  });
});

describe('allocatorHooks', () => {
  it('sets the encoder\'s threshold to 4 MiB and the other models\' to glibc\'s ceiling, on CPU only', () => {
    const cpu = allocatorHooks({ mmapThresholds: true }, 'cpu');
    cpu.beforeCall('sam_encoder');
    cpu.beforeCall('clip_trunk');
    cpu.afterCall();
    expect(vi.mocked(setMmapThreshold).mock.calls).toEqual([[4 * MiB], [32 * MiB]]);
    expect(releaseFreeHeap).not.toHaveBeenCalled();
    allocatorHooks({ mmapThresholds: true, releaseFreeHeap: true }, 'cuda').beforeCall('sam_encoder');
    expect(setMmapThreshold).toHaveBeenCalledTimes(2);
  });

  it('trims after a call when asked', () => {
    const hooks = allocatorHooks({ releaseFreeHeap: true }, 'cpu');
    hooks.beforeCall('sam_decoder');
    hooks.afterCall();
    expect(setMmapThreshold).not.toHaveBeenCalled();
    expect(releaseFreeHeap).toHaveBeenCalledTimes(1);
  });
});

describe('loadModels and the policy', () => {
  const reference = loadReference(DIR);
  const encoderCase = reference.cases.find((c) => c.model === 'sam_encoder')!;
  const pixels = referenceInput(reference, Object.values(encoderCase.inputs)[0]);

  it('leaves the allocator alone by default, whatever the environment says', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, { HYBRIDGL_MMAP_THRESHOLDS: 'yes', HYBRIDGL_RELEASE_HEAP: '1', GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' });
    try {
      const models = await loadModels(DIR, { device: 'cpu', models: ['sam_encoder'], warmup: false });
      await models.samEncoder(pixels);
      await models.dispose();
    } finally {
      for (const key of ['HYBRIDGL_MMAP_THRESHOLDS', 'HYBRIDGL_RELEASE_HEAP', 'GLIBC_TUNABLES'])
        if (saved[key] === undefined) delete process.env[key];
        else process.env[key] = saved[key];
    }
    expect(setMmapThreshold).not.toHaveBeenCalled();
    expect(releaseFreeHeap).not.toHaveBeenCalled();
  }, 60_000);

  it('carries out the policy it is given around each call', async () => {
    const models = await loadModels(DIR, { device: 'cpu', models: ['sam_encoder'], warmup: false,
      allocator: { mmapThresholds: true, releaseFreeHeap: true } });
    try {
      await models.samEncoder(pixels);
    } finally {
      await models.dispose();
    }
    expect(vi.mocked(setMmapThreshold).mock.calls).toEqual([[4 * MiB]]);
    expect(releaseFreeHeap).toHaveBeenCalledTimes(1);
  }, 60_000);

  it('rejects a policy that is not one, naming the field', async () => {
    await expect(loadModels(DIR, { allocator: { mmapThresholds: 'yes' as unknown as boolean } }))
      .rejects.toThrow(/^allocator\.mmapThresholds must be true or false, got string$/);
    await expect(loadModels(DIR, { allocator: null as unknown as undefined }))
      .rejects.toThrow(/^allocator must be an object/);
  });
});

describe('the hybridgl commands install it', () => {
  const MODELS = join(import.meta.dirname, 'fixtures', 'models');
  const data = mkdtempSync(join(tmpdir(), 'hybridgl-allocator-'));
  afterAll(() => rmSync(data, { recursive: true, force: true }));
  for (const args of [
    ['eval', '--data', data, '--dataset', 'refcoco', '--split', 'val', '--models', MODELS, '--out', join(data, 'run')],
    ['segment', 'missing.png', 'the dog', '--models', MODELS],
    ['serve', '--models', MODELS, '--port', '0'],
    ['bench', 'missing.png', '--models', MODELS],
  ])
    it(`hybridgl ${args[0]} reads its environment (a bad HYBRIDGL_MMAP_THRESHOLDS is named)`, async () => {
      const r = await runHybridgl(args, { env: { ...process.env, HYBRIDGL_MMAP_THRESHOLDS: 'yes' } });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/HYBRIDGL_MMAP_THRESHOLDS must be 1 or 0, got 'yes'/);
    }, 60_000);
});
