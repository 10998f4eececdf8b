/**
 * A work queue with a global concurrency cap and a cap per key (one key per
 * database server), so a fleet spread over several servers keeps every
 * server busy without overloading any. Items start in their given order as
 * slots free up (no fixed chunks: one slow tenant never holds back the rest).
 */

export interface WorkQueueOptions<T> {
  /** Items running at once, in total. */
  concurrency: number;
  /** Items running at once with the same key. */
  perKey: number;
  keyOf: (item: T) => string;
  /** Asked before each start; once false, nothing new starts and running items finish. */
  canStart?: () => boolean;
  /** Aborting stops scheduling, like canStart() turning false. */
  signal?: AbortSignal;
}

/**
 * Runs `worker` over the items; resolves, once nothing runs any more, with
 * the items that were never started. A worker should not throw; if one does,
 * the others still finish and the first error is then rethrown.
 */
export function runWorkQueue<T>(items: readonly T[], options: WorkQueueOptions<T>, worker: (item: T) => Promise<void>): Promise<T[]> {
  const concurrency = Math.max(1, Math.floor(options.concurrency));
  const perKey = Math.max(1, Math.floor(options.perKey));
  // One FIFO per key; the next start goes to the key whose head came first.
  const queues = new Map<string, { index: number; item: T }[]>();
  items.forEach((item, index) => {
    const key = options.keyOf(item);
    let queue = queues.get(key);
    if (!queue) queues.set(key, (queue = []));
    queue.push({ index, item });
  });
  const busy = new Map<string, number>();
  let running = 0;
  let stopped = false;
  let failure: { error: unknown } | undefined;

  return new Promise<T[]>((resolve, reject) => {
    const settle = () => {
      options.signal?.removeEventListener('abort', pump);
      if (failure) return reject(failure.error);
      const rest = [...queues.values()].flat().sort((a, b) => a.index - b.index);
      resolve(rest.map((entry) => entry.item));
    };

    function next(): { key: string; item: T } | undefined {
      let best: { key: string; index: number } | undefined;
      for (const [key, queue] of queues) {
        const head = queue[0];
        if (head && (busy.get(key) ?? 0) < perKey && (!best || head.index < best.index)) best = { key, index: head.index };
      }
      if (!best) return undefined;
      const queue = queues.get(best.key) as { index: number; item: T }[];
      const entry = queue.shift() as { index: number; item: T };
      if (queue.length === 0) queues.delete(best.key);
      return { key: best.key, item: entry.item };
    }

    function pump(): void {
      while (!stopped && running < concurrency) {
        if (options.signal?.aborted || (options.canStart && !options.canStart())) {
          stopped = true;
          break;
        }
        const picked = next();
        if (!picked) break;
        running += 1;
        busy.set(picked.key, (busy.get(picked.key) ?? 0) + 1);
        void Promise.resolve()
          .then(() => worker(picked.item))
          .catch((error: unknown) => {
            failure ??= { error };
          })
          .finally(() => {
            running -= 1;
            busy.set(picked.key, (busy.get(picked.key) ?? 1) - 1);
            pump();
          });
      }
      if (running === 0) settle();
    }

    options.signal?.addEventListener('abort', pump);
    pump();
  });
}
