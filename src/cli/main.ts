// The `hybridgl` command line: one command per verb (src/cli/commands/), each with its own help and each importing
// the modules that do the work only when it runs, so that `--version`, `help` and `--help` load no addon, ONNX
// Runtime or sharp.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { PACKAGE_ROOT } from '../../bindings/packageRoot.ts';
import { debugWanted, errorText } from '../errorText.ts';
import type { SegmentError } from '../segmenter.ts';
import { printable } from '../text/printable.ts';
import type { Command } from './command.ts';
import { benchCommand } from './commands/bench.ts';
import { evalCommand } from './commands/eval.ts';
import { infoCommand } from './commands/info.ts';
import { modelsCommand } from './commands/models.ts';
import { segmentCommand } from './commands/segment.ts';
import { selftestCommand } from './commands/selftest.ts';
import { serveCommand } from './commands/serve.ts';
import { synthPhraseCutCommand } from './commands/synthPhraseCut.ts';
import { synthReferCommand } from './commands/synthRefer.ts';
import { EXIT, isFileError, takeDebugFlag, UsageError } from './errors.ts';

/** The commands, in the order `hybridgl help` lists them. */
export const COMMANDS: Record<string, Command> = {
  segment: segmentCommand, eval: evalCommand, bench: benchCommand, serve: serveCommand, models: modelsCommand,
  'synth-refer': synthReferCommand, 'synth-phrasecut': synthPhraseCutCommand, info: infoCommand, selftest: selftestCommand,
};

const USAGE = `usage: hybridgl <command> [options]

commands:
${Object.values(COMMANDS).map((c) => c.summary).join('\n')}
  help [command]    this text, or that command's (as <command> --help); --version: the version

The CLIP vocabulary is read from the model directory, or --vocab, or $HYBRIDGL_VOCAB. --max-pixels N: the largest
image accepted (default: what keeps the image-dependent memory within 4 GB; see docs/limits.md).

exit codes: 0 ok, 1 failure, 2 usage, 3 unreadable image or empty expression (or another input: a file named that
cannot be read or written), 4 missing or mismatched models, 5 no proposal survived for the image.
Errors are one message naming the input; --debug (any command) or HYBRIDGL_DEBUG=1 adds the stack trace.`;

// Messages name user input (paths, expressions, manifest text): control characters are shown escaped.
function log(msg: string): void {
  process.stderr.write(`hybridgl: ${printable(msg, { keepLayout: true })}\n`);
}

const VERSION: string = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')).version;

/** The help of a command, or of its sub-command when `args` start with one (`eval merge`, `models fetch`). */
async function helpText(command: Command, args: string[]): Promise<string> {
  const help = (args[0] !== undefined && command.subcommands?.[args[0]]?.help) || command.help;
  return typeof help === 'string' ? help : help();
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === '--version' || cmd === '-V' || cmd === 'version') {
    console.log(VERSION);
    return EXIT.ok;
  }
  if (cmd === undefined || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    const command = cmd === 'help' && rest[0] !== undefined ? COMMANDS[rest[0]] : undefined;
    console.log(command ? await helpText(command, rest.slice(1)) : USAGE);
    return EXIT.ok;
  }
  const command = Object.hasOwn(COMMANDS, cmd) ? COMMANDS[cmd] : undefined;
  if (!command) throw new UsageError(`unknown command '${cmd}'`);
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(await helpText(command, rest));
    return EXIT.ok;
  }
  return command.run(rest, log);
}

/** The exit code of an error that ended a command, and the line that says it. */
function failure(err: unknown, cmd: string | undefined): { code: number; message: string } {
  if (err instanceof UsageError || (err as { code?: string } | null)?.code?.startsWith('ERR_PARSE_ARGS')) {
    // One line: what is wrong and where the usage is.
    const help = cmd && Object.hasOwn(COMMANDS, cmd) ? `hybridgl ${cmd} --help` : 'hybridgl help';
    return { code: EXIT.usage, message: `${(err as Error).message.split('\n')[0]} (usage: ${help})` };
  }
  // Matched by name: their modules load only with the commands that run models.
  if (err instanceof Error && err.name === 'SegmentError') return { code: EXIT[(err as SegmentError).kind], message: errorText(err) };
  // A lazily created session that onnxruntime cannot load surfaces at its first use.
  if (err instanceof Error && err.name === 'ModelLoadError') return { code: EXIT.models, message: errorText(err) };
  if (isFileError(err)) return { code: EXIT.badInput, message: errorText(err) };
  return { code: EXIT.failure, message: debugWanted() ? errorText(err) : `${errorText(err)} (--debug or HYBRIDGL_DEBUG=1 shows where)` };
}

// Run only as the program (bin/hybridgl.js, or this file run directly), not when imported by tests.
if (process.argv[1] && /(?:cli[\\/]main\.[jt]s|hybridgl(?:\.js)?)$/.test(process.argv[1])) {
  const argv = takeDebugFlag(process.argv.slice(2));
  // An error no command caught (a stream's, a timer's) is shown like any other, not as Node's stack dump.
  process.on('uncaughtException', (err) => {
    const { code, message } = failure(err, argv[0]);
    log(message);
    process.exit(code);
  });
  main(argv).then(
    (code) => (process.exitCode = code),
    (err) => {
      const { code, message } = failure(err, argv[0]);
      log(message);
      process.exitCode = code;
    },
  );
}
