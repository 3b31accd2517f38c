// Spec §10 against the reference's own modules on the tiny e2e weights (scripts/fixtures/make_phrasecut_reference.py):
// SAM with a crop layer and the PhraseCut thresholds on the synthetic PhraseCut images, and each task's GT.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { rleDecode, rleFromCounts } from '../bindings/rle.ts';
import { PhraseCutDataset, phraseCutGtMask } from '../src/data/phraseCut.ts';
import { writeSynthPhraseCut } from '../src/eval/synthPhraseCut.ts';
import { loadModels, type Models } from '../src/models/loadModels.ts';
import { loadImage } from '../src/pipeline/image.ts';
import { generateProposals } from '../src/pipeline/proposals.ts';
import { PHRASECUT_AMG } from '../src/pipeline/samCrops.ts';
import { CLIP_VOCAB_PATH } from './sharedData.ts';

interface Fixture {
  points_per_side: number;
  images: Array<{
    image_id: number; height: number; width: number; jpeg_sha256: string;
    proposals: Array<{ counts: number[]; bbox: number[]; predicted_iou: number; point_coords: number[]; crop_box: number[] }>;
    gt: Array<{ task_id: string; counts: number[] }>;
  }>;
}

const fixture: Fixture = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'phrasecut', 'reference_e2e.json'), 'utf8'));

describe('PhraseCut against the reference on the tiny e2e weights', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hybridgl-pc-ref-'));
  let models: Models;
  let ds: PhraseCutDataset;
  beforeAll(async () => {
    await writeSynthPhraseCut(dir);
    ds = PhraseCutDataset.load(dir, 'test');
    models = await loadModels(join(import.meta.dirname, 'fixtures', 'e2e', 'models'), { device: 'cpu', precision: 'fp32', vocabPath: CLIP_VOCAB_PATH });
  }, 120_000);
  afterAll(async () => {
    await models?.dispose?.();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the synthetic images are the ones the fixture was made from', () => {
    for (const im of fixture.images) {
      const bytes = readFileSync(join(dir, 'images', `${im.image_id}.jpg`));
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(im.jpeg_sha256);
    }
  });

  it('GT: the union of the task polygons as the reference draws them', () => {
    const groups = new Map(ds.byImage().map((g) => [g.image.image_id, g]));
    for (const im of fixture.images)
      for (const g of im.gt) {
        const task = groups.get(im.image_id)!.tasks.find((t) => t.task_id === g.task_id)!;
        expect(Array.from(phraseCutGtMask(task, im.width, im.height))).toEqual(Array.from(rleDecode(rleFromCounts(g.counts, im.height, im.width))));
      }
  });

  for (const im of fixture.images) {
    it(`image ${im.image_id}: SAM with crops gives the reference's proposals`, async () => {
      const image = await loadImage(join(dir, 'images', `${im.image_id}.jpg`));
      const p = await generateProposals(image, models, { amg: { ...PHRASECUT_AMG, pointsPerSide: fixture.points_per_side } });
      expect(p.count).toBe(im.proposals.length);
      const pixels = im.height * im.width;
      for (const [k, want] of im.proposals.entries()) {
        expect(Array.from(p.boxesXYWH.subarray(4 * k, 4 * k + 4)), `box ${k}`).toEqual(want.bbox);
        const mask = rleDecode(rleFromCounts(want.counts, im.height, im.width));
        let diff = 0;
        for (let i = 0; i < pixels; i++) if (p.masks[k * pixels + i] !== mask[i]) diff++;
        expect(diff, `mask ${k}`).toBe(0);
        expect([p.pointCoords[2 * k], p.pointCoords[2 * k + 1]]).toEqual(want.point_coords);
        expect(p.predictedIoU[k]).toBeCloseTo(want.predicted_iou, 4);
      }
    }, 120_000);
  }
});
