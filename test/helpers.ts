// Deterministic random data for tests, and mask comparisons.

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n random masks of h×w with blobs (runs of set pixels), density p of seeds. */
export function randomMasks(n: number, h: number, w: number, seed: number, p = 0.3): Uint8Array {
  const r = rng(seed);
  const out = new Uint8Array(n * h * w);
  for (let k = 0; k < n; k++) {
    const cx = r() * w, cy = r() * h, rx = (0.1 + r()) * w * 0.5, ry = (0.1 + r()) * h * 0.5;
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const inside = ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 < 1;
        out[k * h * w + y * w + x] = inside !== r() < p * 0.1 ? 1 : 0;
      }
  }
  return out;
}

/** The awkward sizes every mask kernel is tested on. */
export const AWKWARD_SIZES: Array<[number, number]> = [
  [1, 1],
  [1, 17],
  [23, 1],
  [7, 9],
  [427, 640],
];

/** The first index at which two masks differ, −1 where none does. */
export function firstDiff(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}
