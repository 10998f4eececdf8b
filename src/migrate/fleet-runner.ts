/**
 * One runner of a fleet run: claims tenants from the run's queue (up to its
 * concurrency), migrates them, records each outcome before claiming again
 * (so the stop rule sees it), and keeps its claims alive with a heartbeat.
 * With nothing to claim it waits (polling) until the run ends, for at most
 * waitTimeoutMs of idleness. A meta database that cannot be reached for a
 * claim is retried with backoff for recordRetryMs; after that the runner
 * finishes what it holds and gives up (the run goes on with the others).
 */
import type { Tenant } from '../tenants/tenant.js';
import { isConnectionError, messageOf } from '../errors.js';
import { backoffDelay } from '../pools/status-listener.js';
import { skippedResult, toRunRecord, type FleetTenantResult } from './fleet-result.js';
import type { FleetEvent, FleetProgress } from './fleet-types.js';
import type { RunRecorder } from './run-recorder.js';
import type { ClaimResult, QueueProgress, RunQueue } from './run-queue.js';

export interface RunnerSettings {
  concurrency: number;
  leaseMs: number;
  /** 0: wait forever. */
  waitTimeoutMs: number;
  /** How long claims keep being retried while the meta database cannot be reached. */
  recordRetryMs: number;
}

export interface RunnerContext {
  queue: RunQueue;
  runnerId: string;
  recorder: RunRecorder;
  /** The claimed tenants as the registry has them now (a deleted one is missing). */
  loadTenants(ids: readonly string[]): Promise<Tenant[]>;
  /** Why a claimed tenant is not migrated after all (its status changed since the run started), or null. */
  ineligible(tenant: Tenant): string | null;
  migrate(tenant: Tenant): Promise<FleetTenantResult>;
  emit(event: FleetEvent): void;
  signal?: AbortSignal;
}

export interface RunnerEnd {
  /** What this runner produced, in the order it finished them. */
  results: FleetTenantResult[];
  /** The run's end, if this runner saw it. */
  ended: Extract<ClaimResult, { kind: 'ended' }> | null;
  /** Why the runner stopped before the run ended: wait timeout, or the meta database lost. */
  gaveUp: string | null;
  interrupted: boolean;
}

export async function runRunner(ctx: RunnerContext, settings: RunnerSettings): Promise<RunnerEnd> {
  const { queue, runnerId, recorder } = ctx;
  const results: FleetTenantResult[] = [];
  const inflight = new Map<string, Promise<void>>();
  const running = new Map<string, string>();
  const pollMs = Math.max(100, Math.min(1_000, settings.leaseMs / 4));
  let progress: QueueProgress = { total: 0, done: 0, failed: 0, running: 0 };
  let finishedSince = 0;
  let failedSince = 0;
  let ended: RunnerEnd['ended'] = null;
  let gaveUp: string | null = null;
  let idleSince: number | null = null;
  let lastWait: string | null = null;
  let metaDown: { since: number; attempt: number } | null = null;
  let poke: () => void = () => undefined;
  let refreshed = 0;
  // The run's counts for progress lines: a scan of the run's rows, so at most once a second.
  const refresh = async () => {
    if (Date.now() - refreshed < 1_000) return;
    refreshed = Date.now();
    try {
      progress = await queue.progress();
      finishedSince = 0;
      failedSince = 0;
    } catch {
      // Progress lines only; the next claim says whether the meta database is away.
    }
  };
  let stopShown = false;
  let unloaded: string[] = [];

  const shown = (): FleetProgress => ({
    total: progress.total,
    done: progress.done + finishedSince,
    failed: progress.failed + failedSince,
    running: [...running.values()],
  });
  const wake = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        ctx.signal?.removeEventListener('abort', done);
        poke = () => undefined;
        resolve();
      }
      poke = done;
      ctx.signal?.addEventListener('abort', done, { once: true });
    });

  const heartbeat = setInterval(
    () => {
      queue.heartbeat(runnerId, settings.leaseMs).catch(() => undefined);
    },
    Math.max(200, settings.leaseMs / 3),
  );
  heartbeat.unref();

  const finish = async (result: FleetTenantResult) => {
    results.push(result);
    finishedSince += 1;
    if (result.status === 'failed') failedSince += 1;
    running.delete(result.tenantId);
    ctx.emit({ type: 'tenant-finished', result, progress: shown() });
    // Recorded before the slot frees: the next claim's stop rule must see this outcome.
    await recorder.tenant(toRunRecord(result));
  };

  const start = (tenant: Tenant) => {
    const task = (async () => {
      const reason = ctx.ineligible(tenant);
      if (reason !== null) return finish(skippedResult(tenant, reason));
      running.set(tenant.id, tenant.slug);
      ctx.emit({ type: 'tenant-started', tenant, progress: shown() });
      await finish(await ctx.migrate(tenant));
    })()
      .catch((err: unknown) => ctx.emit({ type: 'warning', message: `runner error on ${tenant.slug}: ${messageOf(err)}` }))
      .finally(() => {
        inflight.delete(tenant.id);
        poke();
      });
    inflight.set(tenant.id, task);
  };

  try {
    while (!ctx.signal?.aborted) {
      const free = settings.concurrency - inflight.size;
      if (free <= 0) {
        await wake(pollMs);
        continue;
      }
      let result: ClaimResult | null = null;
      try {
        await recorder.writeKept();
        if (unloaded.length === 0) result = await queue.claim(runnerId, free, settings.leaseMs);
        if (result?.kind === 'claimed') unloaded = result.tenantIds;
        // Claimed rows are ours until their outcome: loaded again if the meta database fails here.
        if (unloaded.length > 0) {
          const ids = unloaded;
          const tenants = new Map((await ctx.loadTenants(ids)).map((t) => [t.id, t]));
          unloaded = [];
          for (const id of ids) {
            const tenant = tenants.get(id);
            if (tenant) start(tenant);
            else await recorder.tenant(goneRecord(id));
          }
        }
        metaDown = null;
      } catch (err) {
        if (!isConnectionError(err)) throw err;
        metaDown ??= { since: Date.now(), attempt: 0 };
        metaDown.attempt += 1;
        const delayMs = backoffDelay(metaDown.attempt - 1, 500, 5_000);
        if (Date.now() + delayMs - metaDown.since > settings.recordRetryMs) {
          gaveUp = `lost the meta database: ${messageOf(err)}`;
          break;
        }
        ctx.emit({ type: 'record-retry', attempt: metaDown.attempt, delayMs, pending: recorder.pending, message: messageOf(err) });
        await wake(delayMs);
        continue;
      }
      if (result === null || result.kind === 'claimed') {
        idleSince = null;
        lastWait = null;
        continue;
      }
      await refresh();
      if (result.stopReason && !stopShown) ctx.emit({ type: 'stopping', reason: result.stopReason });
      stopShown ||= result.stopReason !== null;
      if (result.kind === 'ended') {
        ended = result;
        break;
      }
      if (inflight.size === 0) {
        idleSince ??= Date.now();
        if (settings.waitTimeoutMs > 0 && Date.now() - idleSince >= settings.waitTimeoutMs) {
          gaveUp = `the run had not ended after waiting ${Math.round(settings.waitTimeoutMs / 1000)} s (--wait-timeout)`;
          break;
        }
        if (result.reason !== lastWait) ctx.emit({ type: 'waiting', reason: result.reason, progress: shown() });
        lastWait = result.reason;
      }
      await wake(pollMs * (0.8 + Math.random() * 0.4));
    }
    await Promise.all(inflight.values());
  } finally {
    clearInterval(heartbeat);
  }
  const interrupted = ctx.signal?.aborted === true && ended === null;
  return { results, ended, gaveUp, interrupted };
}

/** The outcome of a claimed tenant whose row is gone from the registry. */
function goneRecord(tenantId: string) {
  return { tenantId, status: 'skipped' as const, from: null, to: null, applied: [], durationMs: null, error: 'tenant no longer exists' };
}
