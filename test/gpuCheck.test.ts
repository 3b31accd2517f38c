// scripts/gpu-check.sh --dry-run: every step of the GPU check runs on the CPU and writes what the real run writes.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { KERNEL_FAMILIES } from '../bindings/backend.ts';
import { runProcess } from './runProcess.ts';

const root = join(import.meta.dirname, '..');
const out = mkdtempSync(join(tmpdir(), 'hybridgl-gpucheck-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));
// npm test has built the kernel tests in build/kernels already; reuse it rather than compile twice.
const build = existsSync(join(root, 'build', 'kernels', 'CMakeCache.txt')) ? join(root, 'build', 'kernels') : join(out, 'build');
const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

describe('gpu-check.sh --dry-run', () => {
  it('builds, runs the kernel tests, the self-test, the bench and the backbone timing, and summarises', async () => {
    const r = await runProcess('bash', [join(root, 'scripts', 'gpu-check.sh'), '--dry-run', '--build-dir', build, '--python', python, out],
      { cwd: root });
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(readFileSync(join(out, 'gpu-check.json'), 'utf8'));
    expect(report.kernel_tests.failed).toBe(0);
    expect(report.kernel_tests.passed).toBeGreaterThan(20);
    expect(report.selftest.families.map((f: { family: string }) => f.family)).toEqual([...KERNEL_FAMILIES]);
    const ops = new Set(report.kernel_bench.rows.map((row: { op: string }) => row.op));
    for (const op of ['mask IoU n×n', 'rle encode', 'sam upscale+threshold', 'clip inputs 224²', 'gaussian blur 15×15']) {
      expect(ops.has(op), op).toBe(true);
    }
    const backbones = readFileSync(join(out, 'logs', 'backbones.log'), 'utf8');
    if (/no torch: backbone timing skipped/.test(backbones)) return;
    const stages = report.backbones.rows.map((row: { stage: string; precision: string }) => `${row.stage} ${row.precision}`);
    for (const s of ['sam_encoder[vit_b]', 'sam_decoder_64[vit_b]', 'clip_trunk_2n', 'clip_head_g2l_n', 'clip_text', 'gem_visual']) {
      expect(stages).toContain(`${s} fp32`);
      expect(stages).toContain(`${s} bf16`);
    }
    expect(report.projection.rows.length).toBe(2);
    expect(readFileSync(join(out, 'gpu-check.md'), 'utf8')).toMatch(/projected RefCOCO val/);
  }, 600_000);
});
