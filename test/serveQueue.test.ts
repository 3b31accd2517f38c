// The service's work queue: one job at a time, a bounded wait list, deadlines while waiting and while running, and
// a close that refuses new jobs but lets accepted ones end.
import { describe, expect, it } from 'vitest';

import { QueueClosedError, QueueFullError, QueueTimeoutError, WorkQueue } from '../src/serve/queue.ts';

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

describe('WorkQueue', () => {
  it('runs one job at a time in arrival order and refuses one more than maxWaiting', async () => {
    const q = new WorkQueue({ concurrency: 1, maxWaiting: 2 });
    const g = gate();
    const order: number[] = [];
    const job = (i: number) => async () => {
      order.push(i);
      if (i === 0) await g.opened;
      return i;
    };
    const runs = [0, 1, 2].map((i) => q.run(job(i), 10_000));
    expect([q.active, q.depth]).toEqual([1, 2]);
    const full = await q.run(job(3), 10_000).catch((e) => e);
    expect(full).toBeInstanceOf(QueueFullError);
    expect(full.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    g.open();
    expect(await Promise.all(runs)).toEqual([0, 1, 2]);
    expect(order).toEqual([0, 1, 2]);
    expect([q.active, q.depth]).toEqual([0, 0]);
  });

  it('drops a job whose deadline passes while it waits, and answers a running one at its deadline', async () => {
    const q = new WorkQueue({ concurrency: 1, maxWaiting: 4 });
    const g = gate();
    let ranSecond = false;
    const first = q.run(() => g.opened.then(() => 'first'), 30);
    const second = q.run(async () => (ranSecond = true), 30);
    const [e1, e2] = await Promise.all([first.catch((e) => e), second.catch((e) => e)]);
    expect(e1).toBeInstanceOf(QueueTimeoutError);
    expect(e1.phase).toBe('running');
    expect(e2.phase).toBe('queued');
    // The running job keeps its slot until it really ends; the dropped one never runs.
    expect([q.active, q.depth]).toEqual([1, 0]);
    g.open();
    await q.close();
    expect(ranSecond).toBe(false);
    expect(q.active).toBe(0);
  });

  it('passes job errors through and close() refuses new jobs after the accepted ones end', async () => {
    const q = new WorkQueue({ concurrency: 1, maxWaiting: 1 });
    await expect(q.run(async () => {
      throw new RangeError('bad');
    }, 1000)).rejects.toThrow(RangeError);
    const g = gate();
    const running = q.run(() => g.opened.then(() => 1), 10_000);
    const waiting = q.run(async () => 2, 10_000);
    let closed = false;
    const closing = q.close().then(() => (closed = true));
    await expect(q.run(async () => 3, 1000)).rejects.toBeInstanceOf(QueueClosedError);
    await new Promise((r) => setTimeout(r, 20));
    expect(closed).toBe(false);
    g.open();
    expect(await Promise.all([running, waiting])).toEqual([1, 2]);
    await closing;
    expect(closed).toBe(true);
  });

  it('rejects bad settings', () => {
    expect(() => new WorkQueue({ concurrency: 0, maxWaiting: 1 })).toThrow(/concurrency/);
    expect(() => new WorkQueue({ concurrency: 1, maxWaiting: -1 })).toThrow(/maxWaiting/);
  });
});
