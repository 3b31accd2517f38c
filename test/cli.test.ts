import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { runHybridgl, runProcess } from './runProcess.ts';

const root = join(import.meta.dirname, '..');
const cli = (args: string[]) => runHybridgl(args);

describe('hybridgl command line', () => {
  it('prints help and backend info', async () => {
    const help = await cli(['help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/segment <image>/);
    const info = await cli(['info']);
    expect(info.status).toBe(0);
    expect(JSON.parse(info.stdout).backend).toHaveProperty('cuda');
  });

  it('exits 2 on usage errors and 4 on missing models', async () => {
    expect((await cli(['frobnicate'])).status).toBe(2);
    const noModels = await cli(['segment', 'assets/demo.jpg', 'the dog']);
    expect(noModels.status).toBe(2);
    expect(noModels.stderr).toMatch(/--models DIR is required/);
    expect((await cli(['segment', 'assets/demo.jpg', '--models', 'models'])).status).toBe(2);
    const missing = await cli(['segment', 'assets/demo.jpg', 'the dog', '--models', '/no/such/dir']);
    expect(missing.status).toBe(4);
    expect(missing.stderr).toMatch(/manifest\.json missing/);
    expect((await cli(['eval', '--data', '/x'])).status).toBe(2);
  });

  it('prints its version and every command\'s help with exit 0', async () => {
    const version = await cli(['--version']);
    expect(version.status).toBe(0);
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version);
    for (const args of [['segment', '--help'], ['eval', '--help'], ['eval', 'merge', '--help'], ['eval', 'report', '--help'],
      ['bench', '--help'], ['synth-refer', '--help'], ['info', '--help'], ['segment', '-h'], ['help']]) {
      const r = await cli(args);
      expect(r.status, args.join(' ')).toBe(0);
      expect(r.stdout, args.join(' ')).toMatch(new RegExp(`^usage: hybridgl ${args[0] === 'help' ? '<command>' : args[0]}`));
    }
    expect((await cli(['eval', 'merge', '--help'])).stdout).toMatch(/incomplete, missing, given twice/);
  });

  it('reports a usage error in one line without a stack trace and leaves nothing behind', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hybridgl-cli-'));
    try {
      const out = join(dir, 'run');
      for (const extra of [['--split', 'bogus'], ['--split', 'testA', '--fusion', 'G3L'], ['--split', 'val', '--max-pixels', '0'],
        ['--split', 'val', '--shard', '3/2']]) {
        const r = await cli(['eval', '--data', dir, '--dataset', 'refcoco', '--models', '/no/models', '--out', out, ...extra]);
        expect(r.status, extra.join(' ')).toBe(2);
        expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
        expect(r.stderr).not.toMatch(/\n\s+at /);
        expect(existsSync(out)).toBe(false);
      }
      expect((await cli(['eval', '--data', dir, '--dataset', 'refcoco', '--models', 'x', '--out', out, '--split', 'bogus'])).stderr)
        .toMatch(/^hybridgl: --split must be one of train, val, test, testA, testB.* \(got 'bogus'\) \(usage: hybridgl eval --help\)\n$/);
      const bad = await cli(['segment', 'x.jpg', 'the dog', '--models', 'm', '--max-pixels', 'lots']);
      expect(bad.status).toBe(2);
      expect(bad.stderr).toMatch(/--max-pixels must be a positive integer, got NaN/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('shows an error as one message naming its input, exit 3 for a path it cannot use; the stack only with --debug', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hybridgl-cli-'));
    try {
      const file = join(dir, 'a-file');
      writeFileSync(file, 'not a directory');
      const target = join(file, 'sub');
      const plain = await cli(['synth-refer', target]);
      expect([plain.status, plain.stderr]).toEqual([3, expect.stringMatching(new RegExp(`^hybridgl: ENOTDIR: not a directory, mkdir '${target}`))]);
      expect(plain.stderr.trim().split('\n')).toHaveLength(1);
      expect(plain.stderr).not.toMatch(/\n\s+at /);
      for (const [args, env] of [[['--debug', 'synth-refer', target], {}], [['synth-refer', target, '--debug'], {}], [['synth-refer', target], { HYBRIDGL_DEBUG: '1' }]] as const) {
        const debug = await runHybridgl([...args], { env: { ...process.env, ...env } });
        expect([args, debug.status]).toEqual([args, 3]);
        expect(debug.stderr).toMatch(/\n\s+at .*synthRefer\.ts/);
      }
      // An error of no known kind: exit 1, its message, and where the stack is.
      const unknown = await cli(['eval', 'report', join(dir, 'no-run')]);
      expect([unknown.status, unknown.stderr.trim().split('\n').length]).toEqual([1, 1]);
      expect(unknown.stderr).toMatch(/no-run.*\(--debug or HYBRIDGL_DEBUG=1 shows where\)$/m);
      const fetchFrom = await cli(['models', 'fetch', '--out', join(dir, 'models'), '--from', join(dir, 'nowhere')]);
      expect([fetchFrom.status, fetchFrom.stderr]).toEqual([4, expect.stringMatching(/--from .*nowhere is neither a directory nor an http\(s\) URL/)]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('npm commands give no warning about the project config (no onnxruntime flag in .npmrc)', async () => {
    const r = await runProcess('npm', ['pkg', 'get', 'name'], { cwd: root });
    expect(r.status).toBe(0);
    expect(r.stderr).not.toMatch(/Unknown project config/);
    // What keeps onnxruntime-node's download script off instead (npm ≥ 11: allowScripts; CI also sets the env var).
    expect(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).allowScripts['onnxruntime-node']).toBe(false);
  });

  it('writes a deterministic synthetic REFER dataset', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hybridgl-cli-'));
    try {
      const r = await cli(['synth-refer', dir]);
      expect(r.status).toBe(0);
      expect(existsSync(join(dir, 'refcoco', 'refs(unc).p'))).toBe(true);
      expect(JSON.parse(readFileSync(join(dir, 'refcoco', 'instances.json'), 'utf8')).images.length).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs the native micro-benchmarks a filter names with bench --kernels, and refuses a filter naming none', async () => {
    const r = await cli(['bench', '--kernels', 'tokenizer']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^## tokenizer$/m);
    expect(r.stdout).not.toMatch(/^## sam_post$/m);
    expect(r.stdout).toMatch(/texts\/s/);
    const typo = await cli(['bench', '--kernels', 'tokeniser', 'tokenizer']);
    expect(typo.status).toBe(2);
    expect(typo.stderr).toMatch(/no benchmark matches 'tokeniser' \(have: .*tokenizer/);
    expect(typo.stdout).not.toMatch(/## tokenizer/);
  });
});
