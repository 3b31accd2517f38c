// The checkpoint readers (src/models/zipArchive.ts, checkpoint.ts) under hostile files: storage views and zip
// directory records checked against what they point at, zip bombs refused before and while inflating, and a seeded
// fuzz of mutated fixture checkpoints (test/fixtures/convert, scripts/fixtures/make_convert_fixtures.sh) in which
// every outcome is the checkpoint read or a CheckpointError/ZipError naming the file.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';

import { CheckpointError, openCheckpoint, type Checkpoint } from '../src/models/checkpoint.ts';
import { MAX_ENTRY_BYTES, ZipArchive, ZipError } from '../src/models/zipArchive.ts';
import { rng } from './helpers.ts';
import { readZipEntries, writeZip, type ZipFileEntry } from './zipTools.ts';

const FIX = join(import.meta.dirname, 'fixtures', 'convert');
const SAM = join(FIX, 'sam_vit_b-tiny.pth');
const PKL = 'sam_vit_b-tiny/data.pkl';
const SEED = Number(process.env.HYBRIDGL_FUZZ_SEED ?? 20251207);
const tmp = mkdtempSync(join(tmpdir(), 'hybridgl-checkpoint-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const samEntries = readZipEntries(readFileSync(SAM));
let n = 0;
/** A copy of the SAM fixture with some entries changed; its path. */
function samWith(change: (entries: ZipFileEntry[]) => ZipFileEntry[]): string {
  const path = join(tmp, `sam-${n++}.pth`);
  writeFileSync(path, writeZip(change(samEntries.map((e) => ({ ...e })))));
  return path;
}
const withPickle = (pkl: Uint8Array) => samWith((es) => es.map((e) => (e.name === PKL ? { ...e, data: pkl } : e)));
const samPickle = samEntries.find((e) => e.name === PKL)!.data;

/** The pickle with the first tensor's storage offset (BINPERSID, BININT1 0) replaced by `op`. */
function withFirstOffset(op: number[]): Uint8Array {
  const at = Buffer.from(samPickle).indexOf(Buffer.from([0x51, 0x4b, 0x00]));
  return Uint8Array.from([...samPickle.subarray(0, at + 1), ...op, ...samPickle.subarray(at + 3)]);
}
const binint = (v: number) => [0x4a, v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >>> 24) & 0xff];

function readAll(ck: Checkpoint): Map<string, Float32Array> {
  return new Map([...ck.tensors].map(([k, t]) => [k, t.readFloat32()]));
}

describe('storage views and directory records are checked against what they point at', () => {
  const original = (() => {
    const ck = openCheckpoint(SAM);
    try {
      return readAll(ck);
    } finally {
      ck.close();
    }
  })();

  it('the rebuilt fixture reads as the original (the test zip writer is faithful)', () => {
    const ck = openCheckpoint(samWith((es) => es));
    expect(readAll(ck)).toEqual(original);
    ck.close();
  });

  it('refuses a storage offset that points before its storage (which read another entry\'s bytes)', () => {
    const ck = (() => {
      try {
        return openCheckpoint(withPickle(withFirstOffset(binint(-16))));
      } catch (e) {
        return e as Error;
      }
    })();
    expect(ck).toBeInstanceOf(CheckpointError);
    expect((ck as Error).message).toMatch(/sam-\d+\.pth: tensor in storage 0 has storage offset -16/);
  });

  it('refuses a view that reaches past its storage\'s declared elements', () => {
    // Offset 1 on image_encoder.pos_embed (65536 elements, all used).
    const ck = openCheckpoint(withPickle(withFirstOffset([0x4b, 1])));
    expect(() => ck.tensors.get('image_encoder.pos_embed')!.readFloat32()).toThrow(
      /tensor image_encoder\.pos_embed reaches element 65536 of storage 0, which has 65536/);
    ck.close();
    // A storage declaring fewer elements than the tensor uses (torch's set_ refuses it).
    const at = Buffer.from(samPickle).indexOf(Buffer.from([0x4a, 0x00, 0x00, 0x01, 0x00, 0x74])); // BININT 65536, TUPLE
    const fewer = Uint8Array.from(samPickle);
    fewer.set([0x4a, 100, 0, 0, 0], at);
    const ck2 = openCheckpoint(withPickle(fewer));
    expect(() => ck2.tensors.get('image_encoder.pos_embed')!.readFloat32()).toThrow(/reaches element 65535 of storage 0, which has 100/);
    ck2.close();
    // … or more than its entry holds.
    fewer.set([0x4a, 0, 0, 2, 0], at);
    expect(() => openCheckpoint(withPickle(fewer))).toThrow(/storage 0 declares 131072 float32 elements \(524288 bytes\), its entry .*data\/0 holds 262144 bytes/);
  });

  it('refuses a directory record that points a storage at another entry\'s bytes', () => {
    const aliased = samWith((es) => es.map((e) => (e.name.endsWith('/data/1') ? { ...e, pointAt: 'sam_vit_b-tiny/data/0' } : e)));
    expect(() => openCheckpoint(aliased)).toThrow(ZipError);
    expect(() => openCheckpoint(aliased)).toThrow(/entry sam_vit_b-tiny\/data\/1: its directory record points at the data of "sam_vit_b-tiny\/data\/0"/);
  });

  it('refuses entries that overlap', () => {
    const path = samWith((es) => es);
    const bytes = readFileSync(path);
    // Grow data/0's sizes in its directory record (stored: both) so that it runs into data/1's header.
    const cd = bytes.indexOf(Buffer.from('sam_vit_b-tiny/data/0'), bytes.length - 30_000) - 46;
    bytes.writeUInt32LE(262144 + 100, cd + 20);
    bytes.writeUInt32LE(262144 + 100, cd + 24);
    writeFileSync(path, bytes);
    expect(() => openCheckpoint(path)).toThrow(/entries sam_vit_b-tiny\/data\/0 and sam_vit_b-tiny\/data\/1 overlap/);
  });

  it('names a storage whose type is not a torch storage, and a persistent id of the wrong shape', () => {
    const text = Buffer.from(samPickle).toString('latin1').replace('torch\nFloatStorage\n', 'torch\nFloatStoragX\n');
    expect(() => openCheckpoint(withPickle(Buffer.from(text, 'latin1')))).toThrow(/global torch\.FloatStoragX is not on the allow-list/);
    // ('storage', <a TorchScript class>, …): admitted as a global, but no storage.
    const other = Buffer.from(samPickle).toString('latin1').replace('ctorch\nFloatStorage\n', 'c__torch__\nX\n');
    const err = (() => {
      try {
        openCheckpoint(withPickle(Buffer.from(other, 'latin1')));
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err).toBeInstanceOf(CheckpointError);
    expect(err!.message).toMatch(/storage 0 has type __torch__\.X, not a torch storage type/);
  });

  it('names a directory or a missing file given as a checkpoint', () => {
    const dir = join(tmp, 'a-directory.pth');
    mkdirSync(dir);
    expect(() => openCheckpoint(dir)).toThrow(/a-directory\.pth: is a directory, not a checkpoint file/);
    expect(() => openCheckpoint(join(tmp, 'none.pth'))).toThrow(/none\.pth: cannot be opened \(ENOENT\)/);
  });
});

describe('zip bombs', () => {
  const CAP = MAX_ENTRY_BYTES ?? 64 * 1024 * 1024;
  // 128 MiB of zeros deflate to ~128 KiB: a pickle entry declaring (or hiding) that much.
  const bomb = deflateRawSync(Buffer.alloc(2 * CAP));
  const bombed = (declaredSize: number) => samWith((es) => es.map((e) =>
    (e.name === PKL ? { ...e, method: 8, raw: bomb, declaredSize } : e)));

  it('refuses an entry declaring more than it may hold, before inflating it', () => {
    const path = bombed(2 * CAP);
    const zip = new ZipArchive(path);
    expect(() => zip.readEntry(PKL)).toThrow(new RegExp(`entry ${PKL} declares ${2 * CAP} bytes, more than the ${CAP} allowed`));
    zip.close();
    expect(() => openCheckpoint(path)).toThrow(ZipError);
  });

  it('refuses a compression ratio no pickle has', () => {
    const path = samWith((es) => es.map((e) => (e.name === PKL ? { ...e, method: 8, raw: bomb, declaredSize: 32 * 1024 * 1024 } : e)));
    expect(() => openCheckpoint(path)).toThrow(/declares 33554432 bytes from \d+ compressed \(over 200:1\): a zip bomb\?/);
  });

  it('stops inflating at the declared size when the entry inflates to more', () => {
    const path = bombed(samPickle.length);
    expect(() => openCheckpoint(path)).toThrow(new RegExp(`entry ${PKL} inflates beyond the ${samPickle.length} bytes it declares`));
  });

  it('reads an honest deflated pickle, and names one that inflates to less than it declares', () => {
    const deflated = samWith((es) => es.map((e) => (e.name === PKL ? { ...e, method: 8 } : e)));
    const ck = openCheckpoint(deflated);
    expect(ck.tensors.size).toBe(202);
    ck.close();
    const short = samWith((es) => es.map((e) => (e.name === PKL ? { ...e, method: 8, declaredSize: samPickle.length + 10 } : e)));
    expect(() => openCheckpoint(short)).toThrow(/inflates to 26091 bytes, not the 26101 it declares/);
  });
});

describe('fuzz: mutated checkpoints are read or refused with a typed error naming the file', () => {
  const typed = (e: unknown, path: string) => {
    if (!(e instanceof CheckpointError || e instanceof ZipError)) throw e;
    expect(e.message.startsWith(`${path}: `)).toBe(true);
  };
  /** Opens and reads every tensor; any error must be typed and name the file. */
  const tryRead = (path: string): 'read' | 'refused' => {
    let ck: Checkpoint;
    try {
      ck = openCheckpoint(path);
    } catch (e) {
      typed(e, path);
      return 'refused';
    }
    try {
      for (const t of ck.tensors.values()) {
        const v = t.readFloat32();
        expect(v.length).toBe(t.numel);
      }
      return 'read';
    } catch (e) {
      typed(e, path);
      return 'refused';
    } finally {
      ck.close();
    }
  };

  it('pickle bytes: random bytes overwritten, inserted or deleted, numbers set to edge values', () => {
    const r = rng(SEED);
    const outcomes = { read: 0, refused: 0 };
    const edge = [0, 1, 0x7f, 0x80, 0xff];
    for (let i = 0; i < 150; i++) {
      const pkl = Array.from(samPickle);
      for (let m = 1 + Math.floor(r() * 3); m > 0; m--) {
        const at = Math.floor(r() * pkl.length), kind = r();
        if (kind < 0.4) pkl[at] = Math.floor(r() * 256);
        else if (kind < 0.6) pkl[at] = edge[Math.floor(r() * edge.length)];
        else if (kind < 0.8) pkl.splice(at, 1);
        else pkl.splice(at, 0, Math.floor(r() * 256));
      }
      outcomes[tryRead(withPickle(Uint8Array.from(pkl)))]++;
    }
    expect(outcomes.read + outcomes.refused).toBe(150);
    expect(outcomes.refused).toBeGreaterThan(0);
  });

  it('zip bytes: the directory, local headers and the end record mutated', () => {
    const r = rng(SEED + 1);
    const clean = readFileSync(samWith((es) => es));
    const cdStart = clean.readUInt32LE(clean.length - 22 + 16);
    const outcomes = { read: 0, refused: 0 };
    for (let i = 0; i < 150; i++) {
      const bytes = Buffer.from(clean);
      for (let m = 1 + Math.floor(r() * 3); m > 0; m--) {
        // Mostly the central directory and the end record; sometimes a local header or data.
        const at = r() < 0.8 ? cdStart + Math.floor(r() * (bytes.length - cdStart)) : Math.floor(r() * cdStart);
        bytes[at] = r() < 0.5 ? Math.floor(r() * 256) : [0, 0xff][Math.floor(r() * 2)];
      }
      const path = join(tmp, `zip-${i}.pth`);
      writeFileSync(path, bytes);
      outcomes[tryRead(path)]++;
    }
    expect(outcomes.refused).toBeGreaterThan(0);
  });
});
