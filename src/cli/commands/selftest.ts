// `hybridgl selftest`: each CUDA kernel family against its CPU version (src/diagnostics/selftest.ts).
import { parseArgs } from 'node:util';

import { usage, type Command } from '../command.ts';
import { EXIT } from '../errors.ts';

const SUMMARY = `  selftest [--json]
      Runs each CUDA kernel family against its CPU version and prints the table; exit 1 on a mismatch.`;

export const selftestCommand: Command = { summary: SUMMARY, help: usage('selftest', SUMMARY), run: runSelftest };

async function runSelftest(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { json: { type: 'boolean' } } });
  const { runSelfTestReport, formatSelfTest } = await import('../../diagnostics/selftest.ts');
  const report = runSelfTestReport();
  console.log(values.json ? JSON.stringify(report, null, 2) : formatSelfTest(report));
  return report.failed ? EXIT.failure : EXIT.ok;
}
