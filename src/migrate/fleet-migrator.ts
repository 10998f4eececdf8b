/**
 * Migrates a fleet of tenant databases. A run is planned once (targets, the
 * cheap pre-check that reports tenants current per the meta database without
 * connecting, shard, canaries and waves) and recorded in the meta database,
 * where it is also the run's work queue (run-queue.ts): this process works
 * on it as one runner (fleet-runner.ts), and other processes, on any
 * machine, may join it (`join`, or the same `runKey`). Each tenant is
 * migrated by migrateTenant (its own lock, transactions and meta
 * bookkeeping); one tenant's failure never stops the others unless the
 * run's stop rule says so (run-policy.ts). A dry run is not recorded and
 * runs here alone, through a local work queue.
 *
 * Returns this runner's results and the whole run's counts and status;
 * never throws for a tenant's failure. Throws only for bad input (usage,
 * unknown tenant or run) or when the meta database cannot be used at all at
 * the start. A meta database lost later costs no outcome: RunRecorder keeps
 * them and retries, and the outcome lists what could not be recorded.
 */
import type { Tenant } from '../tenants/tenant.js';
import { UsageError, messageOf, toToolkitError } from '../errors.js';
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
import { recordedOptions, resolveFleetOptions, type FleetSettings } from './fleet-settings.js';
import { ineligibility, recordedStatuses } from './fleet-targets.js';
import { type FleetEvent, type FleetMigrateDeps, type FleetMigrateOptions, type FleetOutcome } from './fleet-types.js';
import { latestVersion, migrationIndex, type MigrationFile } from '../schema/migration-files.js';
import type { MigrationDirection } from '../schema/migration-types.js';
import { MigrationRuns, type MigrationRunSummary, type RunStatus } from './migration-runs.js';
import { migrateTenant, type TenantMigrateOptions } from './tenant-migrator.js';
import { migrationsFingerprint } from './pending-migrations.js';
import { failSpan, withSpan } from '../tracing.js';
import { RunQueue } from './run-queue.js';
import { runRunner, type RunnerEnd } from './fleet-runner.js';
import { runWorkQueue } from './work-queue.js';

/** What a runner needs to know about the run it works on. */
interface RunSpec {
  runId: string;
  joined: boolean;
  direction: MigrationDirection;
  /** The version the run migrates to (null: down to nothing). */
  targetVersion: string | null;
  latestVersion: string | null;
  resumedFrom: string | null;
  /** Per tenant, as the run recorded them (the joiner's own for connect timeout and retries). */
  tenantOptions: Omit<TenantMigrateOptions, 'onEvent' | 'onRetry'>;
  statuses: Tenant['status'][];
  /** The starting runner: results decided at the start, and the order to report in. */
  planned?: { results: Map<string, FleetTenantResult>; order: Tenant[] };
  total: number;
  queued: number;
}

/** The run, traced as the span `tenant.migrate.fleet` around one `tenant.migrate` span per tenant (no-op without an OpenTelemetry SDK). */
export function migrateFleet(files: readonly MigrationFile[], deps: FleetMigrateDeps, options: FleetMigrateOptions): Promise<FleetOutcome> {
  const attributes = { 'migrate.direction': options.direction ?? 'up', 'migrate.dry_run': options.dryRun === true };
  return withSpan('tenant.migrate.fleet', attributes, async (span) => {
    const outcome = await fleetRun(files, deps, options);
    span.setAttributes({ 'migrate.run_id': outcome.runId ?? '', 'migrate.status': outcome.status });
    return outcome;
  });
}

async function fleetRun(files: readonly MigrationFile[], deps: FleetMigrateDeps, options: FleetMigrateOptions): Promise<FleetOutcome> {
  const started = performance.now();
  const runs = new MigrationRuns(deps.metaPool);
  const emit = (event: FleetEvent) => {
    try {
      options.onEvent?.(event);
    } catch {
      // A rendering problem must not break the run.
    }
  };
  const given = resolveFleetOptions(options);
  if (given.join !== undefined) {
    const { summary } = await runs.status(given.join);
    return runOn(files, deps, runs, joinSpec(files, summary, given, options.actor), given, options, emit, started);
  }

  const plan = await planRun(files, deps, runs, options);
  const { settings } = plan;
  if (settings.dryRun) return dryRun(files, deps, plan, options, emit, started);
  const { id, created } = await runs.start({
    actor: options.actor,
    direction: settings.direction,
    target: plan.selection.recorded,
    options: {
      ...recordedOptions(settings, plan.latest),
      files: filesFingerprint(files, plan.targetVersion),
      waves: new Set(plan.waves.values()).size,
    },
    ...(settings.runKey !== undefined ? { runKey: settings.runKey } : {}),
    tenants: plan.order.map((tenant, index) => {
      const decided = plan.results.get(tenant.id);
      const place = { position: index + 1, serverName: tenant.serverName };
      return decided
        ? { ...toRunRecord(decided), ...place, wave: null }
        : {
            tenantId: tenant.id,
            status: 'pending' as const,
            from: tenant.schemaVersion,
            to: null,
            applied: [],
            durationMs: null,
            error: null,
            ...place,
            wave: plan.waves.get(tenant.id) ?? 1,
          };
    }),
  });
  if (!created) {
    // Another runner started the run under this key first: join it, on its terms.
    const { summary } = await runs.status(id);
    return runOn(files, deps, runs, joinSpec(files, summary, settings, options.actor), settings, options, emit, started);
  }
  const spec: RunSpec = {
    runId: id,
    joined: false,
    direction: settings.direction,
    targetVersion: plan.targetVersion,
    latestVersion: plan.latest,
    resumedFrom: plan.selection.resumed?.id ?? null,
    tenantOptions: tenantOptionsOf(settings, options.actor, id),
    statuses: plan.selection.statuses,
    planned: { results: plan.results, order: plan.order },
    total: plan.order.length,
    queued: plan.queue.length,
  };
  return runOn(files, deps, runs, spec, settings, options, emit, started);
}

/** Per-tenant options from the run's settings. */
function tenantOptionsOf(
  settings: Pick<
    FleetSettings,
    'direction' | 'to' | 'ifLocked' | 'lockTimeoutMs' | 'statementTimeoutMs' | 'connectTimeoutMs' | 'retries' | 'retryDelayMs' | 'dryRun'
  >,
  actor: string,
  runId: string | null,
): Omit<TenantMigrateOptions, 'onEvent' | 'onRetry'> {
  return {
    actor,
    direction: settings.direction,
    ...(settings.to !== undefined ? { to: settings.to } : {}),
    dryRun: settings.dryRun,
    ifLocked: settings.ifLocked,
    // One limit for both waits: for the tenant's migration lock, and for locks the DDL takes.
    lockWaitMs: settings.lockTimeoutMs,
    lockTimeoutMs: settings.lockTimeoutMs,
    statementTimeoutMs: settings.statementTimeoutMs,
    ...(settings.connectTimeoutMs !== undefined ? { connectTimeoutMs: settings.connectTimeoutMs } : {}),
    ...(runId ? { runId } : {}),
    retries: settings.retries,
    ...(settings.retryDelayMs !== undefined ? { retryDelayMs: settings.retryDelayMs } : {}),
  };
}

/** Every runner of a run must have the same migrations (names and checksums) up to the run's target. */
function filesFingerprint(files: readonly MigrationFile[], target: string | null): string {
  return migrationsFingerprint(files, migrationIndex(files, target));
}

/** A joining runner works to the run's target, with the run's options; its migration files must be the run's. */
function joinSpec(files: readonly MigrationFile[], run: MigrationRunSummary, settings: FleetSettings, actor: string): RunSpec {
  const o = run.options;
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const num = (v: unknown, fallback: number) => (typeof v === 'number' && Number.isFinite(v) ? v : fallback);
  const to = str(o.to);
  const targetVersion = run.direction === 'down' ? (to === '0' ? null : (to ?? null)) : (to ?? str(o.latest) ?? null);
  if (targetVersion !== null && !files.some((f) => f.name === targetVersion)) {
    throw new UsageError(`run ${run.id} migrates to ${targetVersion}, which this runner's migration files do not have`, {
      hint: 'join with the release (migrations folder) that started the run',
    });
  }
  const recorded = str(o.files);
  if (recorded !== undefined && recorded !== filesFingerprint(files, targetVersion)) {
    throw new UsageError(`this runner's migration files differ from those run ${run.id} was started with`, {
      hint: 'join with the release (migrations folder) that started the run',
    });
  }
  const ifLocked = o.ifLocked === 'skip' ? 'skip' : 'wait';
  const runSettings = {
    ...settings,
    direction: run.direction,
    to: run.direction === 'down' ? (to ?? '0') : (targetVersion ?? undefined),
    dryRun: false,
    ifLocked,
    lockTimeoutMs: num(o.lockTimeoutMs, settings.lockTimeoutMs),
    statementTimeoutMs: num(o.statementTimeoutMs, settings.statementTimeoutMs),
  } as const;
  return {
    runId: run.id,
    joined: true,
    direction: run.direction,
    targetVersion,
    latestVersion: latestVersion(files),
    resumedFrom: str(run.target.resumeOf) ?? null,
    tenantOptions: tenantOptionsOf(runSettings, actor, run.id),
    statuses: recordedStatuses(run.target),
    total: run.total,
    queued: run.counts.pending + run.counts.running,
  };
}

/** This process as one runner of the run, until the run ends (or it gives up or is interrupted). */
async function runOn(
  files: readonly MigrationFile[],
  deps: FleetMigrateDeps,
  runs: MigrationRuns,
  spec: RunSpec,
  settings: FleetSettings,
  options: FleetMigrateOptions,
  emit: (event: FleetEvent) => void,
  started: number,
): Promise<FleetOutcome> {
  const queue = new RunQueue(deps.metaPool, spec.runId);
  const base = {
    runId: spec.runId,
    joined: spec.joined,
    resumedFrom: spec.resumedFrom,
    direction: spec.direction,
    dryRun: false,
    targetVersion: spec.targetVersion,
    latestVersion: spec.latestVersion,
  };
  const look = await queue.look();
  if (look.kind === 'ended') {
    // Nothing to run (every target decided at the start), or joined after the end: report the run as it ended.
    emit({
      type: 'run-started',
      runId: spec.runId,
      runnerId: null,
      joined: spec.joined,
      total: spec.total,
      queued: 0,
      direction: spec.direction,
      dryRun: false,
    });
    const results = outcomeResults(spec, { results: [], ended: look, gaveUp: null, interrupted: false });
    const counts = await runCounts(runs, spec.runId, spec.direction);
    return {
      ...base,
      runnerId: null,
      status: look.status,
      stopReason: look.stopReason,
      results,
      counts,
      recorded: true,
      unrecorded: [],
      durationMs: performance.now() - started,
    };
  }
  const runnerId = await queue.register({ actor: options.actor, concurrency: settings.concurrency, leaseMs: settings.leaseMs });
  const liveness = await runs.holdLiveness(spec.runId).catch(() => undefined);
  const recorder = new RunRecorder(runs, spec.runId, runnerId, {
    firstFailure: (message) =>
      emit({ type: 'warning', message: `cannot write to the meta database (${message}); outcomes are kept and written when it is back` }),
    retry: (retry) => emit({ type: 'record-retry', ...retry }),
  });
  let end: RunnerEnd;
  let recorded: RecordResult;
  const onAbort = () => emit({ type: 'stopping', reason: 'interrupted' });
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    emit({
      type: 'run-started',
      runId: spec.runId,
      runnerId,
      joined: spec.joined,
      total: spec.total,
      queued: spec.queued,
      direction: spec.direction,
      dryRun: false,
    });
    end = await runRunner(
      {
        queue,
        runnerId,
        recorder,
        loadTenants: (ids) => deps.registry.list({ ids: [...ids] }),
        ineligible: (tenant) => ineligibility(tenant, spec.statuses),
        migrate: (tenant) =>
          migrateOne(tenant, files, deps, spec.direction, {
            ...spec.tenantOptions,
            ...(options.signal ? { signal: options.signal } : {}),
            onEvent: (migration) => emit({ type: 'migration', tenant, migration }),
            onRetry: (retry) => emit({ type: 'tenant-retry', tenant, ...retry, error: errorOf(retry.error) }),
          }),
        emit,
        ...(options.signal ? { signal: options.signal } : {}),
      },
      {
        concurrency: settings.concurrency,
        leaseMs: settings.leaseMs,
        waitTimeoutMs: settings.waitTimeoutMs,
        recordRetryMs: settings.recordRetryMs,
      },
    );
    recorded = await recorder.flush(settings.recordRetryMs);
    if (!recorded.recorded) {
      emit({
        type: 'warning',
        message: `could not record the outcomes of ${recorded.unrecorded.length} tenant(s) of run ${spec.runId} in the meta database: ${messageOf(recorded.error)}`,
      });
    }
    if (!end.gaveUp?.startsWith('lost the meta database')) {
      const how = end.interrupted ? 'interrupted' : end.gaveUp ? 'timed-out' : 'finished';
      const left = await queue.leave(runnerId, how).catch(() => null);
      if (!end.ended && left?.kind === 'ended') end = { ...end, ended: left };
    }
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    await liveness?.release();
  }

  const results = outcomeResults(spec, end);
  const status: RunStatus = end.ended?.status ?? 'running';
  const stopReason = end.ended?.stopReason ?? end.gaveUp ?? (end.interrupted ? 'interrupted' : null);
  const counts = await runCounts(runs, spec.runId, spec.direction).catch(() => localCounts(results));
  return {
    ...base,
    runnerId,
    status,
    stopReason,
    results,
    counts,
    recorded: recorded.recorded,
    unrecorded: recorded.unrecorded,
    durationMs: performance.now() - started,
  };
}

/** This runner's results; the starting runner also reports what the start decided, in registry order. */
function outcomeResults(spec: RunSpec, end: RunnerEnd): FleetTenantResult[] {
  const mine = new Map(end.results.map((r) => [r.tenantId, r]));
  const skipped = new Map((end.ended?.skipped ?? []).map((s) => [s.tenantId, s.reason]));
  if (!spec.planned) {
    return end.results;
  }
  const out: FleetTenantResult[] = [];
  for (const tenant of spec.planned.order) {
    const result = mine.get(tenant.id) ?? spec.planned.results.get(tenant.id);
    const reason = skipped.get(tenant.id);
    if (result) out.push(result);
    else if (reason !== undefined) out.push(skippedResult(tenant, reason));
  }
  return out;
}

/** The whole run's counts, as the meta database has them. */
async function runCounts(runs: MigrationRuns, runId: string, direction: MigrationDirection): Promise<Record<FleetTenantStatus, number>> {
  const { summary } = await runs.status(runId);
  const c = summary.counts;
  const counts = Object.fromEntries(FLEET_TENANT_STATUSES.map((s) => [s, 0])) as Record<FleetTenantStatus, number>;
  counts[direction === 'down' ? 'reverted' : 'migrated'] = c.migrated + c.reverted;
  counts['up-to-date'] = c['up-to-date'];
  counts.failed = c.failed;
  counts.skipped = c.skipped;
  // Not finished when this runner left (it gave up waiting, or lost the meta database).
  counts.pending = c.pending + c.running + c.unrecorded;
  return counts;
}

function localCounts(results: readonly FleetTenantResult[]): Record<FleetTenantStatus, number> {
  const counts = Object.fromEntries(FLEET_TENANT_STATUSES.map((s) => [s, 0])) as Record<FleetTenantStatus, number>;
  for (const result of results) counts[result.status] += 1;
  return counts;
}

/** A dry run: not recorded, no queue; the planned tenants are checked here under the caps. */
async function dryRun(
  files: readonly MigrationFile[],
  deps: FleetMigrateDeps,
  plan: RunPlan,
  options: FleetMigrateOptions,
  emit: (event: FleetEvent) => void,
  started: number,
): Promise<FleetOutcome> {
  const { settings } = plan;
  emit({
    type: 'run-started',
    runId: null,
    runnerId: null,
    joined: false,
    total: plan.order.length,
    queued: plan.queue.length,
    direction: settings.direction,
    dryRun: true,
  });
  const running = new Map<string, string>();
  let done = plan.order.length - plan.queue.length;
  const tenantOptions = tenantOptionsOf(settings, options.actor, null);
  const notStarted = await runWorkQueue(
    plan.queue,
    {
      concurrency: settings.concurrency,
      perKey: settings.perHost ?? settings.concurrency,
      keyOf: serverOf,
      ...(options.signal ? { signal: options.signal } : {}),
    },
    async (tenant) => {
      running.set(tenant.id, tenant.slug);
      emit({ type: 'tenant-started', tenant, progress: { total: plan.order.length, done, failed: 0, running: [...running.values()] } });
      const result = await migrateOne(tenant, files, deps, settings.direction, {
        ...tenantOptions,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      plan.results.set(tenant.id, result);
      running.delete(tenant.id);
      done += 1;
      emit({ type: 'tenant-finished', result, progress: { total: plan.order.length, done, failed: 0, running: [...running.values()] } });
    },
  );
  for (const tenant of notStarted) plan.results.set(tenant.id, skippedResult(tenant, 'not started: interrupted'));
  const results = plan.order.map((tenant) => plan.results.get(tenant.id) as FleetTenantResult);
  const failed = results.some((r) => r.status === 'failed' || r.status === 'skipped');
  return {
    runId: null,
    runnerId: null,
    joined: false,
    resumedFrom: plan.selection.resumed?.id ?? null,
    direction: settings.direction,
    dryRun: true,
    targetVersion: plan.targetVersion,
    latestVersion: plan.latest,
    status: notStarted.length > 0 ? 'interrupted' : failed ? 'failed' : 'succeeded',
    stopReason: notStarted.length > 0 ? 'interrupted' : null,
    results,
    counts: localCounts(results),
    recorded: false,
    unrecorded: [],
    durationMs: performance.now() - started,
  };
}

/** migrateTenant, as a fleet result; whatever goes wrong becomes this tenant's failure. */
async function migrateOne(
  tenant: Tenant,
  files: readonly MigrationFile[],
  deps: FleetMigrateDeps,
  direction: 'up' | 'down',
  options: TenantMigrateOptions,
): Promise<FleetTenantResult> {
  return withSpan('tenant.migrate', { 'tenant.id': tenant.id, 'tenant.slug': tenant.slug }, async (span) => {
    const result = await migrateOneResult(tenant, files, deps, direction, options);
    span.setAttribute('migrate.result', result.status);
    if (result.status === 'failed') failSpan(span, result.error?.message ?? 'failed');
    return result;
  });
}

async function migrateOneResult(
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
