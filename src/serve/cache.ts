// The service's image cache: prepared images (proposals, hybrid and GEM features) keyed by the sha256 of the image
// bytes, least recently used first out, bounded both by entries and by an estimate of the bytes they hold.
import { createHash } from 'node:crypto';

import type { PreparedImage } from '../segmenter.ts';

export interface CacheLimits {
  /** Most entries kept (0 disables the cache). */
  maxEntries: number;
  /** Most bytes kept, as estimated by `preparedImageBytes`; a single larger entry is not kept. */
  maxBytes: number;
}

export interface CacheStats {
  entries: number;
  bytes: number;
  hits: number;
  misses: number;
  evictions: number;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** What a prepared image keeps alive: the pixels, every proposal's mask, the features, plus its RLEs and boxes. */
export function preparedImageBytes(p: PreparedImage): number {
  const { proposals: q } = p;
  const arrays = [p.image.rgb, q.masks, q.boxesXYXY, q.boxesXYWH, q.predictedIoU, q.stabilityScore, q.pointCoords,
    q.proposalIndex, p.features, p.gemPatches];
  // Each proposal's RLE string (encoded on first use) is at most a few bytes per mask row; count it at its bound.
  const rle = q.count * (2 * (p.image.height + p.image.width) + 64);
  return arrays.reduce((sum, a) => sum + a.byteLength, 0) + rle;
}

export class ImageCache<T = PreparedImage> {
  private readonly entries = new Map<string, { value: T; bytes: number }>();
  private bytes = 0;
  private hits = 0;
  private misses = 0;
  private evictions = 0;

  constructor(private readonly limits: CacheLimits, private readonly sizeOf: (value: T) => number) {
    for (const k of ['maxEntries', 'maxBytes'] as const) {
      if (!Number.isInteger(limits[k]) || limits[k] < 0) throw new RangeError(`${k} must be a non-negative integer, got ${limits[k]}`);
    }
  }

  /** The entry for `key`, now the most recently used; counts a hit or a miss. */
  get(key: string): T | undefined {
    const e = this.entries.get(key);
    if (!e) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.entries.delete(key);
    this.entries.set(key, e);
    return e.value;
  }

  /** Keeps `value` unless it alone exceeds the byte bound; evicts the least recently used until both bounds hold. */
  set(key: string, value: T): boolean {
    const bytes = this.sizeOf(value);
    this.delete(key);
    if (this.limits.maxEntries === 0 || bytes > this.limits.maxBytes) return false;
    this.entries.set(key, { value, bytes });
    this.bytes += bytes;
    for (const [k] of this.entries) {
      if (this.entries.size <= this.limits.maxEntries && this.bytes <= this.limits.maxBytes) break;
      this.delete(k);
      this.evictions++;
    }
    return true;
  }

  private delete(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    this.bytes -= e.bytes;
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }

  stats(): CacheStats {
    return { entries: this.entries.size, bytes: this.bytes, hits: this.hits, misses: this.misses, evictions: this.evictions };
  }
}
