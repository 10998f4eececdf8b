/**
 * Deadlines and delays: the one place a promise is raced against a timer.
 * The raced promise is never cancelled (a promise cannot be); callers that
 * must stop the work too abort it themselves when the deadline wins.
 */

export interface TimerOptions {
  /** Let the process exit while only this timer is pending (shutdown bounds, background lookups). */
  unref?: boolean;
}

/**
 * The promise's outcome, or, if it has not settled within `ms`, what
 * `onLate()` returns (or throws). The timer is cleared as soon as either wins.
 */
export async function raceDeadline<T>(promise: Promise<T>, ms: number, onLate: () => T, options: TimerOptions = {}): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve, reject) => {
    timer = setTimeout(() => {
      try {
        resolve(onLate());
      } catch (err) {
        reject(err);
      }
    }, ms);
    if (options.unref) timer.unref();
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Whether the promise fulfils within `ms`: true if it does, false if the
 * deadline comes first. A rejection before the deadline is passed on.
 */
export function settlesWithin(promise: Promise<unknown>, ms: number, options: TimerOptions = {}): Promise<boolean> {
  return raceDeadline(
    promise.then(() => true),
    ms,
    () => false,
    options,
  );
}

/** Resolves after `ms`. */
export function delay(ms: number, options: TimerOptions = {}): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    if (options.unref) timer.unref();
  });
}
