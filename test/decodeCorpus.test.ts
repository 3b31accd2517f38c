// Spec §1: loadImage equals Debian python3-pil's Image.open(p).convert('RGB') byte for byte (QUIRK pil-decode), and
// GEM's 448 bicubic input with it; the opt-ins (managed colour, EXIF orientation). Corpus:
// scripts/fixtures/make_decode_corpus.py.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { resizeImage } from '../bindings/imagePrep.ts';
import { loadImage } from '../src/pipeline/image.ts';
import { SHARED_DIR } from './sharedData.ts';

const dir = join(import.meta.dirname, 'fixtures', 'decode');
const root = join(import.meta.dirname, '..');
const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8'));
const sha = (a: Uint8Array) => createHash('sha256').update(a).digest('hex');

describe('loadImage equals PIL convert("RGB") on the decode corpus', () => {
  for (const [name, want] of Object.entries<any>(expected.files)) {
    it(`${name} (${want.kind})`, async () => {
      const path = join(dir, name);
      if (want.error) {
        await expect(loadImage(path)).rejects.toThrow(/cannot read '.*' as an image: the file is truncated/);
        return;
      }
      const img = await loadImage(path);
      expect([img.width, img.height]).toEqual([want.width, want.height]);
      expect(sha(img.rgb)).toBe(want.rgb);
      expect(sha(resizeImage(img.rgb, img.height, img.width, 448, 448, { filter: 'bicubic' }))).toBe(want.gem448);
      // The EXIF opt-in equals PIL's ImageOps.exif_transpose (the stored image where there is nothing to turn).
      const turned = await loadImage(readFileSync(path), { orientation: 'exif' });
      const wantTurned = want.exif ?? want;
      expect([turned.width, turned.height]).toEqual([wantTurned.width, wantTurned.height]);
      expect(sha(turned.rgb)).toBe(wantTurned.rgb);
    });
  }

  it('covers every kind the spec names', () => {
    const modes = new Set(Object.values<any>(expected.files).map((f) => f.mode));
    for (const mode of ['RGB', 'RGBA', 'LA', 'L', 'P', 'I', '1', 'CMYK']) expect(modes).toContain(mode);
    expect(Object.keys(expected.files).filter((n) => n.startsWith('jpeg_exif_'))).toHaveLength(8);
  });
});

describe('loadImage equals PIL on the photos the tests use', () => {
  for (const [rel, want] of Object.entries<any>(expected.photos)) {
    const path = rel.startsWith('shared:') ? join(SHARED_DIR, rel.slice(7)) : join(root, rel);
    const same = existsSync(path) && sha(readFileSync(path)) === want.file;
    it.skipIf(!same)(rel, async () => {
      expect(sha((await loadImage(path)).rgb)).toBe(want.rgb);
    });
  }
});

describe('decode opt-ins', () => {
  it("colour: 'managed' converts an embedded profile (Adobe RGB, CMYK) to sRGB, unlike PIL", async () => {
    for (const name of ['jpeg_adobergb.jpg', 'png_adobergb.png', 'jpeg_cmyk_icc.jpg']) {
      const pil = await loadImage(join(dir, name));
      const managed = await loadImage(join(dir, name), { colour: 'managed' });
      expect([managed.width, managed.height]).toEqual([pil.width, pil.height]);
      let maxDiff = 0;
      for (let i = 0; i < pil.rgb.length; i++) maxDiff = Math.max(maxDiff, Math.abs(pil.rgb[i] - managed.rgb[i]));
      expect(maxDiff).toBeGreaterThan(10);
    }
    // Without a profile, managed and PIL decodes agree.
    expect(sha((await loadImage(join(dir, 'jpeg_420.jpg'), { colour: 'managed' })).rgb))
      .toBe(expected.files['jpeg_420.jpg'].rgb);
  });

  it("orientation: 'exif' turns orientation 6 a quarter (width and height swapped); the default does not", async () => {
    const path = join(dir, 'jpeg_exif_6.jpg');
    const stored = await loadImage(path);
    const turned = await loadImage(path, { orientation: 'exif', colour: 'managed' });
    expect([turned.width, turned.height]).toEqual([stored.height, stored.width]);
    // Orientation 6: the stored top-left pixel lands at the top-right.
    expect(Array.from(turned.rgb.subarray(3 * (turned.width - 1), 3 * turned.width))).toEqual(Array.from(stored.rgb.subarray(0, 3)));
  });

  it('rejects unknown option values, naming the option', async () => {
    const path = join(dir, 'png_rgb.png');
    await expect(loadImage(path, { colour: 'srgb' as never })).rejects.toThrow(/decode\.colour must be 'pil' or 'managed'/);
    await expect(loadImage(path, { orientation: 'auto' as never })).rejects.toThrow(/decode\.orientation must be 'stored' or 'exif'/);
  });
});
