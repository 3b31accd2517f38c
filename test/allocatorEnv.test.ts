// bin/allocatorEnv.js: the glibc allocator settings the hybridgl command runs itself with.
import { describe, expect, it } from 'vitest';

import { ALLOCATOR_COMMANDS, ALLOCATOR_TUNABLES, allocatorEnv } from '../bin/allocatorEnv.js';
import { runHybridgl } from './runProcess.ts';

describe('allocatorEnv', () => {
  it('adds the arena limit and huge pages on Linux, nothing elsewhere', () => {
    expect(ALLOCATOR_TUNABLES).toBe('glibc.malloc.hugetlb=1');
    expect(allocatorEnv({}, 'linux')).toEqual({ MALLOC_ARENA_MAX: '2', GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' });
    expect(allocatorEnv({}, 'darwin')).toEqual({});
    expect(allocatorEnv({}, 'win32')).toEqual({});
  });

  it('keeps what the caller gave, as a variable or as a tunable, and adds the rest after it', () => {
    expect(allocatorEnv({ MALLOC_ARENA_MAX: '8' }, 'linux')).toEqual({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' });
    expect(allocatorEnv({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=4' }, 'linux'))
      .toEqual({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=4:glibc.malloc.hugetlb=1' });
    expect(allocatorEnv({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' }, 'linux')).toEqual({ MALLOC_ARENA_MAX: '2' });
    expect(allocatorEnv({ MALLOC_ARENA_MAX: '2', GLIBC_TUNABLES: 'glibc.malloc.tcache_count=0:glibc.malloc.hugetlb=1' },
      'linux')).toEqual({});
  });
});

describe.runIf(process.platform === 'linux')('the hybridgl command on Linux', () => {
  it('runs with the allocator settings, keeping a caller\'s own', async () => {
    const unset = { ...process.env, MALLOC_ARENA_MAX: undefined, GLIBC_TUNABLES: undefined };
    const plain = await runHybridgl(['info'], { env: unset });
    expect(plain.status).toBe(0);
    expect(JSON.parse(plain.stdout).allocator).toEqual({ MALLOC_ARENA_MAX: '2', GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' });
    const own = await runHybridgl(['info'], { env: { ...unset, MALLOC_ARENA_MAX: '1', GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' } });
    expect(JSON.parse(own.stdout).allocator).toEqual({ MALLOC_ARENA_MAX: '1', GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' });
  });

  it('starts Node once for the commands that run no model, twice (the settings applied) for those that do', async () => {
    // Each Node start writes one line first (NODE_OPTIONS reaches the re-executed command too).
    const env = { ...process.env, MALLOC_ARENA_MAX: undefined, GLIBC_TUNABLES: undefined,
      NODE_OPTIONS: `--import=data:text/javascript,${encodeURIComponent('process.stderr.write("node-start\\n")')}` };
    const starts = (stderr: string) => stderr.split('\n').filter((l) => l === 'node-start').length;
    const version = await runHybridgl(['--version'], { env });
    expect(version.status).toBe(0);
    expect(starts(version.stderr)).toBe(1);
    expect(ALLOCATOR_COMMANDS).toContain('info');
    const info = await runHybridgl(['info'], { env });
    expect(info.status).toBe(0);
    expect(starts(info.stderr)).toBe(2);
  });
});
