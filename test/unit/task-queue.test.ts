import { describe, expect, it } from 'vitest';
import { TaskQueue } from '../../src/worker/task-queue.js';

const tick = () => new Promise((resolve) => setImmediate(resolve));

function deferred() {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('TaskQueue', () => {
  it('runs at most `concurrency` tasks at once, in order', async () => {
    const queue = new TaskQueue(2);
    const gates = [deferred(), deferred(), deferred()];
    const started: number[] = [];
    gates.forEach((gate, i) =>
      queue.push(`k${i}`, async () => {
        started.push(i);
        await gate.promise;
      }),
    );
    await tick();
    expect(started).toEqual([0, 1]);
    expect([queue.active, queue.queued]).toEqual([2, 1]);
    gates[0]?.resolve();
    await tick();
    expect(started).toEqual([0, 1, 2]);
    gates[1]?.resolve();
    gates[2]?.resolve();
    await queue.onIdle();
    expect([queue.active, queue.queued]).toEqual([0, 0]);
  });

  it('does not queue a key that is already queued or running', async () => {
    const queue = new TaskQueue(1);
    const gate = deferred();
    expect(queue.push('a', () => gate.promise)).toBe(true);
    await tick();
    expect(queue.isRunning('a')).toBe(true);
    expect(queue.push('a', async () => undefined)).toBe(false);
    expect(queue.push('b', async () => undefined)).toBe(true);
    expect(queue.push('b', async () => undefined)).toBe(false);
    gate.resolve();
    await queue.onIdle();
    expect(queue.push('a', async () => undefined)).toBe(true);
    await queue.onIdle();
  });

  it('drops queued tasks by key and stops cleanly; a failing task does not stop the others', async () => {
    const queue = new TaskQueue(1);
    const gate = deferred();
    const ran: string[] = [];
    queue.push('x:1', async () => {
      ran.push('x:1');
      await gate.promise;
      throw new Error('boom');
    });
    queue.push('y:1', async () => void ran.push('y:1'));
    queue.push('x:2', async () => void ran.push('x:2'));
    await tick();
    expect(queue.drop((key) => key === 'y:1')).toBe(1);
    gate.resolve();
    await queue.onIdle();
    expect(ran).toEqual(['x:1', 'x:2']);
    queue.stop();
    expect(queue.push('z', async () => undefined)).toBe(false);
    expect(() => new TaskQueue(0)).toThrow(RangeError);
  });
});
