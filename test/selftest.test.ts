// The kernel self-test as the JS side sees it: per-family routing in backendInfo(), the on-demand table, the
// `hybridgl selftest` command, and the failure report (the routing itself is covered with a stand-in backend in
// native/tests/selftest_test.cc).
import { describe, expect, it } from 'vitest';

import { backendInfo, KERNEL_FAMILIES, selfTest, selfTestFailed, type FamilyStatus } from '../bindings/backend.ts';
import { formatSelfTest } from '../src/diagnostics/selftest.ts';
import { runHybridgl } from './runProcess.ts';

const cli = (args: string[], env: Record<string, string> = {}) => runHybridgl(args, { env: { ...process.env, ...env } });

describe('backendInfo families', () => {
  it('lists every kernel family once, in order, routed where the device says', () => {
    const info = backendInfo();
    expect(info.families.map((f) => f.family)).toEqual([...KERNEL_FAMILIES]);
    for (const f of info.families) {
      if (!info.cuda) expect([f.backend, f.result]).toEqual(['cpu', 'cpu']);
      else expect(f.backend === 'cuda' ? ['pass', 'skipped'] : ['mismatch', 'error']).toContain(f.result);
    }
  });
});

describe('selfTest()', () => {
  it('runs every family and reports a finite time; without a GPU nothing can fail', () => {
    const table = selfTest();
    expect(table.map((f) => f.family)).toEqual([...KERNEL_FAMILIES]);
    for (const f of table) expect(Number.isFinite(f.ms) && f.ms >= 0).toBe(true);
    if (!backendInfo().cuda) {
      expect(selfTestFailed(table)).toBe(false);
      for (const f of table) expect(f.detail).toBe(backendInfo().reason);
    }
  });

  it('a mismatch or an error in any family marks the table failed and is named in the report', () => {
    const pass: FamilyStatus[] = KERNEL_FAMILIES.map((family) => ({ family, backend: 'cuda', result: 'pass', ms: 0.1 }));
    expect(selfTestFailed(pass)).toBe(false);
    const bad = pass.map((f) => f.family === 'heatmap'
      ? { ...f, backend: 'cpu' as const, result: 'mismatch' as const, detail: 'resize up[3] = 0.5, CPU 0.25' } : f);
    expect(selfTestFailed(bad)).toBe(true);
    const text = formatSelfTest({ device: 'Test GPU', cudaCompiled: true, families: bad, failed: true });
    expect(text).toMatch(/^heatmap +cpu +mismatch +0\.10 +resize up\[3\]/m);
    expect(text).toMatch(/FAILED/);
    expect(selfTestFailed(pass.map((f) => (f.family === 'rle' ? { ...f, result: 'error' as const } : f)))).toBe(true);
  });
});

describe('hybridgl selftest', () => {
  it('prints one row per family and exits 0 when nothing differs', async () => {
    const r = await cli(['selftest']);
    expect(r.status, r.stderr).toBe(0);
    for (const f of KERNEL_FAMILIES) expect(r.stdout).toMatch(new RegExp(`^${f} `, 'm'));
    expect(r.stdout).toMatch(/^device: /);
  });

  it('--json gives the same table as data; HYBRIDGL_SELFTEST=0 leaves the on-demand test alone', async () => {
    const r = await cli(['selftest', '--json'], { HYBRIDGL_SELFTEST: '0' });
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.families.map((f: FamilyStatus) => f.family)).toEqual([...KERNEL_FAMILIES]);
    expect(report.failed).toBe(false);
  });
});
