#!/usr/bin/env node
// The `hybridgl` command. The package runs the compiled CLI (dist/, built by `npm run build`); a clone, where the
// TypeScript source is, runs the source through tsx, so that an edit needs no build.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

import { ALLOCATOR_COMMANDS, allocatorEnv } from './allocatorEnv.js';

// glibc reads its allocator settings only at start-up (bin/allocatorEnv.js says which, why and for which commands),
// so where some are missing the command runs itself once more with them set; signals are passed on.
const added = ALLOCATOR_COMMANDS.includes(process.argv[2]) ? allocatorEnv(process.env, process.platform) : {};
if (Object.keys(added).length > 0) {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit', env: { ...process.env, ...added },
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    } else process.exit(code ?? 1);
  });
} else if (existsSync(new URL('../src/cli/main.ts', import.meta.url))) {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
} else {
  await import('../dist/src/cli/main.js');
}
