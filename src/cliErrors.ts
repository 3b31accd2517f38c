// Errors the command line maps to its usage exit code, and how any error is shown: its message, the stack trace
// only when asked for (`--debug` or HYBRIDGL_DEBUG=1).
export class UsageError extends Error {}

/** Exit codes: what a script can branch on. */
export const EXIT = { ok: 0, failure: 1, usage: 2, badInput: 3, models: 4, noProposal: 5 } as const;

/** Whether stack traces are shown. `--debug` sets HYBRIDGL_DEBUG=1, so worker threads and child processes agree. */
export function debugWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.HYBRIDGL_DEBUG === '1';
}

/** The arguments without `--debug`; its presence turns stack traces on for this process and its children. */
export function takeDebugFlag(argv: string[]): string[] {
  if (!argv.includes('--debug')) return argv;
  process.env.HYBRIDGL_DEBUG = '1';
  return argv.filter((a) => a !== '--debug');
}

/** What a user sees of an error: the message, or with debug the stack (which starts with it). */
export function errorText(err: unknown, debug = debugWanted()): string {
  if (!(err instanceof Error)) return String(err);
  return debug ? (err.stack ?? err.message) : err.message;
}

/** A file-system error on a path the user named (Node's message names the path and the reason). */
export function isFileError(err: unknown): err is NodeJS.ErrnoException {
  const e = err as NodeJS.ErrnoException | null;
  return e instanceof Error && typeof e.code === 'string' && typeof e.syscall === 'string' && typeof e.path === 'string';
}
