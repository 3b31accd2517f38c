// Argument checks shared by the typed bindings: every error names the argument.

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
