// Argument checks shared by the typed bindings: every error names the argument.

/** The largest buffer the addon accepts or allocates (native/napi/args.h kMaxBufferBytes): 4 GiB. */
export const MAX_BUFFER_BYTES = 2 ** 32;

/** d0·d1·… elements of `elementBytes` bytes; a RangeError naming `what` beyond MAX_BUFFER_BYTES. */
export function checkElements(what: string, dims: readonly number[], elementBytes = 1): number {
  const n = dims.reduce((a, b) => a * b, 1); // doubles: a huge product is inexact or Infinity, never wrapped
  if (n * elementBytes > MAX_BUFFER_BYTES) {
    const of = elementBytes > 1 ? ` elements of ${elementBytes} bytes` : '';
    throw new RangeError(
      `${what} = ${dims.join(' × ')}${of} exceeds the buffer limit of ${MAX_BUFFER_BYTES} bytes (4 GiB)`,
    );
  }
  return n;
}

/** An options object (a TypeError naming it for null, a number, an array, …). */
export function checkOptions<T extends object>(value: T, name = 'options'): T {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`${name} must be an object, got ${describe(value)}`);
  }
  return value;
}

/** A finite number (NaN and ±Infinity are RangeErrors). */
export function checkFinite(value: unknown, name: string): number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a finite number, got ${describe(value)}`);
  if (!Number.isFinite(value)) throw new RangeError(`${name} must be a finite number, got ${value}`);
  return value;
}

/** Every value of a Float64Array finite; a RangeError naming name[i]. */
export function checkFiniteArray(values: Float64Array, name: string): Float64Array {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) throw new RangeError(`${name}[${i}] is ${values[i]}; values must be finite`);
  }
  return values;
}

export function checkInt(value: unknown, name: string, min = 0, max = 2 ** 31 - 1): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`${name} must be an integer, got ${describe(value)}`);
  }
  if (value < min || value > max) throw new RangeError(`${name} must be in [${min}, ${max}], got ${value}`);
  return value;
}

export function checkUint8(value: unknown, name: string, length?: number): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array, got ${describe(value)}`);
  if (length !== undefined && value.length !== length) {
    throw new RangeError(`${name} has length ${value.length}, expected ${length}`);
  }
  return value;
}

export function checkFloat32(value: unknown, name: string, length?: number): Float32Array {
  if (!(value instanceof Float32Array)) throw new TypeError(`${name} must be a Float32Array, got ${describe(value)}`);
  if (length !== undefined && value.length !== length) {
    throw new RangeError(`${name} has length ${value.length}, expected ${length}`);
  }
  return value;
}

/** Checks a batch of `n` masks of height×width packed back to back and returns n. */
export function checkMaskBatch(masks: unknown, height: number, width: number, name = 'masks', n?: number): number {
  checkInt(height, 'height', 1);
  checkInt(width, 'width', 1);
  const arr = checkUint8(masks, name);
  const pixels = height * width;
  if (n === undefined) {
    if (arr.length % pixels !== 0) {
      throw new RangeError(`${name} has length ${arr.length}, not a multiple of height×width = ${pixels}`);
    }
    return arr.length / pixels;
  }
  checkInt(n, 'n');
  checkElements(`n×height×width`, [n, height, width]);
  if (arr.length !== n * pixels) {
    throw new RangeError(`${name} has length ${arr.length}, expected n×height×width = ${n * pixels}`);
  }
  return n;
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name} of length ${(value as Uint8Array).length}`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}
