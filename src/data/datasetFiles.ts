// Spec §0: reading a dataset's files (REFER, PhraseCut) — the typed error that names the file and item, JSON as
// Python writes it, and the field checks every reader applies before any work starts.
import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';

/** A dataset file that cannot be used as it is: the message names the file and, where there is one, the item. */
export class DatasetError extends Error {
  constructor(readonly file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'DatasetError';
  }
}

/** The largest JSON file read (a V8 string holds at most ~512 MiB; refcoco's instances.json is ~60 MB). */
export const MAX_JSON_BYTES = 512 * 1024 * 1024;
/** Image sides a dataset may declare (JPEG's limit); each image is also checked against its decoded size. */
export const MAX_IMAGE_SIDE = 65535;

/** Python's json.dump writes NaN, Infinity and -Infinity for such floats; JSON.parse refuses them. */
const PYTHON_FLOATS = /"(?:[^"\\]|\\.)*"|-?Infinity|NaN/g;
/** Each such token becomes {"<key>": "NaN"} (a key no dataset has), turned back into the number while parsing. */
const PY_FLOAT_KEY = '\u0000python-float';
const PY_FLOAT_KEY_JSON = '\\u0000python-float';

/** Line and column of a character offset, for an error message. */
function lineColumn(text: string, offset: number): string {
  let line = 1, lineStart = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return `line ${line}, column ${offset - lineStart + 1}`;
}

/** Reads a JSON file, accepting Python's NaN/Infinity (as numbers, for the field checks to refuse where they matter). */
export function readDatasetJson(file: string): unknown {
  let text: string;
  try {
    const { size } = statSync(file);
    if (size > MAX_JSON_BYTES) throw new DatasetError(file, `${size} bytes, more than the ${MAX_JSON_BYTES} a JSON file may have`);
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof DatasetError) throw err;
    throw new DatasetError(file, `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    try {
      const python = text.replace(PYTHON_FLOATS, (m) => (m[0] === '"' ? m : `{"${PY_FLOAT_KEY_JSON}":"${m}"}`));
      if (python !== text)
        return JSON.parse(python, (_k, v) => (v !== null && typeof v === 'object' && Object.hasOwn(v, PY_FLOAT_KEY) ? Number(v[PY_FLOAT_KEY]) : v));
    } catch {
      // reported below as the original error
    }
    const message = (err as Error).message;
    const at = /position (\d+)/.exec(message);
    const where = at ? ` at ${lineColumn(text, Number(at[1]))}` : '';
    const cut = /end of JSON input/.test(message) || (at && Number(at[1]) >= text.trimEnd().length) ? ' (truncated?)' : '';
    throw new DatasetError(file, `not valid JSON${cut}${where}: ${message}`);
  }
}

/** A value briefly, for an error message. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'missing';
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  if (typeof v === 'bigint') return `an integer of ${v.toString().length} digits`;
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (Array.isArray(v)) return `a list of ${v.length}`;
  return typeof v === 'object' ? 'a dict' : typeof v;
}

/** Field checks that throw a DatasetError naming the file and `where` (the item and field). */
export function fieldChecks(file: string) {
  const fail = (where: string, what: string): never => {
    throw new DatasetError(file, `${where} ${what}`);
  };
  const isDict = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Map) && !(v instanceof Set) && !(v instanceof Uint8Array);
  return {
    fail,
    dict(v: unknown, where: string): Record<string, unknown> {
      return isDict(v) ? v : fail(where, `is ${describeValue(v)}, not a dict`);
    },
    list(v: unknown, where: string): unknown[] {
      return Array.isArray(v) ? v : fail(where, `is ${describeValue(v)}, not a list`);
    },
    /** A safe integer in [min, max]. */
    int(v: unknown, where: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) return fail(where, `is ${describeValue(v)}, not an integer`);
      return v < min || v > max ? fail(where, `is ${v}, outside ${min}..${max}`) : v;
    },
    /** A finite number in [min, max]. */
    num(v: unknown, where: string, min = -Number.MAX_VALUE, max = Number.MAX_VALUE): number {
      if (typeof v !== 'number' || !Number.isFinite(v)) return fail(where, `is ${describeValue(v)}, not a finite number`);
      return v < min || v > max ? fail(where, `is ${v}, outside ${min}..${max}`) : v;
    },
    str(v: unknown, where: string): string {
      return typeof v === 'string' ? v : fail(where, `is ${describeValue(v)}, not a string`);
    },
  };
}

/**
 * `name` (an image file name from a dataset) under `root`: relative, without `..` segments or NUL, so that a
 * dataset cannot make the reader open files outside its image root; a DatasetError naming `where` otherwise.
 */
export function confinedImagePath(root: string, name: string, file: string, where: string): string {
  const bad = (why: string): never => {
    throw new DatasetError(file, `${where} file_name ${describeValue(name)} ${why}`);
  };
  if (name.length === 0 || name.includes('\0')) bad('is empty or holds a NUL');
  if (isAbsolute(name) || /^[a-zA-Z]:|^[\\/]/.test(name)) bad('is an absolute path; it must lie under the image root');
  if (name.split(/[\\/]/).includes('..')) bad('leads out of the image root (..)');
  const path = join(root, name);
  const rel = relative(resolve(root), resolve(path));
  if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel)) bad('leads out of the image root');
  return path;
}
