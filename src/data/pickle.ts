// Spec §0: a safe reader (and a small writer) for the Python pickles of the REFER layout (`refs(<splitBy>).p`).
//
// The reader understands the opcodes Python writes for plain data (protocols 0–5: None, bool, int, float, str,
// bytes, bytearray, list, tuple, dict, set, frozenset, memo) and builds plain JS data. Anything that would make
// Python call code (GLOBAL, STACK_GLOBAL, REDUCE, BUILD, INST, OBJ, NEWOBJ, PERSID, EXT, out-of-band buffers) is
// refused with an error naming the opcode and its byte offset; nothing is ever executed or looked up. A caller that
// reads PyTorch files passes an allow-list (src/models/torchPickle.ts): exactly the globals it names are admitted, each
// mapped to a data constructor written here or there; any other global is refused by name.

/** What a pickle becomes: dicts with only str keys are plain objects, other dicts `Map`s; tuples are arrays;
 *  ints beyond ±2^53 are `bigint`; bytes and bytearray are `Uint8Array`; sets are `Set`s. */
export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PickleValue[]
  | Set<PickleValue>
  | Map<PickleValue, PickleValue>
  | { [key: string]: PickleValue };

export interface ReadPickleOptions {
  /** How protocol-0/1/2 byte strings (Python 2 `str`, opcodes S/T/U) are decoded: 'ascii' (Python 3's default,
   *  non-ASCII is an error), 'latin1', 'utf8', or 'bytes' (kept as Uint8Array). */
  stringEncoding?: 'ascii' | 'latin1' | 'utf8' | 'bytes';
  /** Globals to admit (GLOBAL, STACK_GLOBAL, REDUCE, NEWOBJ, BUILD, BINPERSID); without it all are refused. */
  allow?: PickleAllowList;
}

export class PickleError extends Error {
  constructor(message: string, readonly offset: number) {
    super(`pickle: ${message} at byte ${offset}`);
    this.name = 'PickleError';
  }
}

/** A global (module.name) the caller's allow-list admits, as a value: e.g. a storage type inside a persistent id. */
export class PickleGlobal {
  constructor(readonly module: string, readonly name: string) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}

/** An instance of an admitted class (NEWOBJ with no arguments), kept as a plain record of the state BUILD gave it;
 *  none of its code exists here or runs. */
export class PickleRecord {
  state: PickleValue = null;
  constructor(readonly cls: PickleGlobal) {}
}

/** The globals a pickle may name, and what each becomes; every other global is refused. Nothing is executed:
 *  each admitted name maps to a data constructor written here. */
export interface PickleAllowList {
  /** Callables for REDUCE: qualified name → the value built from the (converted) argument tuple. */
  reduce?: Record<string, (args: PickleValue[]) => unknown>;
  /** Classes whose REDUCE with no arguments is an empty dict that SETITEMS then fills (collections.OrderedDict);
   *  BUILD on them (their __dict__, e.g. a state_dict's _metadata) is read and dropped. */
  dicts?: readonly string[];
  /** Names that may only appear as values (PickleGlobal). */
  values?: readonly string[];
  /** Classes admitted for NEWOBJ + BUILD as PickleRecords. */
  records?: (qualified: string) => boolean;
  /** BINPERSID: the persistent id (converted) → the value it stands for. */
  persistentLoad?: (pid: PickleValue) => unknown;
}

// Opcodes that would run code or need out-of-band data: named in the error, never executed.
const REFUSED: Record<number, string> = {
  0x50: 'PERSID', 0x51: 'BINPERSID', 0x52: 'REDUCE', 0x62: 'BUILD', 0x63: 'GLOBAL', 0x69: 'INST', 0x6f: 'OBJ',
  0x81: 'NEWOBJ', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x92: 'NEWOBJ_EX', 0x93: 'STACK_GLOBAL',
  0x97: 'NEXT_BUFFER', 0x98: 'READONLY_BUFFER',
};

/** A dict while it is being built: its keys are known only once the pickle is complete. */
class PendingDict {
  readonly entries: Array<[unknown, unknown]> = [];
}
/** The MARK opcode's place on the stack. */
const MARK = Symbol('mark');

const utf8 = new TextDecoder('utf-8', { fatal: true });
const latin1 = new TextDecoder('latin1');

function opcodeName(op: number): string {
  const ch = op >= 0x20 && op < 0x7f ? ` '${String.fromCharCode(op)}'` : '';
  return `0x${op.toString(16).padStart(2, '0')}${ch}`;
}

function toSafeInt(v: bigint): number | bigint {
  return v >= -BigInt(Number.MAX_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

/** Two's-complement little-endian integer (LONG1/LONG4), in time linear in its length: one hex string, parsed once
 *  (shifting a BigInt byte by byte copies it each time: quadratic, minutes for a 1 MB LONG4). */
function signedLE(bytes: Uint8Array): bigint {
  if (bytes.length === 0) return 0n;
  const digits = new Array<string>(bytes.length);
  for (let i = 0; i < bytes.length; i++) digits[bytes.length - 1 - i] = HEX[bytes[i]];
  const v = BigInt(`0x${digits.join('')}`);
  return bytes[bytes.length - 1] & 0x80 ? v - (1n << BigInt(8 * bytes.length)) : v;
}

/** Python's `raw-unicode-escape` decoding (protocol-0 str): \uXXXX and \UXXXXXXXX, other bytes are Latin-1. */
function rawUnicodeEscape(bytes: Uint8Array, offset: number): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === 0x5c && i + 1 < bytes.length && (bytes[i + 1] === 0x75 || bytes[i + 1] === 0x55)) {
      const n = bytes[i + 1] === 0x75 ? 4 : 8;
      const hex = latin1.decode(bytes.subarray(i + 2, i + 2 + n));
      if (hex.length !== n || !/^[0-9a-fA-F]+$/.test(hex)) throw new PickleError('bad \\u escape in UNICODE', offset);
      out += String.fromCodePoint(parseInt(hex, 16));
      i += 1 + n;
    } else {
      out += String.fromCharCode(b);
    }
  }
  return out;
}

/** A protocol-0 STRING argument: a Python 2 repr, quoted, with backslash escapes. */
function unquoteString(line: string, offset: number): Uint8Array {
  const q = line[0];
  if (line.length < 2 || (q !== "'" && q !== '"') || line[line.length - 1] !== q)
    throw new PickleError('STRING argument is not quoted', offset);
  const body = line.slice(1, -1);
  const out: number[] = [];
  const simple: Record<string, number> = { n: 10, t: 9, r: 13, a: 7, b: 8, f: 12, v: 11, '\\': 92, "'": 39, '"': 34 };
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== '\\') {
      out.push(body.charCodeAt(i) & 0xff);
      continue;
    }
    const e = body[++i];
    if (e in simple) out.push(simple[e]);
    else if (e === 'x') {
      out.push(parseInt(body.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (e >= '0' && e <= '7') {
      let j = i;
      while (j < i + 3 && body[j] >= '0' && body[j] <= '7') j++;
      out.push(parseInt(body.slice(i, j), 8) & 0xff);
      i = j - 1;
    } else if (e === '\n') continue;
    else out.push(92, body.charCodeAt(i) & 0xff);
  }
  return Uint8Array.from(out);
}

/** The most digits a protocol-0 INT/LONG may have, as Python's int() from text. */
export const MAX_DECIMAL_DIGITS = 4300;

/** Reads a pickle into plain JS data; throws PickleError for anything it does not support. */
export function readPickle(data: Uint8Array, options: ReadPickleOptions = {}): PickleValue {
  if (data.length === 0) throw new PickleError('empty input', 0);
  return new Unpickler(data, options).run();
}

/** The bytes of a pickle and the primitive reads of its arguments; a failure names the current opcode's offset. */
class PickleInput {
  pos = 0;
  opStart = 0;
  private readonly view: DataView;

  constructor(readonly data: Uint8Array) {
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }

  fail(msg: string): never {
    throw new PickleError(msg, this.opStart);
  }

  need(n: number): void {
    if (this.pos + n > this.data.length) this.fail(`truncated data (needs ${n} more bytes)`);
  }

  u8(): number {
    this.need(1);
    return this.data[this.pos++];
  }

  u16(): number {
    this.need(2);
    this.pos += 2;
    return this.view.getUint16(this.pos - 2, true);
  }

  u32(): number {
    this.need(4);
    this.pos += 4;
    return this.view.getUint32(this.pos - 4, true);
  }

  i32(): number {
    this.need(4);
    this.pos += 4;
    return this.view.getInt32(this.pos - 4, true);
  }

  /** An 8-byte length, at most the data's. */
  u64(): number {
    this.need(8);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    if (v > BigInt(this.data.length)) this.fail('8-byte length exceeds the data');
    return Number(v);
  }

  f64(): number {
    this.need(8);
    this.pos += 8;
    return this.view.getFloat64(this.pos - 8, false);
  }

  bytes(n: number): Uint8Array {
    if (n < 0) this.fail('negative length');
    this.need(n);
    this.pos += n;
    return this.data.subarray(this.pos - n, this.pos);
  }

  /** A protocol-0 text argument, up to its newline. */
  line(): string {
    const end = this.data.indexOf(0x0a, this.pos);
    if (end < 0) this.fail('unterminated text argument');
    const s = latin1.decode(this.data.subarray(this.pos, end));
    this.pos = end + 1;
    return s;
  }

  utf8Str(b: Uint8Array): string {
    try {
      return utf8.decode(b);
    } catch {
      return this.fail('invalid UTF-8 in a str');
    }
  }

  decimalInt(s: string): number | bigint {
    // Decimal parsing is superlinear: Python (3.11+) refuses more digits too (sys.int_info.default_max_str_digits).
    if (s.length > MAX_DECIMAL_DIGITS + 1) this.fail(`integer of ${s.length} characters (at most ${MAX_DECIMAL_DIGITS} digits)`);
    if (!/^[+-]?\d+$/.test(s)) this.fail(`bad integer '${s.length > 40 ? `${s.slice(0, 40)}…` : s}'`);
    return toSafeInt(BigInt(s));
  }
}

/** The pickle machine: its stack and memo, the opcodes by kind, and what the allow-list made. */
class Unpickler {
  private readonly input: PickleInput;
  private readonly enc: NonNullable<ReadPickleOptions['stringEncoding']>;
  private readonly allow: PickleAllowList | undefined;
  // What the allow-list made: final values that finish() passes through (records get their state converted).
  private readonly external = new WeakSet<object>();
  private readonly dictLike = new WeakSet<PendingDict>();
  private readonly pendingState = new Map<PickleRecord, unknown>();
  private readonly stack: unknown[] = [];
  private readonly memo = new Map<number, unknown>();

  constructor(data: Uint8Array, options: ReadPickleOptions) {
    this.input = new PickleInput(data);
    this.enc = options.stringEncoding ?? 'ascii';
    this.allow = options.allow;
  }

  run(): PickleValue {
    const input = this.input;
    for (;;) {
      input.opStart = input.pos;
      const op = input.u8();
      if (op === 0x2e) { // STOP
        const stack = this.stack;
        if (stack.length !== 1 || stack[0] === MARK) input.fail(`STOP with ${stack.length} items on the stack`);
        return this.finish(stack[0], input.opStart);
      }
      if (!(this.scalarOp(op) || this.memoOp(op) || this.containerOp(op) || this.stackOp(op) || this.objectOp(op))) {
        if (op in REFUSED) input.fail(`refused opcode ${REFUSED[op]} (${opcodeName(op)}): it would call code`);
        input.fail(`unknown opcode ${opcodeName(op)}`);
      }
    }
  }

  private finish(v: unknown, offset = 0): PickleValue {
    return finishValue(v, offset, this.external, this.pendingState);
  }

  private pop(): unknown {
    return this.stack.length === 0 ? this.input.fail('stack underflow') : this.stack.pop();
  }

  private top(): unknown {
    return this.stack.length === 0 ? this.input.fail('stack underflow') : this.stack[this.stack.length - 1];
  }

  private popMark(): unknown[] {
    const stack = this.stack;
    for (let i = stack.length - 1; i >= 0; i--)
      if (stack[i] === MARK) {
        const items = stack.slice(i + 1);
        stack.length = i;
        return items;
      }
    return this.input.fail('no MARK on the stack');
  }

  private byteString(b: Uint8Array): unknown {
    if (this.enc === 'bytes') return Uint8Array.from(b);
    if (this.enc === 'latin1') return latin1.decode(b);
    if (this.enc === 'utf8') return this.input.utf8Str(b);
    for (const c of b) if (c > 0x7f) this.input.fail("non-ASCII byte string (pass stringEncoding 'latin1', 'utf8' or 'bytes')");
    return latin1.decode(b);
  }

  /** Framing, MARK, POP, DUP: the opcodes that only move the stack. */
  private stackOp(op: number): boolean {
    const input = this.input;
    switch (op) {
      case 0x80: { // PROTO
        const v = input.u8();
        if (v > 5) input.fail(`unsupported protocol ${v}`);
        return true;
      }
      case 0x95: // FRAME: framing only groups reads; its contents are parsed in place.
        if (input.u64() > input.data.length - input.pos) input.fail('FRAME longer than the data');
        return true;
      case 0x28: this.stack.push(MARK); return true; // MARK
      case 0x30: this.pop(); return true; // POP
      case 0x31: this.popMark(); return true; // POP_MARK
      case 0x32: this.stack.push(this.top()); return true; // DUP
      default: return false;
    }
  }

  /** None, bools, ints, floats, strings and bytes: pushes the value. */
  private scalarOp(op: number): boolean {
    const input = this.input;
    let v: unknown;
    switch (op) {
      case 0x4e: v = null; break; // NONE
      case 0x88: v = true; break; // NEWTRUE
      case 0x89: v = false; break; // NEWFALSE
      case 0x49: { // INT (protocol 0; "01"/"00" are True/False)
        const s = input.line();
        v = s === '01' ? true : s === '00' ? false : input.decimalInt(s);
        break;
      }
      case 0x4c: v = input.decimalInt(input.line().replace(/L$/, '')); break; // LONG
      case 0x4a: v = input.i32(); break; // BININT
      case 0x4b: v = input.u8(); break; // BININT1
      case 0x4d: v = input.u16(); break; // BININT2
      case 0x8a: v = toSafeInt(signedLE(input.bytes(input.u8()))); break; // LONG1
      case 0x8b: v = toSafeInt(signedLE(input.bytes(input.i32()))); break; // LONG4
      case 0x46: { // FLOAT
        const s = input.line().trim();
        v = s === 'inf' ? Infinity : s === '-inf' ? -Infinity : s === 'nan' ? NaN : Number(s);
        if (Number.isNaN(v) && s !== 'nan') input.fail(`bad float '${s}'`);
        break;
      }
      case 0x47: v = input.f64(); break; // BINFLOAT
      case 0x53: v = this.byteString(unquoteString(input.line(), input.opStart)); break; // STRING
      case 0x54: v = this.byteString(input.bytes(input.i32())); break; // BINSTRING
      case 0x55: v = this.byteString(input.bytes(input.u8())); break; // SHORT_BINSTRING
      case 0x56: { // UNICODE
        const start = input.pos;
        input.line();
        v = rawUnicodeEscape(input.data.subarray(start, input.pos - 1), input.opStart);
        break;
      }
      case 0x58: v = input.utf8Str(input.bytes(input.u32())); break; // BINUNICODE
      case 0x8c: v = input.utf8Str(input.bytes(input.u8())); break; // SHORT_BINUNICODE
      case 0x8d: v = input.utf8Str(input.bytes(input.u64())); break; // BINUNICODE8
      case 0x42: v = Uint8Array.from(input.bytes(input.u32())); break; // BINBYTES
      case 0x43: v = Uint8Array.from(input.bytes(input.u8())); break; // SHORT_BINBYTES
      case 0x8e: v = Uint8Array.from(input.bytes(input.u64())); break; // BINBYTES8
      case 0x96: v = Uint8Array.from(input.bytes(input.u64())); break; // BYTEARRAY8
      default: return false;
    }
    this.stack.push(v);
    return true;
  }

  private addItems(target: unknown, items: unknown[]): void {
    if (target instanceof PendingDict) {
      if (items.length % 2) this.input.fail('odd number of items for SETITEMS');
      for (let i = 0; i < items.length; i += 2) target.entries.push([items[i], items[i + 1]]);
    } else this.input.fail('SETITEM(S) target is not a dict');
  }

  private appendItems(target: unknown, items: unknown[]): void {
    if (!Array.isArray(target)) this.input.fail('APPEND(S) target is not a list');
    for (const it of items) (target as unknown[]).push(it);
  }

  /** Lists, tuples, dicts and sets: made empty or from the items above a MARK, and filled. */
  private containerOp(op: number): boolean {
    const stack = this.stack;
    switch (op) {
      case 0x5d: stack.push([]); return true; // EMPTY_LIST
      case 0x6c: stack.push(this.popMark()); return true; // LIST
      case 0x61: { // APPEND
        const v = this.pop();
        this.appendItems(this.top(), [v]);
        return true;
      }
      case 0x65: { // APPENDS
        const items = this.popMark();
        this.appendItems(this.top(), items);
        return true;
      }
      case 0x29: stack.push(Object.freeze([])); return true; // EMPTY_TUPLE
      case 0x74: stack.push(Object.freeze(this.popMark())); return true; // TUPLE
      case 0x85: stack.push(Object.freeze([this.pop()])); return true; // TUPLE1
      case 0x86: { // TUPLE2
        const b = this.pop(), a = this.pop();
        stack.push(Object.freeze([a, b]));
        return true;
      }
      case 0x87: { // TUPLE3
        const c = this.pop(), b = this.pop(), a = this.pop();
        stack.push(Object.freeze([a, b, c]));
        return true;
      }
      case 0x7d: stack.push(new PendingDict()); return true; // EMPTY_DICT
      case 0x64: { // DICT
        const d = new PendingDict();
        this.addItems(d, this.popMark());
        stack.push(d);
        return true;
      }
      case 0x73: { // SETITEM
        const v = this.pop(), k = this.pop();
        this.addItems(this.top(), [k, v]);
        return true;
      }
      case 0x75: { // SETITEMS
        const items = this.popMark();
        this.addItems(this.top(), items);
        return true;
      }
      case 0x8f: stack.push(new Set()); return true; // EMPTY_SET
      case 0x90: { // ADDITEMS
        const items = this.popMark();
        const s = this.top();
        if (!(s instanceof Set)) this.input.fail('ADDITEMS target is not a set');
        for (const it of items) (s as Set<unknown>).add(it);
        return true;
      }
      case 0x91: stack.push(new Set(this.popMark())); return true; // FROZENSET
      default: return false;
    }
  }

  private memoGet(i: number): unknown {
    return this.memo.has(i) ? this.memo.get(i) : this.input.fail(`memo key ${i} not defined`);
  }

  /** PUT, GET and MEMOIZE. */
  private memoOp(op: number): boolean {
    const input = this.input, memo = this.memo;
    switch (op) {
      case 0x70: memo.set(Number(input.decimalInt(input.line())), this.top()); return true; // PUT
      case 0x71: memo.set(input.u8(), this.top()); return true; // BINPUT
      case 0x72: memo.set(input.u32(), this.top()); return true; // LONG_BINPUT
      case 0x94: memo.set(memo.size, this.top()); return true; // MEMOIZE
      case 0x67: this.stack.push(this.memoGet(Number(input.decimalInt(input.line())))); return true; // GET
      case 0x68: this.stack.push(this.memoGet(input.u8())); return true; // BINGET
      case 0x6a: this.stack.push(this.memoGet(input.u32())); return true; // LONG_BINGET
      default: return false;
    }
  }

  private refuse(op: number): never {
    return this.input.fail(`refused opcode ${REFUSED[op]} (${opcodeName(op)}): it would call code`);
  }

  private admitGlobal(module: string, name: string): PickleGlobal {
    const allow = this.allow!;
    const g = new PickleGlobal(module.trim(), name.trim());
    const q = g.qualified;
    const ok = allow.values?.includes(q) || allow.dicts?.includes(q) || (allow.reduce && Object.hasOwn(allow.reduce, q)) ||
      allow.records?.(q);
    if (!ok) this.input.fail(`global ${q} is not on the allow-list`);
    return g;
  }

  /** The opcodes that name globals or build objects: refused without an allow-list, else what it admits. */
  private objectOp(op: number): boolean {
    const input = this.input, allow = this.allow, stack = this.stack;
    switch (op) {
      case 0x63: // GLOBAL
        if (!allow) this.refuse(op);
        stack.push(this.admitGlobal(input.line(), input.line()));
        return true;
      case 0x93: { // STACK_GLOBAL
        if (!allow) this.refuse(op);
        const name = this.pop(), module = this.pop();
        if (typeof module !== 'string' || typeof name !== 'string') input.fail('STACK_GLOBAL needs two str');
        stack.push(this.admitGlobal(module as string, name as string));
        return true;
      }
      case 0x52: { // REDUCE
        if (!allow) this.refuse(op);
        const args = this.pop(), fn = this.pop();
        if (!(fn instanceof PickleGlobal) || !Array.isArray(args)) input.fail('REDUCE of something that is not an admitted global');
        const g = fn as PickleGlobal;
        if (allow!.dicts?.includes(g.qualified)) {
          if ((args as unknown[]).length) input.fail(`${g.qualified} with arguments`);
          const d = new PendingDict();
          this.dictLike.add(d);
          stack.push(d);
        } else if (allow!.reduce && Object.hasOwn(allow!.reduce, g.qualified)) {
          const made = allow!.reduce[g.qualified](this.finish(args, input.opStart) as PickleValue[]);
          if (made !== null && typeof made === 'object') this.external.add(made);
          stack.push(made);
        } else input.fail(`global ${g.qualified} may not be called`);
        return true;
      }
      case 0x81: { // NEWOBJ
        if (!allow) this.refuse(op);
        const args = this.pop(), cls = this.pop();
        if (!(cls instanceof PickleGlobal) || !allow!.records?.(cls.qualified))
          input.fail(`NEWOBJ of ${cls instanceof PickleGlobal ? cls.qualified : 'a non-class'}`);
        if (!Array.isArray(args) || args.length) input.fail('NEWOBJ with arguments');
        stack.push(new PickleRecord(cls as PickleGlobal));
        return true;
      }
      case 0x62: { // BUILD
        if (!allow) this.refuse(op);
        const state = this.pop(), target = this.top();
        if (target instanceof PickleRecord) this.pendingState.set(target, state);
        else if (!(target instanceof PendingDict && this.dictLike.has(target))) input.fail('BUILD on something that is not an admitted object');
        return true;
      }
      case 0x51: { // BINPERSID
        if (!allow?.persistentLoad) this.refuse(op);
        const made = allow!.persistentLoad!(this.finish(this.pop(), input.opStart));
        if (made !== null && typeof made === 'object') this.external.add(made);
        stack.push(made);
        return true;
      }
      default: return false;
    }
  }
}

/** How deeply containers may nest (refs pickles nest 4 deep); deeper is a PickleError, not a stack overflow. */
export const MAX_PICKLE_DEPTH = 1000;

/** Turns the parse-time containers into the final shapes (dicts need all their keys known), keeping sharing. */
function finishValue(root: unknown, offset: number, external?: WeakSet<object>,
  pendingState?: Map<PickleRecord, unknown>): PickleValue {
  const done = new Map<object, PickleValue>();
  const convert = (v: unknown, depth = 0): PickleValue => {
    if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return v as PickleValue;
    const seen = done.get(v);
    if (seen !== undefined) return seen;
    if (depth >= MAX_PICKLE_DEPTH) throw new PickleError(`containers nested more than ${MAX_PICKLE_DEPTH} deep`, offset);
    const inner = (x: unknown) => convert(x, depth + 1);
    if (v instanceof PickleGlobal || external?.has(v)) return v as PickleValue;
    if (v instanceof PickleRecord) {
      done.set(v, v as unknown as PickleValue);
      if (pendingState?.has(v)) v.state = inner(pendingState.get(v));
      return v as unknown as PickleValue;
    }
    if (Array.isArray(v)) {
      // Lists are converted in place so that shared and self-referencing lists stay shared.
      const arr = Object.isFrozen(v) ? [...v] : v;
      done.set(v, arr as PickleValue[]);
      for (let i = 0; i < arr.length; i++) arr[i] = inner(arr[i]);
      return arr as PickleValue[];
    }
    if (v instanceof Set) {
      const s = new Set<PickleValue>();
      done.set(v, s);
      for (const it of v) s.add(inner(it));
      return s;
    }
    if (v instanceof PendingDict) {
      if (v.entries.every(([k]) => typeof k === 'string')) {
        const o: { [key: string]: PickleValue } = {};
        done.set(v, o);
        // defineProperty: a key such as "__proto__" becomes an ordinary own property.
        for (const [k, val] of v.entries)
          Object.defineProperty(o, k as string, { value: inner(val), enumerable: true, writable: true, configurable: true });
        return o;
      }
      const m = new Map<PickleValue, PickleValue>();
      done.set(v, m);
      for (const [k, val] of v.entries) m.set(inner(k), inner(val));
      return m;
    }
    throw new PickleError('internal: unexpected value on the stack', 0);
  };
  return convert(root);
}

/** Plain data the writer accepts (what a refs pickle holds). */
export type PickleWritable = null | boolean | number | string | PickleWritable[] | { [key: string]: PickleWritable };

/** Writes plain data as a protocol-2 pickle that Python's `pickle.load` reads back as the same data. Integers
 *  become int, other numbers float; object keys keep their insertion order. Deterministic: same data, same bytes. */
export function writePickle(value: PickleWritable): Uint8Array {
  const out: number[] = [0x80, 2];
  const u32 = (n: number) => out.push(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
  const BATCH = 1000; // as Python batches APPENDS/SETITEMS
  const write = (v: PickleWritable, depth: number): void => {
    if (depth > 1000) throw new RangeError('writePickle: data nested too deeply');
    if (v === null) out.push(0x4e);
    else if (v === true) out.push(0x88);
    else if (v === false) out.push(0x89);
    else if (typeof v === 'number') {
      if (Number.isInteger(v) && v >= 0 && v < 256) out.push(0x4b, v);
      else if (Number.isInteger(v) && v >= 0 && v < 65536) out.push(0x4d, v & 0xff, v >> 8);
      else if (Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff) out.push(0x4a), u32(v);
      else if (Number.isSafeInteger(v)) {
        let b = BigInt(v);
        const bytes: number[] = [];
        // Minimal two's complement, as Python's LONG1 encoder.
        for (;;) {
          bytes.push(Number(b & 0xffn));
          b >>= 8n;
          if ((b === 0n && !(bytes[bytes.length - 1] & 0x80)) || (b === -1n && bytes[bytes.length - 1] & 0x80)) break;
        }
        out.push(0x8a, bytes.length, ...bytes);
      } else {
        const b = new DataView(new ArrayBuffer(8));
        b.setFloat64(0, v, false);
        out.push(0x47);
        for (let i = 0; i < 8; i++) out.push(b.getUint8(i));
      }
    } else if (typeof v === 'string') {
      const b = new TextEncoder().encode(v);
      out.push(0x58);
      u32(b.length);
      for (const x of b) out.push(x);
    } else if (Array.isArray(v)) {
      out.push(0x5d);
      for (let i = 0; i < v.length; i += BATCH) {
        out.push(0x28);
        for (const it of v.slice(i, i + BATCH)) write(it, depth + 1);
        out.push(0x65);
      }
    } else if (typeof v === 'object') {
      const entries = Object.entries(v);
      out.push(0x7d);
      for (let i = 0; i < entries.length; i += BATCH) {
        out.push(0x28);
        for (const [k, val] of entries.slice(i, i + BATCH)) write(k, depth + 1), write(val, depth + 1);
        out.push(0x75);
      }
    } else throw new TypeError(`writePickle: cannot write a value of type ${typeof v}`);
  };
  write(value, 0);
  out.push(0x2e);
  return Uint8Array.from(out);
}
