/**
 * MultiTenantWorker: runs registered jobs for every active tenant, through
 * the pool manager, with bounded concurrency.
 *
 * - Each job runs on every active tenant every `intervalMs`; a run that is
 *   still queued or running on a tenant is not started twice.
 * - The tenant list is re-read on an interval and whenever a status
 *   notification arrives, so new tenants get their first runs at once and
 *   suspended ones stop (queued runs dropped, running ones aborted).
 * - One tenant failing is one `job-failed` event; nothing else stops.
 * - stop() stops scheduling, lets running jobs finish up to a deadline, then
 *   aborts them.
 */
import type { TenantScope, LeaseSource } from '../context/tenant-context.js';
import { withTenant } from '../context/tenant-context.js';
import type { Tenant, TenantStatus } from '../tenants/tenant.js';
import { TenantToolkitError, toToolkitError } from '../errors.js';
import { TaskQueue } from './task-queue.js';
import { settlesWithin } from '../deadline.js';

export interface JobContext extends TenantScope {
  job: string;
  /** Aborted on stop(), on the job's timeout, or when the tenant is suspended. */
  signal: AbortSignal;
}

export interface WorkerJob {
  name: string;
  intervalMs: number;
  /** Aborts ctx.signal after this long (the job should honour it). */
  timeoutMs?: number;
  run(ctx: JobContext): Promise<unknown>;
}

export type WorkerEvent =
  | { type: 'job-started'; job: string; tenantId: string; slug: string }
  | { type: 'job-succeeded'; job: string; tenantId: string; slug: string; durationMs: number }
  | { type: 'job-failed'; job: string; tenantId: string; slug: string; durationMs: number; error: TenantToolkitError }
  | { type: 'job-skipped'; job: string; tenantId: string; slug: string; reason: string }
  | { type: 'tenants-changed'; added: string[]; removed: string[]; total: number }
  | { type: 'refresh-failed'; error: TenantToolkitError };

export interface TenantLister {
  list(filter: { status: TenantStatus[] }): Promise<Tenant[]>;
}

export interface MultiTenantWorkerOptions {
  pools: LeaseSource;
  tenants: TenantLister;
  /** Jobs running at once across all tenants (default 4). */
  concurrency?: number;
  /** How often the tenant list is re-read without a notification (default 30s). */
  refreshIntervalMs?: number;
  onEvent?: (event: WorkerEvent) => void;
}

export interface WorkerStats {
  state: 'idle' | 'running' | 'stopping' | 'stopped';
  tenants: number;
  jobs: string[];
  queued: number;
  running: number;
}

/** Errors that mean "this tenant is not servable now", not "the job is broken". */
const NOT_SERVABLE = new Set(['TENANT_SUSPENDED', 'TENANT_DELETED', 'TENANT_UNAVAILABLE', 'TENANT_NOT_FOUND', 'SHUTTING_DOWN']);

export class MultiTenantWorker {
  private readonly jobs = new Map<string, WorkerJob>();
  private readonly active = new Map<string, Tenant>();
  private readonly controllers = new Map<string, AbortController>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly queue: TaskQueue;
  private state: WorkerStats['state'] = 'idle';
  private refreshing: Promise<void> | undefined;
  private refreshAgain = false;

  constructor(private readonly options: MultiTenantWorkerOptions) {
    this.queue = new TaskQueue(options.concurrency ?? 4);
  }

  register(job: WorkerJob): this {
    if (this.jobs.has(job.name)) throw new RangeError(`a job named "${job.name}" is already registered`);
    if (!Number.isFinite(job.intervalMs) || job.intervalMs <= 0) throw new RangeError(`job "${job.name}" needs a positive intervalMs`);
    this.jobs.set(job.name, job);
    if (this.state === 'running') this.schedule(job, true);
    return this;
  }

  /** Reads the tenant list, starts every job on every active tenant, and keeps going until stop(). */
  async start(): Promise<void> {
    if (this.state !== 'idle') return;
    this.state = 'running';
    // The first read sees every tenant as new and queues every job for it.
    await this.refresh();
    for (const job of this.jobs.values()) this.schedule(job, false);
    const every = this.options.refreshIntervalMs ?? 30_000;
    this.timers.push(setInterval(() => void this.refresh(), every).unref());
  }

  /** A tenant's status changed (from the status listener): stop at once if it left `active`, then re-read. */
  statusChanged(change: { id: string; status: TenantStatus }): void {
    if (change.status !== 'active') this.forget(change.id);
    void this.refresh();
  }

  /** Re-reads the active tenants; concurrent calls collapse into at most one more read. */
  refresh(): Promise<void> {
    if (this.state !== 'running') return Promise.resolve();
    if (this.refreshing) {
      this.refreshAgain = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      do {
        this.refreshAgain = false;
        await this.readTenants();
      } while (this.refreshAgain && this.state === 'running');
    })().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  stats(): WorkerStats {
    return {
      state: this.state,
      tenants: this.active.size,
      jobs: [...this.jobs.keys()],
      queued: this.queue.queued,
      running: this.queue.active,
    };
  }

  /** Stops scheduling; running jobs get until the deadline, then their signals are aborted. */
  async stop(options: { deadlineMs?: number } = {}): Promise<{ drained: boolean }> {
    if (this.state === 'stopped') return { drained: true };
    this.state = 'stopping';
    for (const timer of this.timers.splice(0)) clearInterval(timer);
    this.queue.stop();
    const drained = await settlesWithin(this.queue.onIdle(), options.deadlineMs ?? 10_000);
    if (!drained) {
      for (const controller of this.controllers.values()) controller.abort(new Error('the worker is stopping'));
      await settlesWithin(this.queue.onIdle(), 2_000);
    }
    this.state = 'stopped';
    return { drained };
  }

  private async readTenants(): Promise<void> {
    let tenants: Tenant[];
    try {
      tenants = await this.options.tenants.list({ status: ['active'] });
    } catch (err) {
      this.emit({ type: 'refresh-failed', error: toToolkitError(err) });
      return;
    }
    if (this.state !== 'running') return;
    const seen = new Set(tenants.map((t) => t.id));
    const removed = [...this.active.keys()].filter((id) => !seen.has(id));
    for (const id of removed) this.forget(id);
    const added: Tenant[] = [];
    for (const tenant of tenants) {
      if (!this.active.has(tenant.id)) added.push(tenant);
      this.active.set(tenant.id, tenant);
    }
    if (added.length > 0 || removed.length > 0) {
      this.emit({ type: 'tenants-changed', added: added.map((t) => t.slug), removed, total: this.active.size });
    }
    // New tenants do not wait a whole interval for their first run.
    for (const tenant of added) for (const job of this.jobs.values()) this.enqueue(job, tenant);
  }

  private schedule(job: WorkerJob, now: boolean): void {
    const tick = () => {
      for (const tenant of this.active.values()) this.enqueue(job, tenant);
    };
    if (now) tick();
    this.timers.push(setInterval(tick, job.intervalMs).unref());
  }

  private enqueue(job: WorkerJob, tenant: Tenant): void {
    if (this.state !== 'running') return;
    const key = taskKey(job.name, tenant.id);
    if (this.queue.isRunning(key)) {
      this.emit({ type: 'job-skipped', job: job.name, tenantId: tenant.id, slug: tenant.slug, reason: 'the previous run is still running' });
      return;
    }
    this.queue.push(key, () => this.execute(job, tenant.id, key));
  }

  private async execute(job: WorkerJob, tenantId: string, key: string): Promise<void> {
    const tenant = this.active.get(tenantId);
    if (!tenant || this.state !== 'running') return;
    const controller = new AbortController();
    this.controllers.set(key, controller);
    const timer = job.timeoutMs ? setTimeout(() => controller.abort(new Error(`job "${job.name}" timed out`)), job.timeoutMs) : undefined;
    const started = performance.now();
    const base = { job: job.name, tenantId, slug: tenant.slug };
    this.emit({ type: 'job-started', ...base });
    try {
      await withTenant(this.options.pools, tenantId, (scope) => job.run({ ...scope, job: job.name, signal: controller.signal }), {
        signal: controller.signal,
      });
      this.emit({ type: 'job-succeeded', ...base, durationMs: performance.now() - started });
    } catch (err) {
      const error = toToolkitError(err);
      if (NOT_SERVABLE.has(error.code)) this.emit({ type: 'job-skipped', ...base, reason: error.message });
      else this.emit({ type: 'job-failed', ...base, durationMs: performance.now() - started, error });
    } finally {
      clearTimeout(timer);
      this.controllers.delete(key);
    }
  }

  /** Drops the tenant: queued runs are removed, running ones aborted. */
  private forget(tenantId: string): void {
    this.active.delete(tenantId);
    const suffix = `\u0000${tenantId}`;
    this.queue.drop((key) => key.endsWith(suffix));
    for (const [key, controller] of this.controllers) {
      if (key.endsWith(suffix)) controller.abort(new Error('the tenant is no longer active'));
    }
  }

  private emit(event: WorkerEvent): void {
    try {
      this.options.onEvent?.(event);
    } catch {
      // A faulty listener must not stop the worker.
    }
  }
}

function taskKey(job: string, tenantId: string): string {
  return `${job}\u0000${tenantId}`;
}
