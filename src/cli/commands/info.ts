// `hybridgl info`: the native backend, versions and the glibc allocator settings the process runs with.
import { usage, type Command } from '../command.ts';

const SUMMARY = '  info    the native backend (CPU or CUDA), versions and the C library allocator\'s settings';

export const infoCommand: Command = { summary: SUMMARY, help: usage('info', SUMMARY), run: runInfo };

/** The glibc allocator settings this process started with (bin/allocatorEnv.js sets them for the command). */
function allocatorSettings(): { MALLOC_ARENA_MAX: string | null; GLIBC_TUNABLES: string | null } {
  return { MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? null, GLIBC_TUNABLES: process.env.GLIBC_TUNABLES ?? null };
}

async function runInfo(): Promise<number> {
  const { backendInfo } = await import('../../../bindings/backend.ts');
  console.log(JSON.stringify({ node: process.version, backend: backendInfo(), allocator: allocatorSettings() }, null, 2));
  return 0;
}
