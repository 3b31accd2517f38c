import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { buildClipInputs, buildClipInputsAsync, gaussianBlur, SegmentError } from '../src/index.ts';
import { runPhraseCutEval } from '../src/eval/phraseCutEval.ts';
import { writeSynthPhraseCut } from '../src/eval/synthPhraseCut.ts';
import { ImageBudgetError } from '../src/pipeline/imageBudget.ts';
import { phraseCutLocalSource, shorterSideShape } from '../src/pipeline/phraseCutLocal.ts';
import { prepareImageNetImage } from '../src/pipeline/preprocess.ts';
import { createSegmenter } from '../src/segmenter.ts';
import type { LocalImage } from '../src/segmenterOptions.ts';
import { rng } from './helpers.ts';
import { fixtureF32, fixtureMasks, fixtureU8, manifest, maxAbsDiff } from './pixelFixtures.ts';
import { standInModels, VOCAB } from './standInModels.ts';

const S = 224;

// make_pixel.py's procedural_rgb / procedural_masks, integers only.
function proceduralRgb(h: number, w: number): Uint8Array {
  const out = new Uint8Array(h * w * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < 3; c++) out[(y * w + x) * 3 + c] = (x * 37 + y * 91 + c * 53 + ((x * y) % 29)) % 256;
  return out;
}

function proceduralMasks(h: number, w: number): Uint8Array {
  const out = new Uint8Array(2 * h * w);
  const H = BigInt(h), W = BigInt(w);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const dx = BigInt(x - Math.trunc(w / 3)), dy = BigInt(y - Math.trunc(h / 2));
      out[y * w + x] = dx * dx * 4n * H * H + dy * dy * 9n * W * W < H * H * W * W ? 1 : 0;
      out[h * w + y * w + x] = (x * 3 > w * 2 && y * 2 < h) || Math.trunc((x + y) / 5) % 4 === 0 ? 1 : 0;
    }
  return out;
}

/** Rows `rows` of c × h × w planes. */
function pickRows(planes: Float32Array, count: number, h: number, w: number, rows: number[]): Float32Array {
  const out = new Float32Array(count * rows.length * w);
  let k = 0;
  for (let p = 0; p < count; p++)
    for (const r of rows) out.set(planes.subarray((p * h + r) * w, (p * h + r + 1) * w), (k++) * w);
  return out;
}

interface Case { name: string; height: number; width: number; procedural: boolean }

describe('phraseCutLocalSource and the local CLIP image of PhraseCut\'s loop', () => {
  for (const c of manifest.phrasecut_local_cases as Case[]) {
    it(`equals torchvision's Resize(800) → Normalize → Resize((h, w)) and the composite: ${c.name} (${c.height}×${c.width})`, async () => {
      const { height: h, width: w } = c;
      const rgb = c.procedural ? proceduralRgb(h, w) : fixtureU8('clip_down_rgb');
      const masks = c.procedural ? proceduralMasks(h, w) : fixtureMasks('clip_down_masks');
      const n = masks.length / (h * w);
      const source = await phraseCutLocalSource({ rgb, height: h, width: w });
      expect(source.length).toBe(3 * h * w);
      const sourceRows = manifest[`${c.name}_source`].rows as number[];
      // Pillow's 8-bit resize is exact; the rest is float32 as torch rounds it.
      expect(maxAbsDiff(pickRows(source, 3, h, w, sourceRows), fixtureF32(`${c.name}_source`))).toBeLessThan(2e-6);
      const blurred = gaussianBlur(rgb, h, w);
      const r = buildClipInputs(rgb, blurred, masks, n, h, w, { localSource: source });
      const rows = manifest[`${c.name}_local`].rows as number[];
      expect(maxAbsDiff(pickRows(r.local as Float32Array, 3 * n, S, S, rows), fixtureF32(`${c.name}_local`))).toBeLessThan(1e-5);
      // Only the local image changes: the global one is the photo's.
      const plain = buildClipInputs(rgb, blurred, masks, n, h, w);
      expect(maxAbsDiff(r.global, plain.global)).toBe(0);
      expect(maxAbsDiff(r.local, plain.local)).toBeGreaterThan(1e-3);
      const again = await buildClipInputsAsync(rgb, blurred, masks, n, h, w, { localSource: source });
      expect(maxAbsDiff(again.local, r.local)).toBe(0);
    });
  }

  it('is the normalised photo itself when its shorter side is already 800', async () => {
    const random = rng(800);
    for (const [h, w] of [[800, 1003], [1201, 800], [800, 800]]) {
      const rgb = Uint8Array.from({ length: h * w * 3 }, () => Math.floor(random() * 256));
      const image = { rgb, height: h, width: w };
      expect(maxAbsDiff(await phraseCutLocalSource(image), prepareImageNetImage(image))).toBe(0);
    }
  });

  it('sizes as torchvision: the shorter side to 800, the longer one truncated', () => {
    expect(shorterSideShape(300, 410, 800)).toEqual([800, 1093]);
    expect(shorterSideShape(1100, 560, 800)).toEqual([1571, 800]);
    expect(shorterSideShape(500, 500, 800)).toEqual([800, 800]);
    expect(shorterSideShape(333, 500, 800)).toEqual([800, 1201]);
    expect(shorterSideShape(1, 2048, 800)).toEqual([800, 1638400]);
  });

  it('refuses a photo that grows past maxPixels at 800, naming the sizes', async () => {
    const image = { rgb: new Uint8Array(2 * 3000 * 3), height: 2, width: 3000 };
    await expect(phraseCutLocalSource(image, 25_000_000)).rejects.toThrow(ImageBudgetError);
    await expect(phraseCutLocalSource(image, 25_000_000)).rejects.toThrow(/shorter side of 800 .* is 1200000×800 /);
  });
});

describe('buildClipInputs: the localSource option', () => {
  const h = 5, w = 7;
  const rgb = new Uint8Array(h * w * 3).fill(9), masks = new Uint8Array(h * w).fill(1);
  it('refuses a wrong type, length or a non-finite value, naming it', () => {
    expect(() => buildClipInputs(rgb, rgb, masks, 1, h, w, { localSource: new Float64Array(3 * h * w) as never }))
      .toThrow(/localSource must be a Float32Array/);
    expect(() => buildClipInputs(rgb, rgb, masks, 1, h, w, { localSource: new Float32Array(3 * h * w - 1) }))
      .toThrow(/localSource has length 104, expected 105/);
    const bad = new Float32Array(3 * h * w);
    bad[17] = NaN;
    expect(() => buildClipInputs(rgb, rgb, masks, 1, h, w, { localSource: bad })).toThrow(/localSource\[17\] is NaN/);
    bad[17] = -Infinity;
    expect(() => buildClipInputs(rgb, rgb, masks, 1, h, w, { localSource: bad })).toThrow(/localSource\[17\] is infinite/);
  });

  it('puts the source inside a full mask and the CLIP mean outside an empty one', () => {
    const source = new Float32Array(3 * h * w).fill(-1.25);
    const two = new Uint8Array(2 * h * w);
    two.fill(1, 0, h * w);
    const r = buildClipInputs(rgb, rgb, two, 2, h, w, { size: 4, localSource: source });
    expect([...r.local.subarray(0, 48)].every((v) => v === -1.25)).toBe(true);
    expect([...r.local.subarray(48, 64)].every((v) => v === Math.fround(0.48145466))).toBe(true);
  });
});

describe.skipIf(!existsSync(VOCAB))('createSegmenter({ localImage })', () => {
  it("'resized-800' changes the local stream's features only, and refuses a photo too thin for it before SAM", async () => {
    const h = 60, w = 90, rgb = proceduralRgb(h, w);
    const features = async (localImage: LocalImage | undefined) => {
      const seg = await createSegmenter({ models: standInModels(), ...(localImage ? { localImage } : {}) });
      const prepared = await seg.prepare({ rgb, height: h, width: w });
      await seg.dispose();
      return prepared;
    };
    const [byDefault, photo, resized] = [await features(undefined), await features('photo'), await features('resized-800')];
    expect(maxAbsDiff(byDefault.features, photo.features)).toBe(0);
    expect(resized.proposals.count).toBe(photo.proposals.count);
    expect(maxAbsDiff(resized.features, photo.features)).toBeGreaterThan(0);
    expect(resized.timings.localImage).toBeGreaterThanOrEqual(0);
    expect(photo.timings.localImage).toBeUndefined();

    const calls: Record<string, number> = {};
    const seg = await createSegmenter({ models: standInModels(calls), localImage: 'resized-800', maxPixels: 1_000_000 });
    const thin = { rgb: new Uint8Array(2 * 1500 * 3).fill(50), height: 2, width: 1500 };
    const err = await seg.prepare(thin).catch((e: unknown) => e);
    await seg.dispose();
    expect(err).toBeInstanceOf(SegmentError);
    expect([(err as SegmentError).kind, (err as Error).message]).toEqual(['badInput', expect.stringMatching(/shorter side of 800 .* is 600000×800/)]);
    expect(calls.samEncoder ?? 0).toBe(0);
  });

  it('runPhraseCutEval refuses a given segmenter made with another local image, before writing anything', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hybridgl-pclocal-'));
    try {
      await writeSynthPhraseCut(join(dir, 'data'));
      const seg = await createSegmenter({ models: standInModels() });
      await expect(runPhraseCutEval({ data: join(dir, 'data'), split: 'test', out: join(dir, 'run'), models: seg }))
        .rejects.toThrow(/segmenter given as models has localImage 'photo'; this dataset's loop needs 'resized-800'/);
      expect(readdirSync(dir)).toEqual(['data']);
      await seg.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
