import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const cli = (args: string[], input?: string) =>
  spawnSync(process.execPath, [join(root, 'bin', 'hybridgl.js'), ...args], { encoding: 'utf8', input, cwd: root });

describe('hybridgl command line', () => {
  it('prints help and backend info', () => {
    const help = cli(['help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/segment <image>/);
    const info = cli(['info']);
    expect(info.status).toBe(0);
    expect(JSON.parse(info.stdout).backend).toHaveProperty('cuda');
  });

  it('exits 2 on usage errors and 4 on missing models', () => {
    expect(cli(['frobnicate']).status).toBe(2);
    const noModels = cli(['segment', 'assets/demo.jpg', 'the dog']);
    expect(noModels.status).toBe(2);
    expect(noModels.stderr).toMatch(/--models DIR is required/);
    expect(cli(['segment', 'assets/demo.jpg', '--models', 'models']).status).toBe(2);
    const missing = cli(['segment', 'assets/demo.jpg', 'the dog', '--models', '/no/such/dir']);
    expect(missing.status).toBe(4);
    expect(missing.stderr).toMatch(/manifest\.json missing/);
    expect(cli(['eval', '--data', '/x']).status).toBe(2);
  });

  it('prints its version and every command\'s help with exit 0', () => {
    const version = cli(['--version']);
    expect(version.status).toBe(0);
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version);
    for (const args of [['segment', '--help'], ['eval', '--help'], ['eval', 'merge', '--help'], ['eval', 'report', '--help'],
      ['bench', '--help'], ['synth-refer', '--help'], ['info', '--help'], ['segment', '-h'], ['help']]) {
      const r = cli(args);
      expect(r.status, args.join(' ')).toBe(0);
      expect(r.stdout, args.join(' ')).toMatch(new RegExp(`^usage: hybridgl ${args[0] === 'help' ? '<command>' : args[0]}`));
    }
    expect(cli(['eval', 'merge', '--help']).stdout).toMatch(/incomplete, missing, given twice/);
  });

  it('reports a usage error in one line without a stack trace and leaves nothing behind', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hybridgl-cli-'));
    try {
      const out = join(dir, 'run');
      for (const extra of [['--split', 'bogus'], ['--split', 'testA', '--fusion', 'G3L'], ['--split', 'val', '--max-pixels', '0'],
        ['--split', 'val', '--shard', '3/2']]) {
        const r = cli(['eval', '--data', dir, '--dataset', 'refcoco', '--models', '/no/models', '--out', out, ...extra]);
        expect(r.status, extra.join(' ')).toBe(2);
        expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
        expect(r.stderr).not.toMatch(/\n\s+at /);
        expect(existsSync(out)).toBe(false);
      }
      expect(cli(['eval', '--data', dir, '--dataset', 'refcoco', '--models', 'x', '--out', out, '--split', 'bogus']).stderr)
        .toMatch(/^hybridgl: --split must be one of train, val, test, testA, testB.* \(got 'bogus'\) \(usage: hybridgl eval --help\)\n$/);
      const bad = cli(['segment', 'x.jpg', 'the dog', '--models', 'm', '--max-pixels', 'lots']);
      expect(bad.status).toBe(2);
      expect(bad.stderr).toMatch(/--max-pixels must be a positive integer, got NaN/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('npm commands give no warning about the project config (no onnxruntime flag in .npmrc)', () => {
    const r = spawnSync('npm', ['pkg', 'get', 'name'], { encoding: 'utf8', cwd: root });
    expect(r.status).toBe(0);
    expect(r.stderr).not.toMatch(/Unknown project config/);
    // What keeps onnxruntime-node's download script off instead (npm ≥ 11: allowScripts; CI also sets the env var).
    expect(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).allowScripts['onnxruntime-node']).toBe(false);
  });

  it('writes a deterministic synthetic REFER dataset', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hybridgl-cli-'));
    try {
      const r = cli(['synth-refer', dir]);
      expect(r.status).toBe(0);
      expect(existsSync(join(dir, 'refcoco', 'refs(unc).p'))).toBe(true);
      expect(JSON.parse(readFileSync(join(dir, 'refcoco', 'instances.json'), 'utf8')).images.length).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
