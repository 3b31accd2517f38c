// Sharding a split by image (spec §0): which images a process handles under `--shard i/n`.

/** A shard `i/n`: this process handles the images with shardOfImage(id, n) === i − 1 (i counts from 1). */
export interface Shard {
  index: number;
  count: number;
}

/** Parses `i/n` (1 ≤ i ≤ n), e.g. `--shard 2/4`. */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN, count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index < 1 || index > count)
    throw new RangeError(`--shard must be i/n with 1 ≤ i ≤ n (got '${text}')`);
  return { index, count };
}

/** The 0-based shard of an image: id mod n for integer ids, else an FNV-1a hash of the id's text mod n. */
export function shardOfImage(imageId: number | string, count: number): number {
  if (typeof imageId === 'number' && Number.isSafeInteger(imageId) && imageId >= 0) return imageId % count;
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(String(imageId))) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h % count;
}

export function inShard(imageId: number | string, shard: Shard | undefined): boolean {
  return !shard || shardOfImage(imageId, shard.count) === shard.index - 1;
}
