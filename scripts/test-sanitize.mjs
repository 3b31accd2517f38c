#!/usr/bin/env node
// `npm run test:sanitize`: the standalone kernel tests built with ASan + UBSan (CPU kernels, -O1, unvectorised) in
// their own build directory, halting on the first error.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const buildDir = join(root, 'build', 'sanitize');
const run = (cmd, args, opts = {}) => spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });

const configure = run('cmake', ['-S', root, '-B', buildDir, '-DHYBRIDGL_BUILD_TESTS=ON', '-DHYBRIDGL_CUDA=OFF',
  '-DHYBRIDGL_SANITIZE=ON'], { stdio: ['ignore', 'ignore', 'inherit'] });
const build = configure.status === 0 ? run('cmake', ['--build', buildDir, '--target', 'kernel_tests', '--parallel', '2'])
  : configure;
if (build.status !== 0) {
  console.error('sanitized kernel tests: build failed');
  process.exit(1);
}
const env = {
  ...process.env,
  ASAN_OPTIONS: 'halt_on_error=1:abort_on_error=0:detect_leaks=1:strict_string_checks=1',
  UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1',
};
const t = run(join(buildDir, 'kernel_tests'), [], { env });
if (t.status !== 0) console.error(`sanitized kernel tests: failed (exit ${t.status ?? t.signal})`);
process.exit(t.status ?? 1);
