import { describe, expect, it } from 'vitest';
import { runWorkQueue } from '../../src/migrate/work-queue.js';

interface Item {
  id: number;
  host: string;
}

/** A worker whose tasks finish only when the test says so. */
function controlled() {
  const running = new Map<number, () => void>();
  const started: number[] = [];
  const ticks = () => new Promise((resolve) => setTimeout(resolve, 0));
  return {
    started,
    running,
    worker: (item: Item) =>
      new Promise<void>((resolve) => {
        started.push(item.id);
        running.set(item.id, () => {
          running.delete(item.id);
          resolve();
        });
      }),
    async finish(id: number) {
      running.get(id)?.();
      await ticks();
    },
    ticks,
  };
}

const items = (hosts: string[]): Item[] => hosts.map((host, id) => ({ id, host }));

describe('runWorkQueue', () => {
  it('never runs more than the global cap, and starts the next item as soon as one finishes', async () => {
    const c = controlled();
    const done = runWorkQueue(items(['a', 'a', 'a', 'a', 'a']), { concurrency: 2, perKey: 10, keyOf: (i) => i.host }, c.worker);
    await c.ticks();
    expect(c.started).toEqual([0, 1]);
    await c.finish(1);
    expect(c.started).toEqual([0, 1, 2]);
    expect([...c.running.keys()].sort()).toEqual([0, 2]);
    for (const id of [0, 2, 3, 4]) await c.finish(id);
    expect(await done).toEqual([]);
    expect(c.started).toEqual([0, 1, 2, 3, 4]);
  });

  it('caps each key (database server) and keeps the other servers busy meanwhile', async () => {
    const c = controlled();
    const done = runWorkQueue(items(['a', 'a', 'a', 'b', 'b']), { concurrency: 3, perKey: 1, keyOf: (i) => i.host }, c.worker);
    await c.ticks();
    // One per server although three slots are free: items 0 (a) and 3 (b).
    expect(c.started).toEqual([0, 3]);
    await c.finish(3);
    expect(c.started).toEqual([0, 3, 4]);
    await c.finish(0);
    expect(c.started).toEqual([0, 3, 4, 1]);
    for (const id of [4, 1, 2]) await c.finish(id);
    expect(await done).toEqual([]);
  });

  it('stops starting items when canStart turns false or the signal aborts, and returns the rest in order', async () => {
    const c = controlled();
    let open = true;
    const all = items(['a', 'a', 'a', 'a']);
    const done = runWorkQueue(all, { concurrency: 1, perKey: 1, keyOf: (i) => i.host, canStart: () => open }, c.worker);
    await c.ticks();
    open = false;
    await c.finish(0);
    expect(await done).toEqual(all.slice(1));

    const controller = new AbortController();
    const d = controlled();
    const second = runWorkQueue(all, { concurrency: 2, perKey: 2, keyOf: (i) => i.host, signal: controller.signal }, d.worker);
    await d.ticks();
    controller.abort();
    expect(d.started).toEqual([0, 1]);
    await d.finish(0);
    await d.finish(1);
    expect(await second).toEqual(all.slice(2));
  });

  it('lets the other items finish when a worker throws, then rethrows', async () => {
    const seen: number[] = [];
    const run = runWorkQueue(items(['a', 'a', 'a']), { concurrency: 2, perKey: 2, keyOf: (i) => i.host }, async (item) => {
      seen.push(item.id);
      if (item.id === 0) throw new Error('boom');
    });
    await expect(run).rejects.toThrow('boom');
    expect(seen.sort()).toEqual([0, 1, 2]);
  });

  it('resolves at once for no items', async () => {
    expect(await runWorkQueue([], { concurrency: 4, perKey: 4, keyOf: () => 'x' }, async () => undefined)).toEqual([]);
  });
});
