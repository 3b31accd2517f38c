// Peak RSS of `hybridgl segment` against image size on given models: fits RSS = base + b·pixels (least squares)
// over a few synthetic photos (assets/demo.jpg upscaled), the figures behind src/pipeline/imageBudget.ts.
// usage: npx tsx bench/perf/measure_image_memory.ts --models DIR [--sides 1000,2000,4000] [--vocab F] [--out-dir DIR]
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import sharp from 'sharp';

const root = join(import.meta.dirname, '..', '..');
const { values } = parseArgs({
  options: { models: { type: 'string' }, sides: { type: 'string' }, vocab: { type: 'string' }, 'out-dir': { type: 'string' },
    expression: { type: 'string' } },
});
if (!values.models) throw new Error('--models DIR is required');
const sides = (values.sides ?? '1000,2000,4000').split(',').map(Number);
const dir = values['out-dir'] ?? join(root, 'build', 'memory');
mkdirSync(dir, { recursive: true });

const rows: Array<{ side: number; pixels: number; proposals: number; rssBytes: number }> = [];
for (const side of sides) {
  const image = join(dir, `photo-${side}.png`);
  await sharp(join(root, 'assets', 'demo.jpg')).resize(side, side, { fit: 'fill' }).png({ compressionLevel: 1 }).toFile(image);
  const args = ['-f', '%M', process.execPath, join(root, 'bin', 'hybridgl.js'), 'segment', image,
    values.expression ?? 'the dog on the left', '--models', values.models, '--max-pixels', String(side * side),
    '--json', join(dir, `result-${side}.json`), ...(values.vocab ? ['--vocab', values.vocab] : [])];
  const r = spawnSync('/usr/bin/time', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`segment ${side}² failed: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  const rssBytes = Number(lines[lines.length - 1]) * 1024; // GNU time %M: max RSS in KiB
  const proposals = Number(/(\d+) proposals/.exec(r.stderr)?.[1] ?? NaN);
  rows.push({ side, pixels: side * side, proposals, rssBytes });
  console.log(`${side}²: ${proposals} proposals, peak RSS ${(rssBytes / 2 ** 20).toFixed(0)} MiB`);
}
const n = rows.length, mx = rows.reduce((s, r) => s + r.pixels, 0) / n, my = rows.reduce((s, r) => s + r.rssBytes, 0) / n;
const slope = rows.reduce((s, r) => s + (r.pixels - mx) * (r.rssBytes - my), 0) / rows.reduce((s, r) => s + (r.pixels - mx) ** 2, 0);
console.log(JSON.stringify({ rows, bytesPerPixel: +slope.toFixed(1), baseBytes: Math.round(my - slope * mx) }));
