// What a POST /v1/segment asks for, read from a multipart form, a raw image body or JSON (plus the query string), and
// checked field by field: every fault is an HttpError naming the field, before any model work starts.
import { open, realpath, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';

import type { FastifyRequest } from 'fastify';
import sharp from 'sharp';

import type { SegmentOptions } from '../segmenter.ts';

/** An HTTP error answered as JSON `{ error, field }`. */
export class HttpError extends Error {
  constructor(readonly status: number, readonly field: string | undefined, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
    this.name = 'HttpError';
  }
}

export interface RequestLimits {
  /** Most bytes of an image (upload, base64 or file). */
  maxImageBytes: number;
  /** Most pixels (width × height, read from the header before decoding). */
  maxPixels: number;
  /** The only directory `imagePath` may name a file in; undefined: no server-side paths at all. */
  allowDir?: string;
}

export interface SegmentRequest {
  image: Buffer;
  /** Where the image came from, for messages: image (upload or raw body), imageBase64 or imagePath. */
  imageField: string;
  width: number;
  height: number;
  expressions: string[];
  options: SegmentOptions;
  overlay: boolean;
}

export const MAX_EXPRESSIONS = 32;
export const MAX_EXPRESSION_CHARS = 500;
const MAX_K = 64;
const MAX_K_VARIANTS = 16;
/** Text fields of a form: expressions, options and flags are small. */
export const MAX_FIELD_BYTES = 64 * 1024;

/** The fields as gathered from the query, the form or the JSON body, not yet checked. */
interface RawFields {
  expressions: unknown[];
  /** Which field the expressions came from, for messages. */
  expressionsField: string;
  options?: unknown;
  overlay?: unknown;
  image?: Buffer;
  imageBase64?: unknown;
  imagePath?: unknown;
}

const QUERY_FIELDS = ['expression', 'expressions', 'options', 'overlay'];

function parseJsonField(field: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, field, `${field} must be JSON: ${(err as Error).message}`);
  }
}

/** Adds expressions from one source, refusing past MAX_EXPRESSIONS in all before copying any (an array of any size
 *  may arrive: it is counted, never spread). */
function addExpressions(raw: RawFields, list: unknown[], field: string): void {
  if (raw.expressions.length + list.length > MAX_EXPRESSIONS) {
    throw new HttpError(400, field, `at most ${MAX_EXPRESSIONS} expressions per request, got ${raw.expressions.length + list.length}`);
  }
  for (const e of list) raw.expressions.push(e);
}

/** `expression` (one each, repeatable) and `expressions` (a JSON array) from text fields. */
function addTextField(raw: RawFields, name: string, value: string): void {
  if (name === 'expression') {
    addExpressions(raw, [value], 'expression');
    raw.expressionsField = 'expression';
  } else if (name === 'expressions') {
    const list = parseJsonField('expressions', value);
    if (!Array.isArray(list)) throw new HttpError(400, 'expressions', 'expressions must be a JSON array of strings');
    addExpressions(raw, list, 'expressions');
  } else if (name === 'options') {
    raw.options = parseJsonField('options', value);
  } else if (name === 'overlay') {
    raw.overlay = value;
  } else if (name === 'imagePath') {
    raw.imagePath = value;
  } else if (name === 'imageBase64') {
    raw.imageBase64 = value;
  } else {
    throw new HttpError(400, name, `unknown field '${name}' (expected image, expression, expressions, options, overlay, imageBase64, imagePath)`);
  }
}

function fromQuery(query: unknown, raw: RawFields): void {
  for (const [name, value] of Object.entries((query ?? {}) as Record<string, string | string[]>)) {
    if (!QUERY_FIELDS.includes(name)) {
      throw new HttpError(400, name, `unknown query parameter '${name}' (expected ${QUERY_FIELDS.join(', ')})`);
    }
    for (const v of Array.isArray(value) ? value : [value]) addTextField(raw, name, v);
  }
}

async function fromMultipart(request: FastifyRequest, raw: RawFields, limits: RequestLimits): Promise<void> {
  try {
    await readParts(request, raw, limits);
  } catch (err) {
    // The plugin's limit errors carry their status (mapped by the server); the parser's own (no boundary, a form
    // cut short) do not: those are a malformed body.
    if (err instanceof HttpError || (err as { statusCode?: number }).statusCode) throw err;
    throw new HttpError(400, 'body', `the multipart form is malformed: ${(err as Error).message}`);
  }
}

async function readParts(request: FastifyRequest, raw: RawFields, limits: RequestLimits): Promise<void> {
  const parts = request.parts({ limits: { fileSize: limits.maxImageBytes, files: 1, fieldSize: MAX_FIELD_BYTES, fields: MAX_EXPRESSIONS + 8 } });
  for await (const part of parts) {
    if (part.type === 'file') {
      if (part.fieldname !== 'image') {
        part.file.resume();
        throw new HttpError(400, part.fieldname, `unknown file field '${part.fieldname}': send the photo as 'image'`);
      }
      raw.image = await part.toBuffer();
    } else {
      if (part.valueTruncated) throw new HttpError(413, part.fieldname, `${part.fieldname} is longer than ${MAX_FIELD_BYTES} bytes`);
      addTextField(raw, part.fieldname, String(part.value));
    }
  }
}

const JSON_FIELDS = ['expressions', 'imageBase64', 'imagePath', 'options', 'overlay'];

function fromJson(body: unknown, raw: RawFields): void {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'body', 'the JSON body must be an object: { "expressions": [...], "imageBase64": "..." }');
  }
  for (const [name, value] of Object.entries(body)) {
    if (!JSON_FIELDS.includes(name)) throw new HttpError(400, name, `unknown field '${name}' (expected ${JSON_FIELDS.join(', ')})`);
    if (name === 'expressions') {
      if (!Array.isArray(value)) throw new HttpError(400, 'expressions', 'expressions must be an array of strings');
      addExpressions(raw, value, 'expressions');
    } else {
      (raw as unknown as Record<string, unknown>)[name] = value;
    }
  }
}

function checkExpressions(raw: RawFields): string[] {
  const field = raw.expressionsField;
  if (raw.expressions.length === 0) {
    throw new HttpError(400, 'expressions', 'give at least one expression (form field or query parameter "expression", or "expressions" as a JSON array)');
  }
  if (raw.expressions.length > MAX_EXPRESSIONS) throw new HttpError(400, 'expressions', `at most ${MAX_EXPRESSIONS} expressions per request`);
  return raw.expressions.map((e, i) => {
    const name = `${field}[${i}]`;
    if (typeof e !== 'string') throw new HttpError(400, name, `${name} must be a string`);
    if (e.trim() === '') throw new HttpError(400, name, `${name} is empty: give the object to find, e.g. "the dog on the left"`);
    if (e.length > MAX_EXPRESSION_CHARS) throw new HttpError(400, name, `${name} is longer than ${MAX_EXPRESSION_CHARS} characters`);
    return e;
  });
}

function checkK(value: unknown, field: string): { k1: number; k2: number } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, field, `${field} must be an object { "k1": n, "k2": n }`);
  for (const key of Object.keys(value)) {
    if (key !== 'k1' && key !== 'k2') throw new HttpError(400, `${field}.${key}`, `unknown field ${field}.${key} (expected k1, k2)`);
  }
  const out = { k1: 0, k2: 0 };
  for (const key of ['k1', 'k2'] as const) {
    const v = (value as Record<string, unknown>)[key];
    if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > MAX_K) {
      throw new HttpError(400, `${field}.${key}`, `${field}.${key} must be an integer from 1 to ${MAX_K}`);
    }
    out[key] = v as number;
  }
  return out;
}

/** The API's per-call SegmentOptions: `k` and `kVariants`. */
function checkOptions(value: unknown): SegmentOptions {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, 'options', 'options must be a JSON object');
  const out: SegmentOptions = {};
  for (const [key, v] of Object.entries(value)) {
    if (key === 'k') out.k = checkK(v, 'options.k');
    else if (key === 'kVariants') {
      if (!Array.isArray(v) || v.length > MAX_K_VARIANTS) {
        throw new HttpError(400, 'options.kVariants', `options.kVariants must be an array of at most ${MAX_K_VARIANTS} { "k1", "k2" } objects`);
      }
      out.kVariants = v.map((x, i) => checkK(x, `options.kVariants[${i}]`));
    } else {
      throw new HttpError(400, `options.${key}`, `unknown option '${key}' (expected k, kVariants)`);
    }
  }
  return out;
}

function checkOverlay(value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new HttpError(400, 'overlay', 'overlay must be true or false');
}

/** Reads `imagePath` only inside the allowed directory, symbolic links resolved first (no escapes). */
async function readAllowedPath(value: unknown, limits: RequestLimits): Promise<Buffer> {
  if (!limits.allowDir) {
    throw new HttpError(403, 'imagePath', 'this server reads no server-side paths (start it with --allow-dir DIR to allow files in DIR)');
  }
  if (typeof value !== 'string' || value === '' || value.includes('\0')) throw new HttpError(400, 'imagePath', 'imagePath must be a non-empty path string');
  const root = await realpath(limits.allowDir);
  let target: string;
  try {
    target = await realpath(resolve(root, value));
  } catch {
    throw new HttpError(404, 'imagePath', `imagePath '${value}' does not exist in the allowed directory`);
  }
  const rel = relative(root, target);
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    throw new HttpError(403, 'imagePath', `imagePath '${value}' is outside the allowed directory`);
  }
  const info = await stat(target);
  if (!info.isFile()) throw new HttpError(400, 'imagePath', `imagePath '${value}' is not a file`);
  const tooLarge = () => new HttpError(413, 'imagePath', `imagePath '${value}' is larger than ${limits.maxImageBytes} bytes`);
  if (info.size > limits.maxImageBytes) throw tooLarge();
  // Read at most one byte past the limit: a file that grew since its stat is still refused, not read whole.
  const file = await open(target, 'r');
  try {
    const buffer = Buffer.alloc(Math.min(info.size, limits.maxImageBytes) + 1);
    let got = 0;
    for (let n = -1; n !== 0 && got < buffer.length; got += n) n = (await file.read(buffer, got, buffer.length - got, got)).bytesRead;
    if (got > limits.maxImageBytes) throw tooLarge();
    return buffer.subarray(0, got);
  } finally {
    await file.close();
  }
}

const BASE64 = /^[A-Za-z0-9+/\r\n]*={0,2}\s*$/;

async function checkImage(raw: RawFields, limits: RequestLimits): Promise<{ image: Buffer; field: string }> {
  const given = (['image', 'imageBase64', 'imagePath'] as const).filter((k) => raw[k] !== undefined);
  if (given.length === 0) {
    throw new HttpError(400, 'image', 'no image: send it as the multipart file field "image", as the raw body (Content-Type image/*), or as "imageBase64" in JSON');
  }
  if (given.length > 1) throw new HttpError(400, given[1], `give one image, not ${given.join(' and ')}`);
  const field = given[0];
  let image: Buffer;
  if (field === 'image') image = raw.image!;
  else if (field === 'imageBase64') {
    const s = raw.imageBase64;
    if (typeof s !== 'string' || !BASE64.test(s)) throw new HttpError(400, 'imageBase64', 'imageBase64 must be a base64 string of the image file');
    image = Buffer.from(s, 'base64');
    if (image.length > limits.maxImageBytes) throw new HttpError(413, 'imageBase64', `the image is larger than ${limits.maxImageBytes} bytes`);
  } else image = await readAllowedPath(raw.imagePath, limits);
  if (image.length === 0) throw new HttpError(400, field, `${field} is empty`);
  return { image, field };
}

/** Width and height from the image header (sharp reads no pixels), against the pixel limit. */
async function checkPixels(image: Buffer, field: string, maxPixels: number): Promise<{ width: number; height: number }> {
  let meta: sharp.Metadata;
  try {
    meta = await sharp(image, { limitInputPixels: false }).metadata(); // the header only: the limit is ours
  } catch (err) {
    throw new HttpError(400, field, `${field} is not a readable image (JPEG, PNG, WebP, …): ${(err as Error).message}`);
  }
  const { width, height } = meta;
  if (!width || !height) throw new HttpError(400, field, `${field} has no width and height in its header`);
  if (width * height > maxPixels) {
    throw new HttpError(413, field, `${field} is ${width}×${height} = ${width * height} pixels, more than this server's limit of ${maxPixels}`);
  }
  return { width, height };
}

/** Reads and checks a segment request; throws HttpError naming the first bad field. */
export async function readSegmentRequest(request: FastifyRequest, limits: RequestLimits): Promise<SegmentRequest> {
  const raw: RawFields = { expressions: [], expressionsField: 'expressions' };
  fromQuery(request.query, raw);
  const type = (request.headers['content-type'] ?? '').toLowerCase();
  if (request.isMultipart()) await fromMultipart(request, raw, limits);
  else if (type.startsWith('application/json')) fromJson(request.body, raw);
  else if (Buffer.isBuffer(request.body)) raw.image = request.body;
  const expressions = checkExpressions(raw);
  const options = checkOptions(raw.options);
  const overlay = checkOverlay(raw.overlay);
  const { image, field } = await checkImage(raw, limits);
  const { width, height } = await checkPixels(image, field, limits.maxPixels);
  return { image, imageField: field, width, height, expressions, options, overlay };
}
