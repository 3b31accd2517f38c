import { describe, expect, it } from 'vitest';

import { inShard, parseShard, shardOfImage } from '../src/eval/shard.ts';

describe('shard', () => {
  it('parses i/n and refuses anything else, naming --shard', () => {
    expect(parseShard('2/4')).toEqual({ index: 2, count: 4 });
    expect(parseShard(' 1/1 ')).toEqual({ index: 1, count: 1 });
    for (const bad of ['0/4', '5/4', '1/0', 'a/b', '1-2', '', '1/2/3', '-1/2']) expect(() => parseShard(bad)).toThrow(/--shard/);
  });

  it('puts every image in exactly one shard: integer ids by id mod n, other ids by a stable hash', () => {
    expect(shardOfImage(581857, 4)).toBe(581857 % 4);
    // FNV-1a of the id's UTF-8 text: a fixed value, so shards made on different machines agree.
    expect(shardOfImage('a', 1 << 30)).toBe(0xe40c292c % (1 << 30));
    const ids: (number | string)[] = [0, 1, 7, 581857, 'COCO_train2014_000000581857', '2345678', 'é', -3, 1.5];
    for (const count of [1, 2, 3, 5]) {
      for (const id of ids) {
        const owners = Array.from({ length: count }, (_, i) => i + 1).filter((index) => inShard(id, { index, count }));
        expect(owners).toHaveLength(1);
      }
    }
    expect(inShard(7, undefined)).toBe(true);
  });
});
