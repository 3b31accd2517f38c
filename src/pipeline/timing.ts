// Stage timing: adds the wall-clock milliseconds of fn to timings[name] (when a timings object is given), and
// tells the stage observer (the profiler's trace and peak-memory probe) when one is set.

export type Timings = Record<string, number>;

export interface StageObserver {
  start(name: string): void;
  end(name: string, startMs: number, endMs: number): void;
}

let observer: StageObserver | null = null;

/** Observe every timed stage (null stops); returns the previous observer. */
export function setStageObserver(next: StageObserver | null): StageObserver | null {
  const previous = observer;
  observer = next;
  return previous;
}

export async function timed<T>(timings: Timings | undefined, name: string, fn: () => Promise<T> | T): Promise<T> {
  if (!timings && !observer) return fn();
  const watching = observer;
  watching?.start(name);
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    const t1 = performance.now();
    if (timings) timings[name] = (timings[name] ?? 0) + t1 - t0;
    watching?.end(name, t0, t1);
  }
}
