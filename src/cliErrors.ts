// Errors the command line maps to its usage exit code.
export class UsageError extends Error {}
