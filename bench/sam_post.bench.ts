// SAM post-processing of 64 points × 3 masks (spec §2) against segment-anything's own Python path on CPU
// (SamAutomaticMaskGenerator.generate with the decoder replaced by the same logits), when HYBRIDGL_SAM_REPO names a
// segment-anything checkout.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { postprocessSamMasks } from '../src/index.ts';
import { rng } from '../test/helpers.ts';
import { printTable, runPython, timeIt } from './timing.ts';

const LOW = 256;
const POINTS_PER_SIDE = 8;
const FIXTURE_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '..', 'scripts', 'fixtures', 'make_sam_post.py');

/** Decoder-like outputs: an elliptic blob per map (sometimes with a hole or an island) plus noise; IoUs 0.6–1. */
export function decoderOutputs(points: number, seed: number) {
  const r = rng(seed);
  const logits = new Float32Array(points * 3 * LOW * LOW);
  const iou = new Float32Array(points * 3);
  for (let k = 0; k < points * 3; k++) {
    const cy = 30 + r() * 196, cx = 30 + r() * 196, ry = 8 + r() * 60, rx = 8 + r() * 60, slope = 0.5 + r() * 2;
    const hy = cy + (r() - 0.5) * ry, hx = cx + (r() - 0.5) * rx, iy = r() * LOW, ix = r() * LOW;
    const off = k * LOW * LOW;
    for (let y = 0; y < LOW; y++)
      for (let x = 0; x < LOW; x++) {
        const d = Math.sqrt(((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2);
        let v = slope * (1 - d) * Math.min(ry, rx) + (r() - 0.5) * 0.6;
        if ((y - hy) ** 2 + (x - hx) ** 2 < 6) v = -6;
        if ((y - iy) ** 2 + (x - ix) ** 2 < 6) v = 6;
        logits[off + y * LOW + x] = v;
      }
    iou[k] = 0.6 + 0.4 * r();
  }
  return { logits, iou };
}

// Times SamAutomaticMaskGenerator.generate on the same decoder outputs; prints "<median seconds> <kept>".
const PYTHON = `
import importlib.util, sys, time
import numpy as np, torch
spec = importlib.util.spec_from_file_location('make_sam_post', sys.argv[1])
mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
h, w, pps, reps = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
raw = np.fromfile(sys.argv[2], np.float32)
n = pps * pps * 3
logits = torch.from_numpy(raw[:n * 65536].reshape(pps * pps, 3, 256, 256).copy())
iou = raw[n * 65536:].reshape(pps * pps, 3).copy()
torch.set_num_threads(2)
gen = mod.make_generator(logits, iou, pps)
image = np.zeros((h, w, 3), np.uint8)
times = []
for _ in range(reps):
    t0 = time.perf_counter(); out = gen.generate(image); times.append(time.perf_counter() - t0)
print(sorted(times)[len(times) // 2], len(out))
`;

export default async function bench(): Promise<void> {
  const repo = process.env.HYBRIDGL_SAM_REPO;
  const points = POINTS_PER_SIDE * POINTS_PER_SIDE;
  const { logits, iou } = decoderOutputs(points, 42);
  const dir = mkdtempSync(join(tmpdir(), 'hybridgl-sampost-'));
  const rows: Array<Array<string | number>> = [];
  try {
    const file = join(dir, 'decoder.f32');
    writeFileSync(file, Buffer.concat([Buffer.from(logits.buffer), Buffer.from(iou.buffer)]));
    for (const [h, w] of [[480, 640], [1024, 1024]]) {
      const input = { lowResLogits: logits, iouPredictions: iou, points, height: h, width: w };
      const kept = postprocessSamMasks(input).count;
      const ours = await timeIt(() => postprocessSamMasks(input), 5);
      let ref = NaN, refKept: number | string = '-';
      if (repo) {
        const out = runPython(PYTHON, [FIXTURE_SCRIPT, file, String(h), String(w), String(POINTS_PER_SIDE), '3']);
        if (out) [ref, refKept] = out.trim().split(/\s+/).map(Number);
      }
      rows.push([`${h}×${w}`, `${points}×3`, `${kept}/${refKept}`, ours * 1e3, repo ? ref * 1e3 : '-',
        repo ? ref / ours : '-']);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  printTable(['image', 'proposals', 'kept (ours/ref)', 'ours ms', 'segment-anything ms', 'ratio'], rows);
}
