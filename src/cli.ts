// The `hybridgl` command line: one sub-command per verb.
import { backendInfo } from './index.ts';

const USAGE = `usage: hybridgl <command>

commands:
  info      the native backend (CPU or CUDA) and versions
  help      this text`;

function main(argv: string[]): number {
  const [cmd] = argv;
  switch (cmd) {
    case 'info': {
      console.log(JSON.stringify({ node: process.version, backend: backendInfo() }, null, 2));
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

process.exitCode = main(process.argv.slice(2));
