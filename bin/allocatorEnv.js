// The C library allocator's settings that `hybridgl` runs its models with (docs/performance.md, memory). glibc reads
// them only at start-up, so for the commands that run models (and `info`, which reports them) bin/hybridgl.js runs
// itself once more with them set; the other commands start once. A setting the caller gave (the variable, or the same
// tunable in GLIBC_TUNABLES) is kept as given.
//
// - MALLOC_ARENA_MAX=2: glibc gives each thread that runs a model call its own arena, and each arena keeps what its
//   largest call freed; at full size that adds up to gigabytes.
// - glibc.malloc.hugetlb=1: blocks glibc maps on their own are backed by transparent huge pages where the kernel
//   gives them on request (madvise), so a model call's fresh intermediates fault one 2 MiB page at a time instead of
//   one 4 KiB page at a time: about 4× less system time in the SAM encoder.
// (The mmap threshold is set per model at run time: src/models/loadModels.ts, CPU_MMAP_THRESHOLD.)
export const ALLOCATOR_TUNABLES = 'glibc.malloc.hugetlb=1';

/** The commands that start with the settings: those that run models, where they pay (the second Node start costs
 *  about 0.1 s; at full size the settings save about 15 % of the time and 170 MiB), and `info`, which reports them.
 *  The others (--version, help, models, synth-*, selftest) start once. */
export const ALLOCATOR_COMMANDS = ['segment', 'eval', 'bench', 'serve', 'info'];

/** The environment variables to add to `env` before the command runs (none off Linux, none when all are given). */
export function allocatorEnv(env, platform) {
  if (platform !== 'linux') return {};
  const added = {};
  const given = (env.GLIBC_TUNABLES ?? '').split(':').filter((t) => t !== '');
  const givenNames = new Set(given.map((t) => t.split('=')[0]));
  if (env.MALLOC_ARENA_MAX === undefined && !givenNames.has('glibc.malloc.arena_max')) added.MALLOC_ARENA_MAX = '2';
  const missing = ALLOCATOR_TUNABLES.split(':').filter((t) => !givenNames.has(t.split('=')[0]));
  if (missing.length > 0) added.GLIBC_TUNABLES = [...given, ...missing].join(':');
  return added;
}
