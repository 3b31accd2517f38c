// Dense mask IoU and boxes at realistic sizes (masks of 480×640).
import { maskIoU, masksToBoxes } from '../src/index.ts';
import { randomMasks } from '../test/helpers.ts';
import { printTable, timeIt } from './timing.ts';

export default async function bench(): Promise<void> {
  const h = 480, w = 640;
  const rows: Array<Array<string | number>> = [];
  for (const n of [50, 200]) {
    const masks = randomMasks(n, h, w, n);
    const gt = randomMasks(1, h, w, 7);
    const t1 = await timeIt(() => maskIoU(masks, gt, h, w));
    rows.push([`maskIoU ${n}×1`, n, t1 * 1e3, n / t1]);
    const t2 = await timeIt(() => maskIoU(masks, masks, h, w));
    rows.push([`maskIoU ${n}×${n}`, n, t2 * 1e3, n / t2]);
    const t3 = await timeIt(() => masksToBoxes(masks, h, w));
    rows.push(['masksToBoxes', n, t3 * 1e3, n / t3]);
  }
  printTable(['op (480×640)', 'masks', 'ms', 'masks/s'], rows);
}
