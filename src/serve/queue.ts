// The service's work queue: at most `concurrency` jobs run (the models are shared), at most `maxWaiting` wait; a
// job past its deadline is answered at once, and one still waiting is dropped. A running job cannot be interrupted
// (native and ONNX work), so it keeps its slot until it really ends: the bound on work in flight always holds.

/** The queue is full: answer 503 with Retry-After. */
export class QueueFullError extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super(`the server is busy (queue full); retry after ${retryAfterSeconds} s`);
    this.name = 'QueueFullError';
  }
}

/** The job's deadline passed while it waited (`queued`) or ran (`running`). */
export class QueueTimeoutError extends Error {
  constructor(readonly phase: 'queued' | 'running', readonly timeoutMs: number, readonly retryAfterSeconds: number) {
    super(`the request took longer than its ${timeoutMs} ms timeout (${phase === 'queued' ? 'still waiting in the queue' : 'still running'})`);
    this.name = 'QueueTimeoutError';
  }
}

/** The queue is closing (shutdown): no new work. */
export class QueueClosedError extends Error {
  constructor() {
    super('the server is shutting down');
    this.name = 'QueueClosedError';
  }
}

export interface QueueOptions {
  /** Jobs run at once. */
  concurrency: number;
  /** Jobs that may wait for a slot; one more is refused with QueueFullError. */
  maxWaiting: number;
}

interface Waiting {
  start: () => void;
  drop: (err: Error) => void;
}

export class WorkQueue {
  private running = 0;
  private readonly waiting: Waiting[] = [];
  private closed = false;
  private idleWaiters: Array<() => void> = [];
  /** Moving average of job durations, for Retry-After. */
  private meanJobMs = 1000;

  constructor(private readonly options: QueueOptions) {
    for (const k of ['concurrency', 'maxWaiting'] as const) {
      const v = options[k];
      if (!Number.isInteger(v) || v < (k === 'concurrency' ? 1 : 0)) throw new RangeError(`${k} must be an integer ≥ ${k === 'concurrency' ? 1 : 0}, got ${v}`);
    }
  }

  /** Jobs waiting for a slot. */
  get depth(): number {
    return this.waiting.length;
  }

  /** Jobs running now. */
  get active(): number {
    return this.running;
  }

  /** Seconds until a slot is likely free: the waiting and running work at the mean job time, at least 1. */
  retryAfterSeconds(): number {
    const ahead = this.waiting.length + this.running;
    return Math.max(1, Math.ceil((ahead * this.meanJobMs) / this.options.concurrency / 1000));
  }

  /**
   * Runs `job` when a slot is free; `job` gets the milliseconds it waited. Rejects with QueueClosedError,
   * QueueFullError, or QueueTimeoutError when `timeoutMs` passes first.
   */
  run<T>(job: (waitedMs: number) => Promise<T>, timeoutMs: number): Promise<T> {
    if (this.closed) return Promise.reject(new QueueClosedError());
    if (this.running >= this.options.concurrency && this.waiting.length >= this.options.maxWaiting) {
      return Promise.reject(new QueueFullError(this.retryAfterSeconds()));
    }
    const queuedAt = performance.now();
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        fn();
      };
      let started = false;
      const entry: Waiting = {
        start: () => {
          started = true;
          this.running++;
          const t0 = performance.now();
          Promise.resolve().then(() => job(t0 - queuedAt)).then(
            (value) => settle(() => resolve(value)),
            (err) => settle(() => reject(err)),
          ).finally(() => {
            this.meanJobMs = 0.8 * this.meanJobMs + 0.2 * (performance.now() - t0);
            this.running--;
            this.next();
          });
        },
        drop: (err) => settle(() => reject(err)),
      };
      const timer = setTimeout(() => {
        if (!started) {
          const at = this.waiting.indexOf(entry);
          if (at >= 0) this.waiting.splice(at, 1);
          this.checkIdle();
        }
        entry.drop(new QueueTimeoutError(started ? 'running' : 'queued', timeoutMs, this.retryAfterSeconds()));
      }, timeoutMs);
      if (this.running < this.options.concurrency) entry.start();
      else this.waiting.push(entry);
    });
  }

  private next(): void {
    while (this.running < this.options.concurrency && this.waiting.length > 0) this.waiting.shift()!.start();
    this.checkIdle();
  }

  private checkIdle(): void {
    if (this.running > 0 || this.waiting.length > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /** Refuses new jobs; resolves once every accepted job (waiting or running) has ended. */
  close(): Promise<void> {
    this.closed = true;
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      this.checkIdle();
    });
  }
}
