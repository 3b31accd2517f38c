import { buildClipInputs, gaussianBlur } from '../src/index.ts';
import { randomMasks } from '../test/helpers.ts';
const h = 480, w = 640, px = h * w;
const rgb = new Uint8Array(px * 3).map((_, i) => (i * 31) & 255);
const bl = gaussianBlur(rgb, h, w);
const base = randomMasks(10, h, w, 3, 0);
for (const n of [10, 50, 100]) {
  const masks = new Uint8Array(n * px);
  for (let k = 0; k < n; k++) masks.set(base.subarray((k % 10) * px, (k % 10 + 1) * px), k * px);
  buildClipInputs(rgb, bl, masks, n, h, w);
  const t0 = process.cpuUsage();
  for (let i = 0; i < 3; i++) buildClipInputs(rgb, bl, masks, n, h, w);
  const d = process.cpuUsage(t0);
  console.log(n, 'user', (d.user / 3e3).toFixed(1), 'sys', (d.system / 3e3).toFixed(1));
}
