// The `hybridgl` command line: one sub-command per verb, each importing its modules when it runs, so that `--version`
// and `help` load no addon, ONNX Runtime or sharp.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { PACKAGE_ROOT } from '../bindings/packageRoot.ts';
import { debugWanted, errorText, EXIT, isFileError, takeDebugFlag, UsageError } from './cliErrors.ts';
import { printable } from './text/printable.ts';
import type { SegmentError } from './segmenter.ts';

const USAGE = `usage: hybridgl <command> [options]

commands:
  segment <image> "<expression>" ["<expression>" …] --models DIR [--out overlay.png] [--json result.json]
          [--sheet candidates.png] [--fusion G2L|L2G|G2L&L2G|crop|token_masking|attn_masking]
          [--device auto|cpu|cuda] [--precision fp32|fp16] [--no-guidance] [--vocab bpe_simple_vocab_16e6.txt.gz]
          [--colour-managed] [--exif-orientation] [--max-pixels N]
      Segments the object each expression refers to; prints the result JSON unless --json is given.
      The image is decoded as PIL does (ICC profile and EXIF orientation ignored) unless --colour-managed (ICC → sRGB)
      or --exif-orientation (masks in the EXIF-turned orientation) is given.
  segment --jsonl --models DIR [options]
      Streams: reads {"image": PATH, "expressions": [...]} lines on stdin, writes one result line per non-blank
      input line (models loaded once; blank lines are skipped, "line" counts them). A failed line gives
      {"line": n, "error": "..."} and the stream goes on.
  eval --data DIR --dataset refcoco|refcoco+|refcocog --split S --models DIR --out RUNDIR [--resume]
       [--shard i/n] [--fusion F] [--device D] [--precision P] [--image-root DIR] [--limit-images N] [--max-pixels N]
      Evaluates a REFER split: RUNDIR/results.jsonl (one line per sentence, flushed) and RUNDIR/summary.json
      (oIoU, mIoU, precision for the pure-hybrid and the guided result). --resume continues after a crash.
  eval --dataset phrasecut --data VGPhraseCut_v0 --split test … [--sam-points-per-side N] [--sam-points-per-batch N]
      The reference's PhraseCut loop (SAM 64×64 points, crop_n_layers 1); the --sam-* options change its grid.
  eval … --shard auto [--shard-count N]
      The shard from a Slurm array (SLURM_ARRAY_TASK_ID/_COUNT/_MIN/_MAX) or a Kubernetes Indexed Job
      (JOB_COMPLETION_INDEX; the count from --shard-count or $HYBRIDGL_SHARD_COUNT).
  eval merge --out RUNDIR SHARD_RUNDIR…
      Joins the results of shards into one run with the same totals as an unsharded run; refuses a shard that is
      incomplete, missing, given twice or made with other settings.
  eval report RUNDIR… [--html report.html] [--md report.md] [--data DIR --dataset D]
      Writes the markdown and self-contained HTML report of one or more runs.
  bench <image>… --models DIR [--iterations 5] [--warmup 1] [--expression "…"]… [--json bench.json]
      Times every stage per image and per expression (p50/p90/p99) and the throughput.
      [--proposals N[,N…]] [--trace trace.json]: exactly N (synthetic) proposals reach CLIP; per stage p50, FLOPs,
      GFLOP/s, bytes, peak RSS; a Chrome trace (stages, native kernels, ONNX Runtime nodes) for Perfetto.
      [--text-cache N]: text features kept across images (default 10000; 0: encoded afresh each time).
  bench --kernels [filter…]
      The native kernel micro-benchmarks (npm run bench).
  serve --models DIR [--host 127.0.0.1] [--port 8080] [--token T] [--allow-dir DIR] [--max-pixels N] [options]
      An HTTP service, models loaded once: POST /v1/segment, GET /healthz, GET /metrics, a web page at /
      (all options: hybridgl serve --help).
  models convert|fetch …   (hybridgl models help)
  synth-refer DIR
      Writes a small deterministic synthetic dataset in the REFER layout (refcoco, splitBy unc) under DIR.
  synth-phrasecut DIR
      The same for PhraseCut (the VGPhraseCut_v0 layout, split test).
  info    the native backend (CPU or CUDA), versions and the C library allocator's settings
  selftest [--json]
      Runs each CUDA kernel family against its CPU version and prints the table; exit 1 on a mismatch.
  help    this text (<command> --help: that command's part; --version: the version)

The CLIP vocabulary is read from the model directory, or --vocab, or $HYBRIDGL_VOCAB. --max-pixels N: the largest
image accepted (default: what keeps the image-dependent memory within 4 GB; see README, Limits and errors).

exit codes: 0 ok, 1 failure, 2 usage, 3 unreadable image or empty expression (or another input: a file named that
cannot be read or written), 4 missing or mismatched models, 5 no proposal survived for the image.
Errors are one message naming the input; --debug (any command) or HYBRIDGL_DEBUG=1 adds the stack trace.`;


/** The glibc allocator settings this process started with (bin/allocatorEnv.js sets them for the command). */
function allocatorSettings(): { MALLOC_ARENA_MAX: string | null; GLIBC_TUNABLES: string | null } {
  return { MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? null, GLIBC_TUNABLES: process.env.GLIBC_TUNABLES ?? null };
}

// Messages name user input (paths, expressions, manifest text): control characters are shown escaped.
function log(msg: string): void {
  process.stderr.write(`hybridgl: ${printable(msg, { keepLayout: true })}\n`);
}

const VERSION: string = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')).version;

/** The usage lines of one command (its entries in USAGE), for `<command> --help`. */
function commandUsage(cmd: string): string {
  const lines = USAGE.split('\n');
  const out: string[] = [];
  let inside = false;
  for (const line of lines) {
    if (/^  \S/.test(line)) inside = line.trimStart().startsWith(`${cmd} `) || line.trim() === cmd || line.trimStart().startsWith(`${cmd}  `);
    else if (!/^ {3,}/.test(line)) inside = false;
    if (inside) out.push(line);
  }
  return `usage: hybridgl ${cmd} [options]\n\n${out.join('\n')}`;
}

/** Commands whose `--help` prints their part of USAGE (serve prints its own). */
const HELPED_COMMANDS = ['segment', 'eval', 'bench', 'synth-refer', 'info', 'selftest', 'help'];

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === '--version' || cmd === '-V' || cmd === 'version') {
    console.log(VERSION);
    return EXIT.ok;
  }
  if (cmd && HELPED_COMMANDS.includes(cmd) && (rest.includes('--help') || rest.includes('-h'))) {
    console.log(commandUsage(cmd === 'eval' && ['merge', 'report'].includes(rest[0]) ? `eval ${rest[0]}` : cmd));
    return EXIT.ok;
  }
  switch (cmd) {
    case 'segment': {
      const { runSegmentCommand } = await import('./segmentCommand.ts');
      return runSegmentCommand(rest, log);
    }
    case 'eval': {
      const { runEvalCommand } = await import('./eval/command.ts');
      return runEvalCommand(rest, log);
    }
    case 'bench': {
      const { runBenchCommand } = await import('./eval/bench.ts');
      return runBenchCommand(rest, log);
    }
    case 'serve': {
      const { runServeCommand } = await import('./serve/command.ts');
      return runServeCommand(rest, log);
    }
    case 'models': {
      const { runModelsCommand, MODELS_USAGE } = await import('./models/command.ts');
      if (rest[0] && rest[0] !== 'help') return runModelsCommand(rest, log);
      console.log(`usage: hybridgl models <convert|fetch> [options]\n\n${MODELS_USAGE}`);
      return EXIT.ok;
    }
    case 'synth-refer': {
      if (rest.length !== 1) throw new UsageError('synth-refer needs exactly one argument: the output directory');
      const { writeSynthRefer } = await import('./eval/synthRefer.ts');
      const s = await writeSynthRefer(rest[0]);
      log(`wrote ${s.images} images, ${s.refs} refs, ${s.sentences} sentences under ${rest[0]}`);
      return EXIT.ok;
    }
    case 'synth-phrasecut': {
      if (rest.length !== 1) throw new UsageError('synth-phrasecut needs exactly one argument: the output directory');
      const { writeSynthPhraseCut } = await import('./eval/synthPhraseCut.ts');
      const s = await writeSynthPhraseCut(rest[0]);
      log(`wrote ${s.images} images, ${s.tasks} tasks under ${rest[0]}`);
      return EXIT.ok;
    }
    case 'info': {
      const { backendInfo } = await import('../bindings/backend.ts');
      console.log(JSON.stringify({ node: process.version, backend: backendInfo(), allocator: allocatorSettings() }, null, 2));
      return EXIT.ok;
    }
    case 'selftest': {
      const { values } = parseArgs({ args: rest, options: { json: { type: 'boolean' } } });
      const { runSelfTestReport, formatSelfTest } = await import('./diagnostics/selftest.ts');
      const report = runSelfTestReport();
      console.log(values.json ? JSON.stringify(report, null, 2) : formatSelfTest(report));
      return report.failed ? EXIT.failure : EXIT.ok;
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return EXIT.ok;
    default:
      throw new UsageError(`unknown command '${cmd}'`);
  }
}

/** The exit code of an error that ended a command, and the line that says it. */
function failure(err: unknown, cmd: string | undefined): { code: number; message: string } {
  if (err instanceof UsageError || (err as { code?: string } | null)?.code?.startsWith('ERR_PARSE_ARGS')) {
    // One line: what is wrong and where the usage is.
    const help = cmd && HELPED_COMMANDS.includes(cmd) && cmd !== 'help' ? `hybridgl ${cmd} --help` : 'hybridgl help';
    return { code: EXIT.usage, message: `${(err as Error).message.split('\n')[0]} (usage: ${help})` };
  }
  // Matched by name: their modules load only with the commands that run models.
  if (err instanceof Error && err.name === 'SegmentError') return { code: EXIT[(err as SegmentError).kind], message: errorText(err) };
  // A lazily created session that onnxruntime cannot load surfaces at its first use.
  if (err instanceof Error && err.name === 'ModelLoadError') return { code: EXIT.models, message: errorText(err) };
  if (isFileError(err)) return { code: EXIT.badInput, message: errorText(err) };
  return { code: EXIT.failure, message: debugWanted() ? errorText(err) : `${errorText(err)} (--debug or HYBRIDGL_DEBUG=1 shows where)` };
}

// Run only as the program, not when imported by tests.
if (process.argv[1] && /(?:cli\.[jt]s|hybridgl(?:\.js)?)$/.test(process.argv[1])) {
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
