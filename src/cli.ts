// The `hybridgl` command line: one sub-command per verb.
import { backendInfo } from './index.ts';

const USAGE = `usage: hybridgl <command>

commands:
  info      the native backend (CPU or CUDA) and versions
  synth-refer DIR   write a small synthetic dataset in the REFER layout (refcoco, unc) under DIR
  help      this text`;

async function main(argv: string[]): Promise<number> {
  const [cmd] = argv;
  switch (cmd) {
    case 'info': {
      console.log(JSON.stringify({ node: process.version, backend: backendInfo() }, null, 2));
      return 0;
    }
    case 'synth-refer': {
      if (argv.length !== 2) return console.error(`usage: hybridgl synth-refer DIR`), 2;
      const { writeSynthRefer } = await import('./eval/synthRefer.ts');
      const s = await writeSynthRefer(argv[1]);
      console.log(`wrote ${s.images} images, ${s.refs} refs, ${s.sentences} sentences under ${argv[1]}`);
      return 0;
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return 0;
    default:
      console.error(`hybridgl: unknown command '${cmd}'\n\n${USAGE}`);
      return 2;
  }
}

process.exitCode = await main(process.argv.slice(2));
