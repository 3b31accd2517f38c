// Stage timing: adds the wall-clock milliseconds of fn to timings[name] (when a timings object is given).

export type Timings = Record<string, number>;

export async function timed<T>(timings: Timings | undefined, name: string, fn: () => Promise<T> | T): Promise<T> {
  if (!timings) return fn();
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    timings[name] = (timings[name] ?? 0) + performance.now() - t0;
  }
}
