#!/usr/bin/env node
// The `hybridgl` command: runs the TypeScript CLI through tsx.
import { spawn } from 'node:child_process';

import { allocatorEnv } from './allocatorEnv.js';

// glibc reads its allocator settings only at start-up (bin/allocatorEnv.js says which and why), so where some are
// missing the command runs itself once more with them set; signals are passed on.
const added = allocatorEnv(process.env, process.platform);
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
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli.ts');
}
