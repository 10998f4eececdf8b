/**
 * Migrates a fleet of tenant databases: selects the targets (one meta
 * query), reports tenants whose recorded schema_version is already the
 * target without connecting to them, and runs the rest through a work queue
 * with a global and a per-server concurrency cap. Each tenant is migrated by
 * migrateTenant (its own lock, transactions and meta bookkeeping); one
 * tenant's failure never stops the others unless failFast / maxFailures say
 * so. Every run is recorded (migration_runs) so it can be shown and resumed.
 *
 * Returns one result per targeted tenant; never throws for a tenant's
 * failure. Throws only for bad input (usage, unknown tenant or run) or when
 * the meta database cannot be used at all.
 */
import type { Tenant } from '../core/tenant.js';
import { messageOf, toToolkitError } from '../errors.js';
import { DEFAULT_LOCK_WAIT_MS } from './database-migrator.js';
import {
  FLEET_TENANT_STATUSES,
  errorOf,
  outcomeResult,
  serverOf,
  skippedResult,
  toRunRecord,
  type FleetTenantResult,
  type FleetTenantStatus,
} from './fleet-result.js';
import { planRun, runOptions, type RunPlan } from './fleet-plan.js';
import type { FleetEvent, FleetMigrateDeps, FleetMigrateOptions, FleetOutcome, FleetProgress } from './fleet-types.js';
import type { MigrationFile } from './migration-files.js';
import { MigrationRuns, runStatusOf } from './migration-runs.js';
import { migrateTenant, type TenantMigrateOptions } from './tenant-migrator.js';
import { runWorkQueue } from './work-queue.js';

export async function migrateFleet(
  files: readonly MigrationFile[],
  deps: FleetMigrateDeps,
  options: FleetMigrateOptions,
): Promise<FleetOutcome> {
  const started = performance.now();
  const runs = new MigrationRuns(deps.metaPool);
  const plan = await planRun(files, deps, runs, options);
  const emit = (event: FleetEvent) => {
    try {
      options.onEvent?.(event);
    } catch {
      // A rendering problem must not break the run.
    }
  };

  const runId = plan.dryRun
    ? null
    : await runs.start({
        actor: options.actor,
        direction: plan.direction,
        target: plan.selection.recorded,
        options: runOptions(options, plan),
        tenants: plan.order.map((tenant) => {
          const decided = plan.results.get(tenant.id);
          return decided
            ? toRunRecord(decided)
            : { tenantId: tenant.id, status: 'pending', from: tenant.schemaVersion, to: null, applied: [], durationMs: null, error: null };
        }),
      });
  const liveness = runId ? await runs.holdLiveness(runId).catch(() => undefined) : undefined;
  try {
    emit({ type: 'run-started', runId, total: plan.order.length, queued: plan.queue.length, direction: plan.direction, dryRun: plan.dryRun });
    const { stopReason, notStarted } = await runQueue(files, deps, runs, runId, plan, options, emit);

    const results = plan.results;
    for (const tenant of notStarted) results.set(tenant.id, skippedResult(tenant, `not started: ${stopReason ?? 'stopped'}`));
    const ordered = plan.order.map((tenant) => results.get(tenant.id) as FleetTenantResult);
    const interrupted = options.signal?.aborted === true && notStarted.length > 0;
    const status = runStatusOf(
      ordered.map((r) => (r.status === 'pending' ? 'up-to-date' : r.status)),
      interrupted,
    );
    if (runId) {
      const unstarted = notStarted.map((tenant) => toRunRecord(results.get(tenant.id) as FleetTenantResult));
      await runs.finish(runId, status, unstarted).catch((err: unknown) => {
        emit({ type: 'warning', message: `could not record the end of run ${runId}: ${messageOf(err)}` });
      });
    }
    const counts = Object.fromEntries(FLEET_TENANT_STATUSES.map((s) => [s, 0])) as Record<FleetTenantStatus, number>;
    for (const result of ordered) counts[result.status] += 1;
    return {
      runId,
      resumedFrom: plan.selection.resumed?.id ?? null,
      direction: plan.direction,
      dryRun: plan.dryRun,
      targetVersion: plan.targetVersion,
      latestVersion: plan.latest,
      status,
      stopReason,
      results: ordered,
      counts,
      durationMs: performance.now() - started,
    };
  } finally {
    await liveness?.release();
  }
}

/** Migrates the queued tenants under the caps and the failure policy; fills plan.results. */
async function runQueue(
  files: readonly MigrationFile[],
  deps: FleetMigrateDeps,
  runs: MigrationRuns,
  runId: string | null,
  plan: RunPlan,
  options: FleetMigrateOptions,
  emit: (event: FleetEvent) => void,
): Promise<{ stopReason: string | null; notStarted: Tenant[] }> {
  const running = new Map<string, string>();
  let done = plan.order.length - plan.queue.length;
  let failed = 0;
  let stopReason: string | null = null;
  const progress = (): FleetProgress => ({ total: plan.order.length, done, failed, running: [...running.values()] });
  const stop = (reason: string) => {
    if (stopReason) return;
    stopReason = reason;
    emit({ type: 'stopping', reason });
  };
  const onAbort = () => stop('interrupted');
  options.signal?.addEventListener('abort', onAbort);
  if (options.signal?.aborted) onAbort();
  const tenantOptions: TenantMigrateOptions = {
    actor: options.actor,
    direction: plan.direction,
    ...(plan.to !== undefined ? { to: plan.to } : {}),
    dryRun: plan.dryRun,
    ifLocked: options.ifLocked ?? 'wait',
    lockWaitMs: options.lockTimeoutMs ?? DEFAULT_LOCK_WAIT_MS,
    lockTimeoutMs: options.lockTimeoutMs ?? DEFAULT_LOCK_WAIT_MS,
    statementTimeoutMs: options.statementTimeoutMs ?? 0,
    ...(options.connectTimeoutMs !== undefined ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
    ...(runId ? { runId } : {}),
  };
  try {
    const notStarted = await runWorkQueue(
      plan.queue,
      {
        concurrency: plan.concurrency,
        perKey: plan.perHost,
        keyOf: serverOf,
        canStart: () => stopReason === null,
        ...(options.signal ? { signal: options.signal } : {}),
      },
      async (tenant) => {
        running.set(tenant.id, tenant.slug);
        emit({ type: 'tenant-started', tenant, progress: progress() });
        const result = await migrateOne(tenant, files, deps, {
          ...tenantOptions,
          onEvent: (migration) => emit({ type: 'migration', tenant, migration }),
        });
        plan.results.set(tenant.id, result);
        if (runId) {
          await runs.finishTenant(runId, toRunRecord(result)).catch((err: unknown) => {
            emit({ type: 'warning', message: `could not record the outcome of ${tenant.slug} in the run history: ${messageOf(err)}` });
          });
        }
        running.delete(tenant.id);
        done += 1;
        if (result.status === 'failed') {
          failed += 1;
          if (options.failFast) stop(`stopped after ${tenant.slug} failed (--fail-fast)`);
          else if (failed >= plan.maxFailures) stop(`stopped after ${failed} failures (--max-failures ${plan.maxFailures})`);
        }
        emit({ type: 'tenant-finished', result, progress: progress() });
      },
    );
    return { stopReason, notStarted };
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/** migrateTenant, as a fleet result; whatever goes wrong becomes this tenant's failure. */
async function migrateOne(
  tenant: Tenant,
  files: readonly MigrationFile[],
  deps: FleetMigrateDeps,
  options: TenantMigrateOptions,
): Promise<FleetTenantResult> {
  const started = performance.now();
  try {
    return outcomeResult(tenant, await migrateTenant(tenant, files, deps, options));
  } catch (err) {
    return {
      ...skippedResult(tenant, ''),
      status: 'failed',
      checkedIn: 'database',
      durationMs: performance.now() - started,
      error: errorOf(toToolkitError(err)),
      reason: null,
    };
  }
}
