// The kernel trace hook: one function that is told of every native call (its kernel, argument sizes, bytes moved and
// times), for profilers such as `hybridgl bench --trace`. No hook, no cost beyond one check per call.

export interface KernelCall {
  /** The addon's function, e.g. 'gaussianBlur'. */
  name: string;
  /** Each argument in short: a typed array as `Uint8Array[300]`, a number as itself, a boolean as 'true'/'false',
   *  anything else as its typeof. */
  sizes: Array<number | string>;
  /** Bytes of the typed arrays in the arguments and in the result (and one level into objects and lists). */
  bytes: number;
  /** performance.now() at the call and when its result was ready (an async call: when its promise settled). */
  startMs: number;
  endMs: number;
}

export type KernelTraceHook = (call: KernelCall) => void;

let hook: KernelTraceHook | null = null;

/** Installs the hook (null removes it) and returns the one it replaces. */
export function setKernelTraceHook(next: KernelTraceHook | null): KernelTraceHook | null {
  if (next !== null && typeof next !== 'function') throw new TypeError('the kernel trace hook must be a function or null');
  const previous = hook;
  hook = next;
  return previous;
}

function bytesOf(value: unknown, depth = 0): number {
  if (ArrayBuffer.isView(value)) return value.byteLength;
  if (depth > 1 || value === null || typeof value !== 'object') return 0;
  let n = 0;
  for (const v of Object.values(value as Record<string, unknown>)) n += bytesOf(v, depth + 1);
  return n;
}

function sizesOf(args: unknown[]): Array<number | string> {
  return args.map((a) => (ArrayBuffer.isView(a) ? `${a.constructor.name}[${(a as unknown as { length: number }).length}]` :
    typeof a === 'number' ? a : typeof a === 'boolean' ? String(a) : typeof a));
}

function traced(name: string, fn: (...args: unknown[]) => unknown, args: unknown[], report: KernelTraceHook): unknown {
  const startMs = performance.now();
  const record = (result: unknown) => {
    const endMs = performance.now();
    report({ name, sizes: sizesOf(args), bytes: bytesOf(args) + bytesOf(result), startMs, endMs });
    return result;
  };
  const out = fn(...args);
  return out instanceof Promise ? out.then(record) : record(out);
}

/** The addon with each function wrapped to tell the hook of its calls (bindings/native.ts applies it once). */
export function withKernelTrace<T extends object>(addon: T): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(addon)) {
    if (typeof fn !== 'function') {
      wrapped[name] = fn;
      continue;
    }
    const call = fn as (...args: unknown[]) => unknown;
    wrapped[name] = (...args: unknown[]) => (hook === null ? call(...args) : traced(name, call, args, hook));
  }
  return wrapped as T;
}
