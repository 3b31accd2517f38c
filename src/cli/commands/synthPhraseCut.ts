// `hybridgl synth-phrasecut DIR`: a small synthetic PhraseCut dataset (src/eval/synthPhraseCut.ts).
import { usage, type Command, type Log } from '../command.ts';
import { UsageError } from '../errors.ts';

const SUMMARY = `  synth-phrasecut DIR
      The same for PhraseCut (the VGPhraseCut_v0 layout, split test).`;

export const synthPhraseCutCommand: Command = { summary: SUMMARY, help: usage('synth-phrasecut', SUMMARY), run: runSynthPhraseCut };

async function runSynthPhraseCut(args: string[], log: Log): Promise<number> {
  if (args.length !== 1) throw new UsageError('synth-phrasecut needs exactly one argument: the output directory');
  const { writeSynthPhraseCut } = await import('../../eval/synthPhraseCut.ts');
  const s = await writeSynthPhraseCut(args[0]);
  log(`wrote ${s.images} images, ${s.tasks} tasks under ${args[0]}`);
  return 0;
}
