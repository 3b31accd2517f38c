// Errors the command line maps to its usage exit code.
export class UsageError extends Error {}

/** Exit codes: what a script can branch on. */
export const EXIT = { ok: 0, failure: 1, usage: 2, badInput: 3, models: 4, noProposal: 5 } as const;
