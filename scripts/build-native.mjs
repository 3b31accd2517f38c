#!/usr/bin/env node
// Install step: use a prebuilt addon for this platform when one ships (prebuildify), else compile with cmake-js.
// --force always compiles, from a clean build directory. HYBRIDGL_CUDA=ON|OFF|AUTO is passed to CMake (AUTO: CUDA whenever nvcc is found).
// --out DIR sets cmake-js's build directory (default build/); --copy-to DIR copies the built addon there (the
// binding.gyp that prebuildify drives uses both, so that cmake and node-gyp keep separate directories).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const argValue = (name) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const force = process.argv.includes('--force') || process.env.HYBRIDGL_BUILD_FROM_SOURCE === '1';
const outDir = join(root, argValue('--out') ?? 'build');
const copyTo = argValue('--copy-to');
const prebuildDir = join(root, 'prebuilds', `${process.platform}-${process.arch}`);

if (!force && existsSync(prebuildDir) && readdirSync(prebuildDir).some((f) => f.endsWith('.node'))) {
  console.log(`hybridgl: using the prebuilt addon in ${prebuildDir}`);
  process.exit(0);
}

const cuda = (process.env.HYBRIDGL_CUDA ?? 'AUTO').toUpperCase();
if (!['AUTO', 'ON', 'OFF'].includes(cuda)) {
  console.error(`hybridgl: HYBRIDGL_CUDA must be AUTO, ON or OFF, got '${process.env.HYBRIDGL_CUDA}'`);
  process.exit(1);
}
// cmake-js is found as Node finds a dependency (a consumer's npm hoists it beside this package, a clone nests it).
const cmakeJsPackage = createRequire(join(root, 'package.json')).resolve('cmake-js/package.json');
const cmakeJs = join(dirname(cmakeJsPackage), JSON.parse(readFileSync(cmakeJsPackage, 'utf8')).bin['cmake-js']);
// package.json's binary.napi_versions makes cmake-js use the node-api-headers package: nothing is downloaded.
// --force reconfigures from scratch (rebuild), so that a changed HYBRIDGL_CUDA takes effect in an existing build dir.
const args = [cmakeJs, force ? 'rebuild' : 'compile', '--directory', root, '--out', outDir, `--CDHYBRIDGL_CUDA=${cuda}`];
if (process.env.CMAKE_BUILD_PARALLEL_LEVEL === undefined) process.env.CMAKE_BUILD_PARALLEL_LEVEL = '2';
console.log(`hybridgl: building the native addon (CUDA ${cuda})`);
const r = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: root });
if (r.status !== 0) {
  console.error('hybridgl: native build failed; see the output above (needs cmake >= 3.18 and a C++17 compiler)');
  process.exit(r.status ?? 1);
}
if (copyTo) {
  mkdirSync(copyTo, { recursive: true });
  copyFileSync(join(outDir, 'Release', 'hybridgl.node'), join(copyTo, 'hybridgl.node'));
}
