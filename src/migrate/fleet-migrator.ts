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
 * the meta database cannot be used at all at the start. A meta database
 * lost later costs no outcome: RunRecorder keeps them and retries, and the
 * outcome lists what could not be recorded.
 */
import type { Tenant } from '../tenants/tenant.js';
import { messageOf, toToolkitError } from '../errors.js';
import { RunRecorder, type RecordResult } from './run-recorder.js';
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
import { planRun, type RunPlan } from './fleet-plan.js';
import { recordedOptions } from './fleet-settings.js';
import { type FleetEvent, type FleetMigrateDeps, type FleetMigrateOptions, type FleetOutcome, type FleetProgress } from './fleet-types.js';
import type { MigrationFile } from '../schema/migration-files.js';
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

  const { settings } = plan;
  const runId = settings.dryRun ? null : await startRun(runs, plan, options.actor);
  const liveness = runId ? await runs.holdLiveness(runId).catch(() => undefined) : undefined;
  const recorder = runId
    ? new RunRecorder(runs, runId, {
        firstFailure: (message) =>
          emit({ type: 'warning', message: `cannot write to the meta database (${message}); outcomes are kept and written when it is back` }),
        retry: (retry) => emit({ type: 'record-retry', ...retry }),
      })
    : null;
  try {
    emit({
      type: 'run-started',
      runId,
      runnerId: null,
      joined: false,
      total: plan.order.length,
      queued: plan.queue.length,
      direction: settings.direction,
      dryRun: settings.dryRun,
    });
    const { stopReason, notStarted } = await runQueue(files, deps, recorder, plan, options, emit);

    const results = plan.results;
    for (const tenant of notStarted) results.set(tenant.id, skippedResult(tenant, `not started: ${stopReason ?? 'stopped'}`));
    const ordered = plan.order.map((tenant) => results.get(tenant.id) as FleetTenantResult);
    const interrupted = options.signal?.aborted === true && notStarted.length > 0;
    const status = runStatusOf(
      ordered.map((r) => toRunRecord(r).status),
      interrupted,
    );
    let recorded: RecordResult = { recorded: false, unrecorded: [] };
    if (recorder) {
      const unstarted = notStarted.map((tenant) => toRunRecord(results.get(tenant.id) as FleetTenantResult));
      recorded = await recorder.finish(status, unstarted, settings.recordRetryMs);
      if (!recorded.recorded) {
        const what =
          recorded.unrecorded.length > 0
            ? `the outcomes of ${recorded.unrecorded.length} tenant(s) and the end of run ${runId}`
            : `the end of run ${runId}`;
        emit({ type: 'warning', message: `could not record ${what} in the meta database: ${messageOf(recorded.error)}` });
      }
    }
    const counts = Object.fromEntries(FLEET_TENANT_STATUSES.map((s) => [s, 0])) as Record<FleetTenantStatus, number>;
    for (const result of ordered) counts[result.status] += 1;
    return {
      runId,
      runnerId: null,
      joined: false,
      resumedFrom: plan.selection.resumed?.id ?? null,
      direction: settings.direction,
      dryRun: settings.dryRun,
      targetVersion: plan.targetVersion,
      latestVersion: plan.latest,
      status,
      stopReason,
      results: ordered,
      counts,
      recorded: recorded.recorded,
      unrecorded: recorded.unrecorded,
      durationMs: performance.now() - started,
    };
  } finally {
    await liveness?.release();
  }
}

/** Records the run as started, with every tenant: decided ones with their result, the rest pending. Returns its id. */
function startRun(runs: MigrationRuns, plan: RunPlan, actor: string): Promise<string> {
  return runs.start({
    actor,
    direction: plan.settings.direction,
    target: plan.selection.recorded,
    options: recordedOptions(plan.settings, plan.latest),
    tenants: plan.order.map((tenant) => {
      const decided = plan.results.get(tenant.id);
      return decided
        ? toRunRecord(decided)
        : { tenantId: tenant.id, status: 'pending', from: tenant.schemaVersion, to: null, applied: [], durationMs: null, error: null };
    }),
  });
}

/** Migrates the queued tenants under the caps and the failure policy; fills plan.results. */
async function runQueue(
  files: readonly MigrationFile[],
  deps: FleetMigrateDeps,
  recorder: RunRecorder | null,
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
  const { settings } = plan;
  const tenantOptions: TenantMigrateOptions = {
    actor: options.actor,
    direction: settings.direction,
    ...(settings.to !== undefined ? { to: settings.to } : {}),
    dryRun: settings.dryRun,
    ifLocked: settings.ifLocked,
    // One limit for both waits: for the tenant's migration lock, and for locks the DDL takes.
    lockWaitMs: settings.lockTimeoutMs,
    lockTimeoutMs: settings.lockTimeoutMs,
    statementTimeoutMs: settings.statementTimeoutMs,
    ...(settings.connectTimeoutMs !== undefined ? { connectTimeoutMs: settings.connectTimeoutMs } : {}),
    ...(recorder ? { runId: recorder.runId } : {}),
    retries: settings.retries,
    ...(settings.retryDelayMs !== undefined ? { retryDelayMs: settings.retryDelayMs } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  };
  try {
    const notStarted = await runWorkQueue(
      plan.queue,
      {
        concurrency: settings.concurrency,
        perKey: settings.perHost,
        keyOf: serverOf,
        canStart: () => stopReason === null,
        ...(options.signal ? { signal: options.signal } : {}),
      },
      async (tenant) => {
        running.set(tenant.id, tenant.slug);
        emit({ type: 'tenant-started', tenant, progress: progress() });
        const result = await migrateOne(tenant, files, deps, settings.direction, {
          ...tenantOptions,
          onEvent: (migration) => emit({ type: 'migration', tenant, migration }),
          onRetry: (retry) => emit({ type: 'tenant-retry', tenant, ...retry, error: errorOf(retry.error) }),
        });
        plan.results.set(tenant.id, result);
        running.delete(tenant.id);
        done += 1;
        if (result.status === 'failed') {
          failed += 1;
          if (settings.failFast) stop(`stopped after ${tenant.slug} failed (--fail-fast)`);
          else if (failed >= settings.maxFailures) stop(`stopped after ${failed} failures (--max-failures ${settings.maxFailures})`);
        }
        // The outcome is final here; writing it to the run history is bookkeeping (kept and retried if the meta database is away).
        emit({ type: 'tenant-finished', result, progress: progress() });
        await recorder?.tenant(toRunRecord(result));
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
  direction: 'up' | 'down',
  options: TenantMigrateOptions,
): Promise<FleetTenantResult> {
  const started = performance.now();
  try {
    return outcomeResult(tenant, await migrateTenant(tenant, files, deps, options), direction);
  } catch (err) {
    return {
      ...skippedResult(tenant, ''),
      status: 'failed',
      checkedIn: 'database',
      attempts: 1,
      durationMs: performance.now() - started,
      error: errorOf(toToolkitError(err)),
      reason: null,
    };
  }
}
