import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { MAX_PICKLE_DEPTH, PickleError, PickleRecord, readPickle, writePickle, type PickleValue } from '../src/data/pickle.ts';

const DIR = join(import.meta.dirname, 'fixtures', 'pickle');
const expected = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) as Record<string, unknown>;
const load = (name: string) => readPickle(readFileSync(join(DIR, `${name}.p`)));

/** The fixture script's tagged JSON for what a reader result should be. */
function tagged(v: PickleValue): unknown {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : { $float: v > 0 ? 'inf' : '-inf' };
  if (typeof v === 'bigint') return { $int: v.toString() };
  if (v instanceof Uint8Array) return { $bytes: Buffer.from(v).toString('hex') };
  if (v instanceof Set) return { $set: [...v].map(tagged).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1)) };
  if (v instanceof Map) return { $map: [...v].map(([k, x]) => [tagged(k), tagged(x)]) };
  if (Array.isArray(v)) return v.map(tagged);
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, tagged(x)]));
}

describe('readPickle', () => {
  for (const name of ['refs', 'plain'])
    for (const p of [0, 2, 4, 5])
      it(`reads Python's protocol ${p} pickle of ${name} data`, () => {
        expect(tagged(load(`${name}_p${p}`))).toEqual(expected[`${name}_p${p}`]);
      });

  it('keeps shared references shared and "__proto__" an own key', () => {
    const v = load('plain_p4') as Record<string, PickleValue>;
    const shared = v.shared as PickleValue[][];
    expect(shared[0]).toBe(shared[1]);
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.hasOwn(v, '__proto__')).toBe(true);
    expect(v['__proto__']).toBe('not a prototype');
  });

  it('refuses a pickle that would call os.system, naming the opcode and offset, without running it', () => {
    expect(() => load('malicious_p0')).toThrow(/refused opcode GLOBAL \(0x63 'c'\).*at byte \d+/);
    expect(() => load('malicious_p2')).toThrow(/refused opcode GLOBAL/);
    expect(() => load('malicious_p4')).toThrow(/refused opcode STACK_GLOBAL \(0x93\).* at byte 33/);
    // REDUCE reached directly: PROTO 2, NONE, EMPTY_TUPLE, REDUCE.
    expect(() => readPickle(Uint8Array.from([0x80, 2, 0x4e, 0x29, 0x52, 0x2e]))).toThrow(/REDUCE .* at byte 4/);
    for (const [op, name] of [[0x62, 'BUILD'], [0x81, 'NEWOBJ'], [0x69, 'INST'], [0x51, 'BINPERSID']] as const)
      expect(() => readPickle(Uint8Array.from([0x80, 2, 0x4e, op, 0x2e]))).toThrow(new RegExp(`refused opcode ${name}`));
  });

  it('rejects unknown opcodes, truncation, bad memo keys and leftovers with PickleError', () => {
    expect(() => readPickle(Uint8Array.from([0x80, 2, 0xff]))).toThrow(/unknown opcode 0xff at byte 2/);
    expect(() => readPickle(Uint8Array.from([0x80, 2, 0x58, 9, 0, 0, 0, 0x61]))).toThrow(/truncated/);
    expect(() => readPickle(Uint8Array.from([0x80, 2, 0x68, 3, 0x2e]))).toThrow(/memo key 3/);
    expect(() => readPickle(Uint8Array.from([0x80, 2, 0x4e, 0x4e, 0x2e]))).toThrow(/STOP with 2 items/);
    expect(() => readPickle(Uint8Array.from([0x80, 2, 0x4e]))).toThrow(PickleError);
    expect(() => readPickle(new Uint8Array(0))).toThrow(/empty input/);
  });

  it('refuses nesting deeper than MAX_PICKLE_DEPTH with a PickleError, not a stack overflow', () => {
    const nested = (depth: number) => Uint8Array.from([0x80, 2, ...Array(depth).fill(0x5d), ...Array(depth - 1).fill(0x61), 0x2e]);
    const err = (() => { try { readPickle(nested(200_000)); } catch (e) { return e; } })();
    expect(err).toBeInstanceOf(PickleError);
    expect((err as Error).message).toMatch(/nested more than 1000 deep at byte 400001/);
    let v = readPickle(nested(MAX_PICKLE_DEPTH)) as unknown[];
    let depth = 1;
    while (v.length) v = v[0] as unknown[], depth++;
    expect(depth).toBe(MAX_PICKLE_DEPTH);
    // Deep dicts and tuples too: {'a': {'a': …}} via EMPTY_DICT / SETITEM.
    const dicts = [0x80, 2];
    for (let i = 0; i < 5000; i++) dicts.push(0x7d, 0x8c, 1, 0x61);
    dicts.push(0x4e);
    for (let i = 0; i < 5000; i++) dicts.push(0x73);
    dicts.push(0x2e);
    expect(() => readPickle(Uint8Array.from(dicts))).toThrow(PickleError);
  });

  it('reads a 2 MB LONG4 integer in linear time (byte-by-byte shifting took minutes), and caps decimal ones as Python does', () => {
    const n = 2_000_000;
    const long4 = new Uint8Array(7 + n + 1);
    long4.set([0x80, 2, 0x8b, n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24]);
    long4.fill(0x11, 7, 7 + n);
    long4[6 + n] = 0x91; // top byte with the sign bit: negative
    long4[7 + n] = 0x2e;
    const v = readPickle(long4) as bigint;
    expect(typeof v).toBe('bigint');
    expect(v < 0n).toBe(true);
    expect(Number(BigInt.asUintN(16, v))).toBe(0x1111);
    expect((-v).toString(16).length).toBe(2 * n);
    // LONG1 still exact at the edges.
    expect(readPickle(Uint8Array.from([0x80, 2, 0x8a, 2, 0xff, 0x7f, 0x2e]))).toBe(0x7fff);
    expect(readPickle(Uint8Array.from([0x80, 2, 0x8a, 2, 0x00, 0x80, 0x2e]))).toBe(-0x8000);
    expect(readPickle(Uint8Array.from([0x80, 2, 0x8a, 9, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x2e]))).toBe(1n << 64n);
    // Protocol 0 LONG/INT text: at most 4300 digits (Python's int() limit), a PickleError beyond.
    const text = (digits: number) => Buffer.from(`L${'9'.repeat(digits)}L\n.`, 'latin1');
    expect(readPickle(text(4300))).toBe(10n ** 4300n - 1n);
    expect(() => readPickle(text(100_000))).toThrow(/integer of 100000 characters \(at most 4300 digits\) at byte 0/);
  }, 30_000);

  it('reads Python 2 byte strings (SHORT_BINSTRING, BINSTRING, STRING) as the chosen encoding', () => {
    const short = Uint8Array.from([0x80, 2, 0x55, 2, 0x68, 0x69, 0x2e]);
    expect(readPickle(short)).toBe('hi');
    const nonAscii = Uint8Array.from([0x80, 2, 0x54, 1, 0, 0, 0, 0xe9, 0x2e]);
    expect(() => readPickle(nonAscii)).toThrow(/non-ASCII/);
    expect(readPickle(nonAscii, { stringEncoding: 'latin1' })).toBe('é');
    expect(readPickle(nonAscii, { stringEncoding: 'bytes' })).toEqual(Uint8Array.from([0xe9]));
    expect(readPickle(Buffer.from("S'a\\'b\\n\\x41\\101'\n.", 'latin1'))).toBe("a'b\nAA");
  });
});

describe('writePickle', () => {
  const data = {
    refs: [{ ref_id: 1, sentences: [{ raw: 'red circle — left', sent_id: 7 }], split: 'val' }],
    numbers: [0, 255, 256, 65536, -1, -2147483648, 2147483648, -(2 ** 40), 2 ** 53 - 1, 0.25, -1e-300],
    flags: [true, false, null],
    many: Array.from({ length: 2100 }, (_, i) => i),
  };

  it('round-trips through readPickle and is deterministic', () => {
    const bytes = writePickle(data);
    expect(readPickle(bytes)).toEqual(data);
    expect(writePickle(data)).toEqual(bytes);
  });

  const python = '/usr/bin/python3';
  it.skipIf(!existsSync(python))('is read back by Python as the same data', () => {
    const r = spawnSync(python, ['-c', 'import sys,pickle,json; json.dump(pickle.load(sys.stdin.buffer), sys.stdout)'], {
      input: writePickle(data),
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual(data);
  });
});

describe('readPickle with an allow-list (PyTorch files)', () => {
  const op = (s: string) => [...Buffer.from(s, 'latin1')];
  // GLOBAL '__torch__ M', EMPTY_TUPLE, NEWOBJ, {'a': 1}, BUILD, STOP
  const record = Uint8Array.from([0x80, 2, ...op('c__torch__\nM\n'), 0x29, 0x81, 0x7d, 0x58, 1, 0, 0, 0, ...op('a'),
    0x4b, 1, 0x73, 0x62, 0x2e]);
  const allow = { records: (q: string) => q.startsWith('__torch__.'), values: ['torch.FloatStorage'] };

  it('builds an admitted class as a plain record of its state', () => {
    const r = readPickle(record, { allow }) as unknown as PickleRecord;
    expect(r).toBeInstanceOf(PickleRecord);
    expect(r.cls.qualified).toBe('__torch__.M');
    expect(r.state).toEqual({ a: 1 });
  });

  it('refuses classes, calls and BUILDs the allow-list does not admit', () => {
    expect(() => readPickle(record, { allow: { records: () => false } })).toThrow(/global __torch__\.M is not on the allow-list/);
    // GLOBAL 'torch FloatStorage' () REDUCE: admitted as a value, not as a callable.
    const call = Uint8Array.from([0x80, 2, ...op('ctorch\nFloatStorage\n'), 0x29, 0x52, 0x2e]);
    expect(() => readPickle(call, { allow })).toThrow(/global torch\.FloatStorage may not be called/);
    // [] {} BUILD: BUILD on a plain list.
    const build = Uint8Array.from([0x80, 2, 0x5d, 0x7d, 0x62, 0x2e]);
    expect(() => readPickle(build, { allow })).toThrow(/BUILD on something that is not an admitted object/);
    // BINPERSID without a persistentLoad.
    expect(() => readPickle(Uint8Array.from([0x80, 2, 0x4b, 1, 0x51, 0x2e]), { allow })).toThrow(/refused opcode BINPERSID/);
  });
});
