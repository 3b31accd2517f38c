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
