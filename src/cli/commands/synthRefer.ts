// `hybridgl synth-refer DIR`: a small synthetic REFER dataset (src/eval/synthRefer.ts).
import { usage, type Command, type Log } from '../command.ts';
import { UsageError } from '../errors.ts';

const SUMMARY = `  synth-refer DIR
      Writes a small deterministic synthetic dataset in the REFER layout (refcoco, splitBy unc) under DIR.`;

export const synthReferCommand: Command = { summary: SUMMARY, help: usage('synth-refer', SUMMARY), run: runSynthRefer };

async function runSynthRefer(args: string[], log: Log): Promise<number> {
  if (args.length !== 1) throw new UsageError('synth-refer needs exactly one argument: the output directory');
  const { writeSynthRefer } = await import('../../eval/synthRefer.ts');
  const s = await writeSynthRefer(args[0]);
  log(`wrote ${s.images} images, ${s.refs} refs, ${s.sentences} sentences under ${args[0]}`);
  return 0;
}
