/**
 * A keyed FIFO with bounded concurrency: at most `concurrency` tasks run at
 * once, and a key that is already queued or running is not added again (a
 * job never overlaps itself on one tenant).
 */
export class TaskQueue {
  private readonly waiting: { key: string; run: () => Promise<void> }[] = [];
  private readonly waitingKeys = new Set<string>();
  private readonly running = new Set<string>();
  private idleWaiters: (() => void)[] = [];
  private stopped = false;

  constructor(private readonly concurrency: number) {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError('concurrency must be a positive integer');
  }

  get queued(): number {
    return this.waiting.length;
  }

  get active(): number {
    return this.running.size;
  }

  isRunning(key: string): boolean {
    return this.running.has(key);
  }

  has(key: string): boolean {
    return this.running.has(key) || this.waitingKeys.has(key);
  }

  /** Queues the task; false if its key is already queued or running, or the queue is stopped. */
  push(key: string, run: () => Promise<void>): boolean {
    if (this.stopped || this.has(key)) return false;
    this.waiting.push({ key, run });
    this.waitingKeys.add(key);
    this.pump();
    return true;
  }

  /** Removes queued (not running) tasks whose key matches; returns how many. */
  drop(predicate: (key: string) => boolean): number {
    let dropped = 0;
    for (let i = this.waiting.length - 1; i >= 0; i--) {
      const { key } = this.waiting[i] as { key: string };
      if (predicate(key)) {
        this.waiting.splice(i, 1);
        this.waitingKeys.delete(key);
        dropped++;
      }
    }
    this.checkIdle();
    return dropped;
  }

  /** Stops starting tasks and forgets the queued ones; running tasks finish. */
  stop(): void {
    this.stopped = true;
    this.waiting.length = 0;
    this.waitingKeys.clear();
    this.checkIdle();
  }

  /** Resolves when nothing is queued or running. */
  onIdle(): Promise<void> {
    if (this.waiting.length === 0 && this.running.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    while (!this.stopped && this.running.size < this.concurrency && this.waiting.length > 0) {
      const task = this.waiting.shift() as { key: string; run: () => Promise<void> };
      this.waitingKeys.delete(task.key);
      this.running.add(task.key);
      void Promise.resolve()
        .then(task.run)
        .catch(() => undefined)
        .finally(() => {
          this.running.delete(task.key);
          this.pump();
          this.checkIdle();
        });
    }
  }

  private checkIdle(): void {
    if (this.waiting.length === 0 && this.running.size === 0 && this.idleWaiters.length > 0) {
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }
}
