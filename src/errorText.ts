// How an error is shown to a person (the CLI's messages, the service's log): its message, the stack trace only when
// asked for (HYBRIDGL_DEBUG=1; `hybridgl --debug` sets it).

/** Whether stack traces are shown. The variable, not a flag, so that worker threads and child processes agree. */
export function debugWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.HYBRIDGL_DEBUG === '1';
}

/** What a user sees of an error: the message, or with debug the stack (which starts with it). */
export function errorText(err: unknown, debug = debugWanted()): string {
  if (!(err instanceof Error)) return String(err);
  return debug ? (err.stack ?? err.message) : err.message;
}
