#!/usr/bin/env node
// `npm test`: the standalone kernel tests (CUDA against CPU where a GPU is present), the strict type-check, then
// vitest, then one summary line over all of them.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = (cmd, args, opts = {}) => spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
const cuda = (process.env.HYBRIDGL_CUDA ?? 'AUTO').toUpperCase();
const buildDir = join(root, 'build', 'kernels');

let passed = 0, failed = 0, skipped = 0;

const configure = run('cmake', ['-S', root, '-B', buildDir, '-DHYBRIDGL_BUILD_TESTS=ON', `-DHYBRIDGL_CUDA=${cuda}`],
  { stdio: ['ignore', 'ignore', 'inherit'] });
const build = configure.status === 0 ? run('cmake', ['--build', buildDir, '--parallel', '2']) : configure;
if (build.status !== 0) {
  console.error('kernel tests: build failed');
  failed++;
} else {
  const ct = spawnSync(join(buildDir, 'kernel_tests'), [], { cwd: root, encoding: 'utf8' });
  process.stdout.write(ct.stdout ?? '');
  process.stderr.write(ct.stderr ?? '');
  const m = /(\d+) passed, (\d+) failed, (\d+) skipped/.exec(ct.stdout ?? '');
  if (m) {
    passed += +m[1], failed += +m[2], skipped += +m[3];
  }
  if (ct.status !== 0 || !m) failed += m ? 0 : 1;
}

// The TypeScript must type-check (strict) before its tests count.
const tsc = run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '-p', root]);
if (tsc.status === 0) passed++;
else {
  console.error('typecheck: tsc --noEmit failed');
  failed++;
}

const dir = mkdtempSync(join(tmpdir(), 'hybridgl-vitest-'));
const report = join(dir, 'report.json');
const vt = run(process.execPath, [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run',
  '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)]);
try {
  const r = JSON.parse(readFileSync(report, 'utf8'));
  passed += r.numPassedTests, failed += r.numFailedTests, skipped += r.numPendingTests + r.numTodoTests;
  if (vt.status !== 0 && r.numFailedTests === 0) failed++; // a suite that failed to load
} catch {
  failed++;
}
rmSync(dir, { recursive: true, force: true });
console.log(`\nall tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed || vt.status ? 1 : 0);
