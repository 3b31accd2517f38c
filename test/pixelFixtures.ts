// Loads the golden fixtures of the per-pixel kernels (scripts/fixtures/make_pixel.py).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'pixel');
export const manifest: any = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));

function bytes(name: string): Uint8Array {
  const b = readFileSync(join(dir, `${name}.bin`));
  return new Uint8Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

export function fixtureU8(name: string): Uint8Array {
  return bytes(name);
}

export function fixtureF32(name: string): Float32Array {
  return new Float32Array(bytes(name).buffer);
}

/** Bit-packed masks (np.packbits, most significant bit first) back to one byte per pixel. */
export function fixtureMasks(name: string): Uint8Array {
  const packed = bytes(name);
  const out = new Uint8Array(manifest[name].pixels);
  for (let i = 0; i < out.length; i++) out[i] = (packed[i >> 3] >> (7 - (i & 7))) & 1;
  return out;
}

/** Largest |a − b| (NaN-aware: both NaN counts as equal, one NaN as Infinity). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Number.isNaN(a[i]) && Number.isNaN(b[i]) ? 0 : Math.abs(a[i] - b[i]);
    worst = Math.max(worst, Number.isNaN(d) ? Infinity : d);
  }
  return worst;
}
