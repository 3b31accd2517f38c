import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it, vi } from 'vitest';

import { byteProgressBars, createProgress, formatRate, imageProgressText } from '../src/cli/progress.ts';
import type { ImageProgress } from '../src/eval/evalLoop.ts';
import { runPhraseCutEval } from '../src/eval/phraseCutEval.ts';
import { writeSynthPhraseCut } from '../src/eval/synthPhraseCut.ts';
import { createSegmenter } from '../src/segmenter.ts';
import { standInModels, VOCAB } from './standInModels.ts';

/** A non-terminal stream that keeps what is written. */
function sink() {
  const lines: string[] = [];
  return { lines, stream: { isTTY: false, write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream };
}

describe('progress line', () => {
  it('shows where SAM is within an image, with the image\'s own ETA', () => {
    const p: ImageProgress = { image: 3, images: 120, sam: { crop: 2, crops: 5, points: 4096, pointsTotal: 8192 }, elapsedMs: 60_000 };
    expect(imageProgressText(p)).toBe('image 3/120: SAM crop 2/5, points 4096/8192, ETA 1m00s');
    expect(imageProgressText({ ...p, elapsedMs: 0 })).toMatch(/ETA --$/);
    const { lines, stream } = sink();
    createProgress('phrasecut test', stream)(10, 40, true, imageProgressText(p));
    expect(lines).toEqual([expect.stringMatching(/^phrasecut test \[######\.+\] 10\/40 25\.0% .* · image 3\/120: SAM crop 2\/5, points 4096\/8192, ETA 1m00s\n$/)]);
  });

  it('gives the rate a second, a minute or an hour, so a slow run shows one, from the count at its first report', () => {
    expect([formatRate(0), formatRate(NaN), formatRate(2.345), formatRate(0.05), formatRate(1 / 7200)])
      .toEqual(['--/s', '--/s', '2.3/s', '3.0/min', '0.5/h']);
    const { lines, stream } = sink();
    const progress = createProgress('refcoco val', stream);
    progress(3, 10, true);  // resumed with 3 done: the rate counts from here
    expect(lines[0]).toMatch(/ 3\/10 30\.0% --\/s ETA --\n$/);
  });

  it('counts the rate from the first report\'s time, not from before the models loaded', () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    try {
      const { lines, stream } = sink();
      const progress = createProgress('refcoco val', stream);
      vi.advanceTimersByTime(100_000);  // loading the models
      progress(0, 10);
      vi.advanceTimersByTime(60_000);
      progress(6, 10, true);
      expect(lines[1]).toMatch(/ 6\/10 60\.0% 6\.0\/min ETA 40s\n$/);
    } finally {
      vi.useRealTimers();
    }
  });

  it('draws a bar in MB per label of models convert and fetch, ending its line at the final report', () => {
    const lines: string[] = [];
    const terminal = { isTTY: true, write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream;
    const show = byteProgressBars(terminal);
    show({ label: 'sam.pth', doneBytes: 1e6, totalBytes: 4e6, final: false });
    show({ label: 'convert', doneBytes: 2e6, totalBytes: 2e6, final: true });
    show({ label: 'sam.pth', doneBytes: 4e6, totalBytes: 4e6, final: true });
    expect(lines).toEqual([expect.stringMatching(/^\rsam\.pth \(MB\) \[######\.{18}\] 1\/4 25\.0% .*\x1b\[K$/),
      expect.stringMatching(/^\rconvert \(MB\) \[#{24}\] 2\/2 100\.0% .*\x1b\[K\n$/),
      expect.stringMatching(/^\rsam\.pth \(MB\) \[#{24}\] 4\/4 100\.0% .*\x1b\[K\n$/)]);
  });
});

describe.skipIf(!existsSync(VOCAB))('PhraseCut eval: progress within an image (stand-in backbones)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hybridgl-progress-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reports every batch of SAM points of every image, then each image done', async () => {
    await writeSynthPhraseCut(join(dir, 'data'));
    const events: Array<[number, number, ImageProgress | undefined]> = [];
    await runPhraseCutEval({
      data: join(dir, 'data'), split: 'test', out: join(dir, 'run'), limitImages: 2,
      models: await createSegmenter({
        models: standInModels(), localImage: 'resized-800',
        proposals: { amg: { pointsPerSide: 4, pointsPerBatch: 8, cropNLayers: 1, cropNPointsDownscaleFactor: 2 } },
      }),
      onProgress: (done, total, within) => events.push([done, total, within && structuredClone(within)]),
    });
    const within = events.flatMap(([, , w]) => (w ? [w] : []));
    // Per image: 16 points on the full image in 2 batches, then 4 crops of 2×2 points: 6 reports, 32 points.
    for (const image of [1, 2]) {
      const mine = within.filter((w) => w.image === image);
      expect(mine.map((w) => [w.sam.crop, w.sam.points])).toEqual([[1, 8], [1, 16], [2, 20], [3, 24], [4, 28], [5, 32]]);
      for (const w of mine) expect([w.images, w.sam.crops, w.sam.pointsTotal]).toEqual([2, 5, 32]);
    }
    // The count before any work first (the rate's baseline), then one report per image.
    const perImage = events.filter(([, , w]) => !w);
    expect(perImage.length).toBe(3);
    expect(events[0]).toEqual([0, perImage[0][1], undefined]);
    expect(perImage.at(-1)![0]).toBe(perImage.at(-1)![1]);
  });
});
