// Models: fills a weight-free graph template (written by `export.py --templates`, models/hybridgl_export/templates.py)
// with tensors. A template is the exported ModelProto with the raw_data of every checkpoint-derived initializer
// cleared; putting the bytes back where protobuf serialises them (TensorProto field 9, between name and doc_string)
// and re-sizing the two enclosing messages gives export.py's file byte for byte. Over 2 GiB (protobuf's limit) the
// tensors go to a `<file>.data` beside it as ONNX external data instead.
import { closeSync, openSync, writeSync } from 'node:fs';

export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

interface Field { num: number; wire: number; start: number; end: number; body: [number, number] }

function readVarint(buf: Uint8Array, pos: number): [number, number] {
  let v = 0, mul = 1;
  for (let i = 0; i < 10; i++) {
    const b = buf[pos + i];
    if (b === undefined) throw new TemplateError('template: truncated varint');
    v += (b & 0x7f) * mul;
    mul *= 128;
    if (!(b & 0x80)) return [v, pos + i + 1];
  }
  throw new TemplateError('template: bad varint');
}

function parseFields(buf: Uint8Array, start: number, end: number): Field[] {
  const out: Field[] = [];
  let p = start;
  while (p < end) {
    const s = p;
    const [tag, q] = readVarint(buf, p);
    const num = Math.floor(tag / 8), wire = tag & 7;
    let bodyStart = q, bodyEnd: number;
    if (wire === 0) bodyEnd = readVarint(buf, q)[1];
    else if (wire === 1) bodyEnd = q + 8;
    else if (wire === 5) bodyEnd = q + 4;
    else if (wire === 2) {
      const [len, r] = readVarint(buf, q);
      bodyStart = r;
      bodyEnd = r + len;
    } else throw new TemplateError(`template: unsupported wire type ${wire}`);
    if (bodyEnd > end) throw new TemplateError('template: field runs past its message');
    out.push({ num, wire, start: s, end: bodyEnd, body: [bodyStart, bodyEnd] });
    p = bodyEnd;
  }
  return out;
}

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 128) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

function lengthDelimited(num: number, len: number): Uint8Array {
  return Uint8Array.from([...varint(num * 8 + 2), ...varint(len)]);
}

/** An initializer the template leaves empty: name, element type (1 float32, 10 float16) and dims. */
export interface EmptyInitializer { name: string; dataType: number; dims: number[]; numel: number; bytes: number }

/** Bytes of the output, in order: literal pieces and the tensors to put in. */
type Piece = Uint8Array | { tensor: EmptyInitializer };

const utf8 = new TextDecoder();

export interface TemplatePlan {
  /** The initializers to fill, in file order. */
  tensors: EmptyInitializer[];
  totalBytes: number;
  external: boolean;
  pieces: Piece[];
}

/** Splits a template into literal bytes and the tensor slots that `wanted` names (those with a recipe). */
export function planTemplate(template: Uint8Array, wanted: (name: string) => boolean, externalDataName: string,
  maxInlineBytes = 2 ** 31 - 2 ** 24): TemplatePlan {
  const top = parseFields(template, 0, template.length);
  const graph = top.find((f) => f.num === 7 && f.wire === 2);
  if (!graph) throw new TemplateError('template has no graph');
  const graphFields = parseFields(template, graph.body[0], graph.body[1]);
  const tensors: EmptyInitializer[] = [];
  const slots = new Map<Field, { head: Field[]; tail: Field[]; tensor: EmptyInitializer }>();
  for (const f of graphFields) {
    if (f.num !== 5 || f.wire !== 2) continue;
    const tf = parseFields(template, f.body[0], f.body[1]);
    const nameField = tf.find((x) => x.num === 8);
    const name = nameField ? utf8.decode(template.subarray(nameField.body[0], nameField.body[1])) : '';
    if (!wanted(name)) continue;
    if (tf.some((x) => x.num === 9 || x.num === 13)) throw new TemplateError(`template initializer ${name} already has data`);
    const dims: number[] = [];
    let dataType = 0;
    for (const x of tf) {
      if (x.num === 1 && x.wire === 0) dims.push(readVarint(template, x.body[0])[0]);
      else if (x.num === 1 && x.wire === 2) {
        for (let p = x.body[0]; p < x.body[1];) {
          const [v, q] = readVarint(template, p);
          dims.push(v);
          p = q;
        }
      } else if (x.num === 2) dataType = readVarint(template, x.body[0])[0];
    }
    if (dataType !== 1 && dataType !== 10) throw new TemplateError(`template initializer ${name} is not float32/float16`);
    const numel = dims.reduce((a, b) => a * b, 1);
    const tensor = { name, dataType, dims, numel, bytes: numel * (dataType === 1 ? 4 : 2) };
    tensors.push(tensor);
    slots.set(f, { head: tf.filter((x) => x.num < 9), tail: tf.filter((x) => x.num > 9), tensor });
  }
  const totalBytes = tensors.reduce((a, t) => a + t.bytes, 0);
  const external = template.length + totalBytes > maxInlineBytes;
  const slice = (f: Field) => template.subarray(f.start, f.end);
  const concat = (fs: Field[]) => fs.map(slice);
  const size = (ps: Piece[]) => ps.reduce((a, p) => a + (p instanceof Uint8Array ? p.length : p.tensor.bytes), 0);
  const graphPieces: Piece[] = [];
  let externalOffset = 0;
  for (const f of graphFields) {
    const slot = slots.get(f);
    if (!slot) {
      graphPieces.push(slice(f));
      continue;
    }
    let inner: Piece[];
    if (!external) inner = [...concat(slot.head), lengthDelimited(9, slot.tensor.bytes), { tensor: slot.tensor },
      ...concat(slot.tail)];
    else {
      const entry = (k: string, v: string) => {
        const kb = new TextEncoder().encode(k), vb = new TextEncoder().encode(v);
        const body = Uint8Array.from([...lengthDelimited(1, kb.length), ...kb, ...lengthDelimited(2, vb.length), ...vb]);
        return Uint8Array.from([...lengthDelimited(13, body.length), ...body]);
      };
      inner = [...concat(slot.head), ...concat(slot.tail), entry('location', externalDataName),
        entry('offset', String(externalOffset)), entry('length', String(slot.tensor.bytes)), Uint8Array.from([14 * 8, 1])];
      externalOffset += slot.tensor.bytes;
    }
    graphPieces.push(lengthDelimited(5, size(inner)), ...inner);
  }
  const pieces: Piece[] = [];
  for (const f of top) {
    if (f !== graph) pieces.push(slice(f));
    else pieces.push(lengthDelimited(7, size(graphPieces)), ...graphPieces);
  }
  return { tensors, totalBytes, external, pieces };
}

/** Writes the filled template to `path` (and its external data to `dataPath` when the plan says so). */
export async function writeFilledTemplate(plan: TemplatePlan, path: string, dataPath: string,
  values: (t: EmptyInitializer) => Promise<Uint8Array> | Uint8Array): Promise<void> {
  const fd = openSync(path, 'w');
  const dataFd = plan.external ? openSync(dataPath, 'w') : -1;
  const writeAll = (to: number, b: Uint8Array) => {
    for (let at = 0; at < b.length;) at += writeSync(to, b, at, b.length - at);
  };
  const tensor = async (to: number, t: EmptyInitializer) => {
    const bytes = await values(t);
    if (bytes.length !== t.bytes) throw new TemplateError(`${t.name}: ${bytes.length} bytes made, the template needs ${t.bytes}`);
    writeAll(to, bytes);
  };
  try {
    for (const p of plan.pieces) {
      if (p instanceof Uint8Array) writeAll(fd, p);
      else await tensor(fd, p.tensor);
    }
    if (plan.external) for (const t of plan.tensors) await tensor(dataFd, t);
  } finally {
    closeSync(fd);
    if (dataFd >= 0) closeSync(dataFd);
  }
}
