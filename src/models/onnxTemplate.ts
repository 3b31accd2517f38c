// Models: fills a weight-free graph template (written by `export.py --templates`, models/hybridgl_export/templates.py)
// with tensors. A template is the exported ModelProto with the raw_data of every checkpoint-derived initializer
// cleared; putting the bytes back where protobuf serialises them (TensorProto field 9, between name and doc_string)
// and re-sizing the two enclosing messages gives export.py's file byte for byte. Past protobuf's 2 GiB the
// initializers' data goes to `<file>.data` beside it as ONNX external data instead, laid out as export.py's.
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

/** Bytes per element of the initializer types a template leaves empty (ONNX TensorProto: FLOAT, FLOAT16, INT8). */
const ELEMENT_BYTES: Record<number, number> = { 1: 4, 10: 2, 3: 1 };

/** An initializer the template leaves empty: name, element type (1 float32, 10 float16, 3 int8) and dims. */
export interface EmptyInitializer { name: string; dataType: number; dims: number[]; numel: number; bytes: number }

/** Bytes of the output, in order: literal pieces and the tensors to put in. */
type Piece = Uint8Array | { tensor: EmptyInitializer };

const utf8 = new TextDecoder();

export interface TemplatePlan {
  /** The initializers to fill, in file order. */
  tensors: EmptyInitializer[];
  /** The float (or int8) initializers the template keeps as they are (names, in file order): its graph constants. */
  kept: string[];
  /** Bytes of the tensors to fill. */
  totalBytes: number;
  /** Whether the initializers' data goes to the external-data file. */
  external: boolean;
  pieces: Piece[];
  /** With `external`: the external-data file's bytes, in order. */
  dataPieces: Piece[];
}

/** Protobuf's 2 GiB less 16 MiB for the graph itself: a graph whose initializers hold more bytes keeps them as
 *  external data (export.py's EXTERNAL_DATA_ABOVE, the same rule). */
export const EXTERNAL_DATA_ABOVE = 2 ** 31 - 2 ** 24;

function externalEntry(key: string, value: string): Uint8Array {
  const kb = new TextEncoder().encode(key), vb = new TextEncoder().encode(value);
  const body = Uint8Array.from([...lengthDelimited(1, kb.length), ...kb, ...lengthDelimited(2, vb.length), ...vb]);
  return Uint8Array.from([...lengthDelimited(13, body.length), ...body]);
}

/** Splits a template into literal bytes and the tensor slots that `wanted` names (those with a recipe). Past
 *  `externalDataAbove` bytes of initializer data, every initializer's raw data (the slots' and the template's own
 *  constants') goes, in file order and unpadded, to `externalDataName`: what onnx.save_model(...,
 *  save_as_external_data=True, all_tensors_to_one_file=True, size_threshold=0) writes for export.py. */
export function planTemplate(template: Uint8Array, wanted: (name: string) => boolean, externalDataName: string,
  externalDataAbove = EXTERNAL_DATA_ABOVE): TemplatePlan {
  const top = parseFields(template, 0, template.length);
  const graph = top.find((f) => f.num === 7 && f.wire === 2);
  if (!graph) throw new TemplateError('template has no graph');
  const graphFields = parseFields(template, graph.body[0], graph.body[1]);
  const tensors: EmptyInitializer[] = [], kept: string[] = [];
  interface Initializer { fields: Field[]; tensor?: EmptyInitializer; raw?: Field }
  const initializers = new Map<Field, Initializer>();
  let dataBytes = 0;
  for (const f of graphFields) {
    if (f.num !== 5 || f.wire !== 2) continue;
    const tf = parseFields(template, f.body[0], f.body[1]);
    const nameField = tf.find((x) => x.num === 8);
    const name = nameField ? utf8.decode(template.subarray(nameField.body[0], nameField.body[1])) : '';
    if (tf.some((x) => x.num === 13 || (x.num === 14 && readVarint(template, x.body[0])[0] !== 0)))
      throw new TemplateError(`template initializer ${name} refers to external data`);
    if (!wanted(name)) {
      const type = tf.find((x) => x.num === 2);
      if (type && ELEMENT_BYTES[readVarint(template, type.body[0])[0]]) kept.push(name);
      const raw = tf.find((x) => x.num === 9);
      if (raw) dataBytes += raw.body[1] - raw.body[0];
      initializers.set(f, { fields: tf, raw });
      continue;
    }
    if (tf.some((x) => x.num === 9)) throw new TemplateError(`template initializer ${name} already has data`);
    const dims: number[] = [];
    let dataType = 0;
    for (const x of tf) {
      if (x.num === 1) dims.push(...readInts(template, x));
      else if (x.num === 2) dataType = readVarint(template, x.body[0])[0];
    }
    const width = ELEMENT_BYTES[dataType];
    if (!width) throw new TemplateError(`template initializer ${name} is not float32/float16/int8`);
    const numel = dims.reduce((a, b) => a * b, 1);
    const tensor = { name, dataType, dims, numel, bytes: numel * width };
    tensors.push(tensor);
    dataBytes += tensor.bytes;
    initializers.set(f, { fields: tf, tensor });
  }
  const totalBytes = tensors.reduce((a, t) => a + t.bytes, 0);
  const external = dataBytes > externalDataAbove;
  const slice = (f: Field) => template.subarray(f.start, f.end);
  const size = (ps: Piece[]) => ps.reduce((a, p) => a + (p instanceof Uint8Array ? p.length : p.tensor.bytes), 0);
  const graphPieces: Piece[] = [], dataPieces: Piece[] = [];
  let dataOffset = 0;
  for (const f of graphFields) {
    const init = initializers.get(f);
    if (!init || (!external && !init.tensor)) {
      graphPieces.push(slice(f));
      continue;
    }
    // Inline, a slot's data goes where protobuf serialises raw_data (field 9, in field order); external, raw_data
    // leaves and the external_data entries (13) and data_location EXTERNAL (14) follow the other fields.
    const head = init.fields.filter((x) => x.num < 9).map(slice);
    const tail = init.fields.filter((x) => x.num > 9 && !(external && x.num === 14)).map(slice);
    const data: Piece | undefined = init.tensor ? { tensor: init.tensor }
      : init.raw ? template.subarray(init.raw.body[0], init.raw.body[1]) : undefined;
    let inner: Piece[];
    if (!external) inner = [...head, lengthDelimited(9, init.tensor!.bytes), data!, ...tail];
    else if (!data) inner = init.fields.map(slice); // no raw data (typed fields): stays inline, as onnx leaves it
    else {
      const length = size([data]);
      inner = [...head, ...tail, externalEntry('location', externalDataName), externalEntry('offset', String(dataOffset)),
        externalEntry('length', String(length)), Uint8Array.from([14 * 8, 1])];
      dataPieces.push(data);
      dataOffset += length;
    }
    graphPieces.push(lengthDelimited(5, size(inner)), ...inner);
  }
  const pieces: Piece[] = [];
  for (const f of top) {
    if (f !== graph) pieces.push(slice(f));
    else pieces.push(lengthDelimited(7, size(graphPieces)), ...graphPieces);
  }
  return { tensors, kept, totalBytes, external, pieces, dataPieces };
}

/** Writes the filled template to `path` (and its external data to `dataPath` when the plan says so), streaming:
 *  one tensor in memory at a time. */
export async function writeFilledTemplate(plan: TemplatePlan, path: string, dataPath: string,
  values: (t: EmptyInitializer) => Promise<Uint8Array> | Uint8Array): Promise<void> {
  const fd = openSync(path, 'w');
  const dataFd = plan.external ? openSync(dataPath, 'w') : -1;
  const writeAll = (to: number, b: Uint8Array) => {
    for (let at = 0; at < b.length;) at += writeSync(to, b, at, b.length - at);
  };
  const write = async (to: number, p: Piece) => {
    if (p instanceof Uint8Array) return writeAll(to, p);
    const bytes = await values(p.tensor);
    if (bytes.length !== p.tensor.bytes) throw new TemplateError(`${p.tensor.name}: ${bytes.length} bytes made, the template needs ${p.tensor.bytes}`);
    writeAll(to, bytes);
  };
  try {
    for (const p of plan.pieces) await write(fd, p);
    for (const p of plan.dataPieces) await write(dataFd, p);
  } finally {
    closeSync(fd);
    if (dataFd >= 0) closeSync(dataFd);
  }
}

/** A graph's initializers (inline raw data only) and its nodes, read off the ModelProto bytes. */
export interface GraphContents {
  initializers: Map<string, { dataType: number; dims: number[]; raw?: Uint8Array }>;
  nodes: Array<{ name: string; opType: string; inputs: string[]; outputs: string[] }>;
}

/** A repeated int64 field's values, packed (wire type 2) or not. */
function readInts(buf: Uint8Array, f: Field): number[] {
  if (f.wire === 0) return [readVarint(buf, f.body[0])[0]];
  const out: number[] = [];
  for (let p = f.body[0]; p < f.body[1];) {
    const [v, q] = readVarint(buf, p);
    out.push(v);
    p = q;
  }
  return out;
}

export function readGraph(model: Uint8Array): GraphContents {
  const graph = parseFields(model, 0, model.length).find((f) => f.num === 7 && f.wire === 2);
  if (!graph) throw new TemplateError('model has no graph');
  const text = (f: Field) => utf8.decode(model.subarray(f.body[0], f.body[1]));
  const out: GraphContents = { initializers: new Map(), nodes: [] };
  for (const f of parseFields(model, graph.body[0], graph.body[1])) {
    if (f.wire !== 2 || (f.num !== 1 && f.num !== 5)) continue; // nodes and initializers
    const inner = parseFields(model, f.body[0], f.body[1]);
    if (f.num === 1) {
      const name = inner.find((x) => x.num === 3), op = inner.find((x) => x.num === 4);
      out.nodes.push({ name: name ? text(name) : '', opType: op ? text(op) : '',
        inputs: inner.filter((x) => x.num === 1).map(text), outputs: inner.filter((x) => x.num === 2).map(text) });
    } else if (f.num === 5) {
      const dims = inner.filter((x) => x.num === 1).flatMap((x) => readInts(model, x));
      const type = inner.find((x) => x.num === 2), raw = inner.find((x) => x.num === 9);
      out.initializers.set(text(inner.find((x) => x.num === 8)!), { dataType: type ? readVarint(model, type.body[0])[0] : 0,
        dims, raw: raw && model.subarray(raw.body[0], raw.body[1]) });
    }
  }
  return out;
}
