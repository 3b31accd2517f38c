// What the entry (main.ts) needs of a command: its entry in `hybridgl help`, its own `--help`, and how it runs.
// A command module imports at its top only what its help needs; the modules that do the work (the addon, ONNX
// Runtime, sharp, fastify) it imports when it runs, so that `help`, `--help` and `--version` load none of them.
export type Log = (msg: string) => void;

export interface Command {
  /** Its lines in `hybridgl help`. */
  summary: string;
  /** What `hybridgl <command> --help` prints (a function where the text needs a value of the library). */
  help: string | (() => Promise<string>);
  /** Sub-commands with their own help (`hybridgl eval merge --help`, `hybridgl models fetch --help`). */
  subcommands?: Record<string, { help: string }>;
  run(args: string[], log: Log): Promise<number>;
}

/** A help text: the usage line, then the command's entries. */
export function usage(command: string, ...entries: string[]): string {
  return `usage: hybridgl ${command} [options]\n\n${entries.join('\n')}`;
}
