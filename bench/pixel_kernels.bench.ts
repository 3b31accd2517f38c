// Per-pixel kernels (blur, CLIP inputs, 14×14 mask grid, coherence scores) against the reference's own CPU path:
// a Python re-enactment of HybridGL's per-mask loops with cv2/torch/torchvision (Debian's python3). Times are
// CPU time (all threads) per call, both sides: the 2-core machine is shared, so wall time mostly measures load.
import {
  buildClipInputs,
  coherenceMap,
  gaussianBlur,
  heatmapMaskScores,
  poolMasksToGrid,
} from '../src/index.ts';
import { randomMasks, rng } from '../test/helpers.ts';
import { printTable, runPython } from './timing.ts';

/** Median CPU seconds (user + system, all threads) per call after one warm-up, like the Python side. */
async function cpuTime(fn: () => unknown, reps = 5): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = process.cpuUsage();
    await fn();
    const d = process.cpuUsage(t0);
    times.push((d.user + d.system) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const SIZES: Array<[number, number]> = [
  [480, 640],
  [1024, 1024],
];
const COUNTS = [10, 50, 100];

// The reference's loops (Hybridgl_main.py), modelled on its behaviour: per mask a cv2 composite, ToTensor,
// Resize, Normalize and the masked local image; TF.resize of the float masks; the coherence map and per-mask sums.
const REFERENCE = String.raw`
import json, sys, time
import cv2, numpy as np, torch
import torchvision.transforms as T
import torchvision.transforms.functional as TF

def median_time(fn, reps):
    # CPU seconds (all threads) per call: on a shared machine they are steadier than wall time.
    fn()
    ts = []
    for _ in range(reps):
        t0 = time.process_time(); fn(); ts.append(time.process_time() - t0)
    return sorted(ts)[len(ts) // 2]

sizes, counts = json.loads(sys.argv[1]), json.loads(sys.argv[2])
rs = np.random.RandomState(0)
out = {}
for h, w in sizes:
    img = rs.randint(0, 256, (h, w, 3)).astype(np.uint8)
    yy, xx = np.mgrid[0:h, 0:w]
    base = []
    for k in range(10):
        cx, cy, rx, ry = rs.rand() * w, rs.rand() * h, (0.1 + rs.rand()) * w / 2, (0.1 + rs.rand()) * h / 2
        base.append((((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 < 1).astype(np.uint8))
    original = T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])(T.ToTensor()(img))[None]
    pixel_mean = torch.tensor([0.48145466, 0.4578275, 0.40821073]).reshape(1, 3, 1, 1)
    heat448 = torch.rand(1, 448, 448)
    res = {'blur': median_time(lambda: cv2.GaussianBlur(img, (15, 15), 0), 5)}
    for n in counts:
        masks = torch.from_numpy(np.stack([base[k % 10] for k in range(n)]))
        blurred = cv2.GaussianBlur(img, (15, 15), 0)
        def clip_inputs():
            gs, ls = [], []
            for pred_mask in masks:
                mask = pred_mask.numpy()
                sharp = cv2.bitwise_and(img, img, mask=np.clip(mask, 0, 255).astype(np.uint8))
                blurred_region = (blurred * (1 - mask)[:, :, None]).astype(np.uint8)
                g = T.ToTensor()(cv2.add(sharp, blurred_region))
                g = T.Resize((224, 224), antialias=None)(g)
                gs.append(T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])(g))
                loc = original * pred_mask[None, None] + (1 - pred_mask[None, None]) * pixel_mean
                ls.append(T.Resize((224, 224), antialias=None)(loc.squeeze(0)))
            return torch.stack(gs), torch.stack(ls)
        def grid():
            return TF.resize(masks.type(torch.float32), (14, 14))
        def heat():
            attn = T.Resize((h, w), antialias=True)(heat448)[0]
            attn = (attn - attn.min()) / (attn.max() - attn.min())
            attn = attn * torch.ones(h, w)
            attn = attn / attn.mean()
            scores = []
            for pred_mask in masks:
                pm = pred_mask.type(torch.uint8)
                scores.append((attn * 0.2 * pm / pm.sum()).sum() - (attn * 1.8 * (1 - pm) / ((1 - pm).sum())).sum())
            return scores
        reps = 1 if n * h * w > 2e7 else 3
        res[str(n)] = {'clip': median_time(clip_inputs, reps), 'grid': median_time(grid, 3), 'heat': median_time(heat, reps)}
    out[f'{h}x{w}'] = res
print(json.dumps(out))
`;

export default async function bench(): Promise<void> {
  const raw = runPython(REFERENCE, [JSON.stringify(SIZES), JSON.stringify(COUNTS)]);
  const ref = raw ? JSON.parse(raw) : null;
  if (!ref) console.log('(reference Python path unavailable: ratios omitted)');
  const rows: Array<Array<string | number>> = [];
  const row = (op: string, size: string, n: number | string, ours: number, theirs: number | undefined) =>
    rows.push([op, size, n, ours * 1e3, theirs === undefined ? '-' : theirs * 1e3, theirs ? theirs / ours : '-']);
  for (const [h, w] of SIZES) {
    const size = `${h}×${w}`, r = rng(h), pixels = h * w;
    const rgb = Uint8Array.from({ length: pixels * 3 }, () => Math.floor(r() * 256));
    const base = randomMasks(10, h, w, h + w, 0); // clean ellipses, like the Python side
    const heat = Float32Array.from({ length: 448 * 448 }, () => r());
    const ours = await cpuTime(() => gaussianBlur(rgb, h, w));
    row('gaussianBlur', size, '-', ours, ref?.[`${h}x${w}`].blur);
    const blurred = gaussianBlur(rgb, h, w);
    for (const n of COUNTS) {
      const masks = new Uint8Array(n * pixels);
      for (let k = 0; k < n; k++) masks.set(base.subarray((k % 10) * pixels, (k % 10 + 1) * pixels), k * pixels);
      const theirs = ref?.[`${h}x${w}`][String(n)];
      row('buildClipInputs', size, n, await cpuTime(() => buildClipInputs(rgb, blurred, masks, n, h, w), 3), theirs?.clip);
      const out = { global: new Float32Array(n * 3 * 224 * 224), local: new Float32Array(n * 3 * 224 * 224) };
      const reused = () => buildClipInputs(rgb, blurred, masks, n, h, w, { out });
      row('buildClipInputs, reused out', size, n, await cpuTime(reused, 3), theirs?.clip);
      row('poolMasksToGrid', size, n, await cpuTime(() => poolMasksToGrid(masks, n, h, w, 14)), theirs?.grid);
      const scores = () => heatmapMaskScores(coherenceMap(heat, 448, 448, h, w, 'none'), masks, n, h, w);
      row('coherence scores', size, n, await cpuTime(scores, 3), theirs?.heat);
    }
  }
  printTable(['op', 'image', 'masks', 'ours cpu ms', 'reference cpu ms', 'speed-up'], rows);
}
