// Child processes for tests, run asynchronously: a test worker blocked in spawnSync cannot answer vitest's RPC, and a
// long CLI run then fails the whole file with "Timeout calling onTaskUpdate".
import { spawn } from 'node:child_process';
import { join } from 'node:path';

export interface ProcessResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface ProcessOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: string;
}

export function runProcess(command: string, args: string[], options: ProcessOptions = {}): Promise<ProcessResult> {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env });
  let stdout = '', stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  child.stdin.on('error', () => {}); // a child that exits before reading its input
  child.stdin.end(options.input ?? '');
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}

const ROOT = join(import.meta.dirname, '..');

/** bin/hybridgl.js with these arguments, from the repository root unless told otherwise. */
export function runHybridgl(args: string[], options: ProcessOptions = {}): Promise<ProcessResult> {
  return runProcess(process.execPath, [join(ROOT, 'bin', 'hybridgl.js'), ...args], { cwd: ROOT, ...options });
}
