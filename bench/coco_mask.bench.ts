// COCO mask API at realistic sizes (50–200 masks of 480×640): RLE encode/decode, polygon rasterisation, RLE IoU
// and dense IoU, against pycocotools run in a Python subprocess when a local build is found
// (HYBRIDGL_PYCOCOTOOLS=<dir holding the pycocotools package>, default /tmp/cocoapi/PythonAPI).
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { maskIoU, rleDecodeBatch, rleEncodeBatch, rleFromPolygons, rleIoU } from '../src/index.ts';
import { randomMasks, rng } from '../test/helpers.ts';
import { printTable, runPython, timeIt } from './timing.ts';

const H = 480, W = 640;
const REPS = 9;

// Times the same operations through pycocotools, fastest of 9 runs like ours; prints {op: seconds} as JSON. Encode is timed from the
// column-major (Fortran) array pycocotools wants, so the conversion from row-major is not counted against it.
const PYTHON = String.raw`
import json, sys, time
import numpy as np
sys.path.insert(0, sys.argv[1])
from pycocotools import mask as M
d = sys.argv[2]; n = int(sys.argv[3]); h, w = int(sys.argv[4]), int(sys.argv[5])
masks = np.fromfile(d + '/masks.bin', dtype=np.uint8).reshape(n, h, w)
fortran = np.asfortranarray(masks.transpose(1, 2, 0))
polys = json.load(open(d + '/polys.json'))
def timed(fn, reps=9):
    fn(); ts = []
    for _ in range(reps):
        t0 = time.perf_counter(); fn(); ts.append(time.perf_counter() - t0)
    return min(ts)
rles = M.encode(fortran)
crowd = [0] * n
out = {
    'encode': timed(lambda: M.encode(fortran)),
    'encode incl. to column-major': timed(lambda: M.encode(np.asfortranarray(masks.transpose(1, 2, 0)))),
    'decode': timed(lambda: M.decode(rles)),
    'polygons': timed(lambda: M.frPyObjects(polys, h, w)),
    'rleIoU': timed(lambda: M.iou(rles, rles, crowd)),
}
print(json.dumps(out))
`;

function pycocotoolsDir(): string | null {
  const dir = process.env.HYBRIDGL_PYCOCOTOOLS ?? '/tmp/cocoapi/PythonAPI';
  return existsSync(join(dir, 'pycocotools')) ? dir : null;
}

function polygons(n: number, seed: number): number[][] {
  const r = rng(seed);
  return Array.from({ length: n }, () => {
    const cx = r() * W, cy = r() * H, k = 12 + Math.floor(r() * 20);
    const poly: number[] = [];
    for (let i = 0; i < k; i++) {
      const a = (2 * Math.PI * i) / k, rad = (0.1 + 0.3 * r()) * H;
      poly.push(+(cx + rad * Math.cos(a)).toFixed(2), +(cy + rad * Math.sin(a)).toFixed(2));
    }
    return poly;
  });
}

export default async function bench(): Promise<void> {
  const pyDir = pycocotoolsDir();
  const rows: Array<Array<string | number>> = [];
  for (const n of [50, 200]) {
    const masks = randomMasks(n, H, W, n, 0);
    const polys = polygons(n, n + 1);
    const rles = rleEncodeBatch(masks, n, H, W);
    const crowd = new Array<boolean>(n).fill(false);
    const ours: Record<string, number> = {
      encode: await timeIt(() => rleEncodeBatch(masks, n, H, W), REPS, true),
      decode: await timeIt(() => rleDecodeBatch(rles), REPS, true),
      polygons: await timeIt(() => rleFromPolygons(polys, H, W), REPS, true),
      rleIoU: await timeIt(() => rleIoU(rles, rles, crowd), REPS, true),
      'dense maskIoU': await timeIt(() => maskIoU(masks, masks, H, W), 3, true),
    };
    let theirs: Record<string, number> = {};
    if (pyDir) {
      const dir = mkdtempSync(join(tmpdir(), 'hybridgl-bench-'));
      writeFileSync(join(dir, 'masks.bin'), masks);
      writeFileSync(join(dir, 'polys.json'), JSON.stringify(polys));
      const out = runPython(PYTHON, [pyDir, dir, String(n), String(H), String(W)]);
      rmSync(dir, { recursive: true, force: true });
      if (out) theirs = JSON.parse(out);
    }
    for (const [op, t] of Object.entries(ours)) {
      const name = op === 'rleIoU' || op === 'dense maskIoU' ? `${op} ${n}×${n}` : op;
      const py = theirs[op];
      rows.push([name, n, t * 1e3, n / t, py ? n / py : '-', py ? py / t : '-']);
    }
    const conv = theirs['encode incl. to column-major'];
    if (conv) rows.push(['(pycocotools encode incl. to column-major)', n, '-', '-', n / conv, conv / ours.encode]);
  }
  if (!pyDir) console.log('pycocotools not found (set HYBRIDGL_PYCOCOTOOLS): our figures only');
  printTable(['op (480×640)', 'masks', 'ms', 'masks/s', 'pycocotools masks/s', 'ours/theirs ×'], rows);
}
