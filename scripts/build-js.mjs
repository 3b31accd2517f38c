#!/usr/bin/env node
// `npm run build` (and `prepare`, which npm runs on a clone's `npm install`, a git install and `npm pack`): compiles
// src/ and bindings/ to ESM JavaScript with declarations and source maps under dist/ (tsconfig.build.json), then copies
// the files the code reads beside itself at run time (the service's web page).
import { spawnSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
// Run-time assets, relative to the root: each is copied to the same place under dist/.
const ASSETS = ['src/serve/page'];

rmSync(dist, { recursive: true, force: true }); // no output left from a source file since removed
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit', cwd: root });
if (r.status !== 0) {
  console.error('hybridgl: the TypeScript build failed (tsc -p tsconfig.build.json)');
  process.exit(r.status ?? 1);
}
for (const asset of ASSETS) cpSync(join(root, asset), join(dist, asset), { recursive: true });
