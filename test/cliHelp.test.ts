// Every command's and sub-command's help (src/cli/commands/): exit 0 with its own text, and none of the modules that
// do the work loaded for it (no addon, ONNX Runtime, sharp or fastify).
import { describe, expect, it, vi } from 'vitest';

import { COMMANDS, main } from '../src/cli/main.ts';
import { DEFAULT_MAX_PIXELS } from '../src/pipeline/imageBudget.ts';
import { runHybridgl } from './runProcess.ts';

// Each Node start (bin/hybridgl.js, and the command it runs again with the allocator settings) says at exit which of
// the heavy packages and native addons it loaded.
const REPORT_LOADED = `import { createRequire } from 'node:module';
const cache = createRequire('file:///').cache;
process.on('exit', () => process.stderr.write('loaded:' + Object.keys(cache)
  .filter((k) => /[\\\\/]node_modules[\\\\/](sharp|onnxruntime-node|fastify)[\\\\/]|\\.node$/.test(k))
  .map((k) => ' ' + (k.endsWith('.node') ? k.replace(/.*[\\\\/]/, '') : k.replace(/.*[\\\\/]node_modules[\\\\/]([^\\\\/]+).*/, '$1'))).join('') + '\\n'));`;
const env = { ...process.env, NODE_OPTIONS: `--import=data:text/javascript,${encodeURIComponent(REPORT_LOADED)}` };

const text = async (h: string | (() => Promise<string>)) => `${typeof h === 'string' ? h : await h()}\n`;

/** main() in this process: its exit code and what it printed. */
async function run(args: string[]): Promise<{ code: number; stdout: string }> {
  const printed: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((s: string) => printed.push(`${s}\n`));
  try {
    return { code: await main(args), stdout: printed.join('') };
  } finally {
    vi.restoreAllMocks();
  }
}

describe('hybridgl help', () => {
  it('prints every command\'s and sub-command\'s own help with exit 0', async () => {
    const cases: Array<[string[], string]> = [];
    for (const [name, command] of Object.entries(COMMANDS)) {
      for (const flag of ['--help', '-h']) cases.push([[name, flag], await text(command.help)]);
      cases.push([['help', name], await text(command.help)]);
      for (const [sub, { help }] of Object.entries(command.subcommands ?? {})) {
        cases.push([[name, sub, '--help'], await text(help)], [['help', name, sub], await text(help)]);
      }
    }
    expect(cases.map(([args]) => args.join(' '))).toEqual(expect.arrayContaining(['models fetch --help', 'models convert --help', 'eval report --help']));
    for (const [args, own] of cases) {
      const what = args.join(' ');
      const name = args[0] === 'help' ? args.slice(1) : args.filter((a) => !a.startsWith('-'));
      expect([what, await run(args)]).toEqual([what, { code: 0, stdout: own }]);
      expect(own, what).toMatch(new RegExp(`^usage: hybridgl ${name.join(' ')}[ \\n]`));
    }
    for (const args of [[], ['help'], ['--help'], ['-h']]) {
      const r = await run(args);
      expect([args, r.code]).toEqual([args, 0]);
      for (const name of Object.keys(COMMANDS)) expect(r.stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
    }
    expect(await run(['models'])).toEqual({ code: 0, stdout: await text(COMMANDS.models.help) });
    expect(await text(COMMANDS.models.subcommands!.fetch.help)).not.toMatch(/models convert/);
    expect(await text(COMMANDS.serve.help)).toMatch(new RegExp(`default ${DEFAULT_MAX_PIXELS},`));
  });

  it('as a program: help exits 0 and loads none of the modules that do the work (serve\'s: sharp alone)', async () => {
    for (const args of [['models', 'fetch', '--help'], ['models', 'convert', '--help'], ['segment', '--help'], ['serve', '--help'], ['help']]) {
      const r = await runHybridgl(args, { env });
      expect([args, r.status]).toEqual([args, 0]);
      expect(r.stdout).toMatch(/^usage: hybridgl /);
      const loaded = r.stderr.split('\n').filter((l) => l.startsWith('loaded:')).flatMap((l) => l.slice('loaded:'.length).split(' ').filter(Boolean));
      expect([args, loaded.filter((m) => !(args[0] === 'serve' && m.startsWith('sharp')))]).toEqual([args, []]);
    }
  }, 60_000);

  it('still exits 2 on an unknown option or command, pointing at the command\'s help', async () => {
    for (const [args, usage] of [[['models', 'fetch', '--out', 'x', '--bogus'], 'hybridgl models --help'],
      [['segment', 'a.jpg', 'the dog', '--bogus'], 'hybridgl segment --help'], [['frobnicate', '--help'], 'hybridgl help']] as const) {
      const r = await runHybridgl([...args]);
      expect([args, r.status]).toEqual([args, 2]);
      expect(r.stderr).toMatch(new RegExp(`^hybridgl: .*\\(usage: ${usage}\\)\\n$`));
    }
  }, 60_000);
});
