// Errors the command line maps to its usage exit code, the exit codes, and the `--debug` flag.
export class UsageError extends Error {}

/** Exit codes: what a script can branch on. */
export const EXIT = { ok: 0, failure: 1, usage: 2, badInput: 3, models: 4, noProposal: 5 } as const;

/** The arguments without `--debug`; its presence turns stack traces on for this process and its children
 *  (HYBRIDGL_DEBUG=1: src/errorText.ts). */
export function takeDebugFlag(argv: string[]): string[] {
  if (!argv.includes('--debug')) return argv;
  process.env.HYBRIDGL_DEBUG = '1';
  return argv.filter((a) => a !== '--debug');
}

/** A file-system error on a path the user named (Node's message names the path and the reason). */
export function isFileError(err: unknown): err is NodeJS.ErrnoException {
  const e = err as NodeJS.ErrnoException | null;
  return e instanceof Error && typeof e.code === 'string' && typeof e.syscall === 'string' && typeof e.path === 'string';
}
