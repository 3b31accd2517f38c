// `npm run bench`: runs every bench/*.bench.ts (or those whose name contains an argument) and prints their tables.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { backendInfo } from '../src/index.ts';

const here = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const all = readdirSync(here).filter((f) => f.endsWith('.bench.ts')).sort();
const files = all.filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));
// A filter that names no benchmark is a typo, not an empty run.
const unmatched = filters.filter((x) => !all.some((f) => f.includes(x)));
if (unmatched.length > 0) {
  console.error(`hybridgl bench --kernels: no benchmark matches ${unmatched.map((x) => `'${x}'`).join(', ')} ` +
    `(have: ${all.map((f) => f.replace('.bench.ts', '')).join(', ')})`);
  process.exit(2);
}

console.log(`hybridgl bench — backend ${JSON.stringify(backendInfo())}, node ${process.version}`);
for (const f of files) {
  console.log(`\n## ${f.replace('.bench.ts', '')}`);
  const mod = await import(pathToFileURL(join(here, f)).href);
  await mod.default();
}
