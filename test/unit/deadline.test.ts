import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { delay, raceDeadline, settlesWithin } from '../../src/deadline.js';

/** A promise settled from outside, so the test decides what happens first. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('deadlines and delays', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('raceDeadline gives the promise value when it comes first and clears its timer', async () => {
    const work = deferred<string>();
    const onLate = vi.fn(() => 'late');
    const raced = raceDeadline(work.promise, 1000, onLate);
    work.resolve('done');
    await expect(raced).resolves.toBe('done');
    expect(vi.getTimerCount()).toBe(0);
    expect(onLate).not.toHaveBeenCalled();
  });

  it('raceDeadline gives what onLate returns when the deadline comes first', async () => {
    const work = deferred<string>();
    const raced = raceDeadline(work.promise, 1000, () => 'late');
    await vi.advanceTimersByTimeAsync(1000);
    await expect(raced).resolves.toBe('late');
  });

  it('raceDeadline rejects with what onLate throws', async () => {
    const work = deferred<string>();
    const raced = raceDeadline(work.promise, 50, () => {
      throw new Error('too slow');
    });
    const seen = expect(raced).rejects.toThrow('too slow');
    await vi.advanceTimersByTimeAsync(50);
    await seen;
  });

  it('raceDeadline passes on a rejection that comes before the deadline', async () => {
    const work = deferred<string>();
    const raced = raceDeadline(work.promise, 1000, () => 'late');
    work.reject(new Error('broken'));
    await expect(raced).rejects.toThrow('broken');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('settlesWithin tells whether the promise fulfilled before the deadline', async () => {
    const quick = deferred<void>();
    const first = settlesWithin(quick.promise, 100);
    quick.resolve();
    await expect(first).resolves.toBe(true);

    const slow = deferred<void>();
    const second = settlesWithin(slow.promise, 100);
    await vi.advanceTimersByTimeAsync(100);
    await expect(second).resolves.toBe(false);
  });

  it('unref lets the process exit while only the deadline timer is pending', async () => {
    const setTimeoutSpy = vi.spyOn(globalThis, 'setTimeout');
    const work = deferred<void>();
    const raced = settlesWithin(work.promise, 100, { unref: true });
    const timer = setTimeoutSpy.mock.results[0]?.value as NodeJS.Timeout;
    expect(timer.hasRef()).toBe(false);
    work.resolve();
    await raced;
    setTimeoutSpy.mockRestore();
  });

  it('delay resolves only once its time has passed', async () => {
    let done = false;
    const waiting = delay(200).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(199);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await waiting;
    expect(done).toBe(true);
  });
});
