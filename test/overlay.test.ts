import sharp from 'sharp';
import { describe, expect, it } from 'vitest';

import { renderContactSheet, renderOverlay, tintMask } from '../src/render/overlay.ts';

const image = { rgb: new Uint8Array(40 * 60 * 3).fill(100), height: 40, width: 60 };
const mask = new Uint8Array(40 * 60);
for (let y = 10; y < 20; y++) for (let x = 5; x < 25; x++) mask[y * 60 + x] = 1;

describe('overlay', () => {
  it('tints only the mask', () => {
    const t = tintMask(image, mask, [200, 0, 0], 0.5);
    expect(Array.from(t.subarray(0, 3))).toEqual([100, 100, 100]);
    const p = (15 * 60 + 10) * 3;
    expect(Array.from(t.subarray(p, p + 3))).toEqual([150, 50, 50]);
    expect(() => tintMask(image, new Uint8Array(3), [0, 0, 0], 1)).toThrow(/mask has length 3/);
  });

  it('renders a PNG with a caption strip, and a contact sheet', async () => {
    const png = await renderOverlay(image, mask, { bbox: [5, 10, 19, 9], caption: 'the <left> box & more' });
    const meta = await sharp(png).metadata();
    expect(meta.format).toBe('png');
    expect(meta.width).toBe(60);
    expect(meta.height).toBeGreaterThan(40);
    const sheet = await renderContactSheet(image, [{ mask, label: 'a 0.9' }, { mask, label: 'b 0.1' }], 2, 50);
    expect((await sharp(sheet).metadata()).width).toBe(100);
  });

  it('draws captions with control characters (shown escaped) and XML specials', async () => {
    for (const caption of ['the dog\u0007', '\u0000\u001b[31m<svg>&amp;"\'', 'a\ud800b \u202e tab\tnew\nline', '\u0085\u007f']) {
      const png = await renderOverlay(image, mask, { caption });
      expect((await sharp(png).metadata()).height, JSON.stringify(caption)).toBeGreaterThan(40);
    }
  });
});
