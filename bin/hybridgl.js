#!/usr/bin/env node
// The `hybridgl` command: runs the TypeScript CLI through tsx.
import { spawn } from 'node:child_process';

// Memory (README, Performance): glibc gives each thread that runs a model call its own malloc arena, and each arena
// keeps what its largest call freed; at full size that adds up to gigabytes. glibc reads MALLOC_ARENA_MAX only at
// start-up, so on Linux the command runs itself once more with it set (unless it is set already; signals are passed on).
if (process.platform === 'linux' && process.env.MALLOC_ARENA_MAX === undefined) {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit', env: { ...process.env, MALLOC_ARENA_MAX: '2' },
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
