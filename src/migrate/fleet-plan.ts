/**
 * Planning a fleet run, before anything is written: validation, target
 * selection, and the cheap pre-check that reports tenants current per the
 * meta database without connecting to them.
 */
import os from 'node:os';
import type { Tenant } from '../tenants/tenant.js';
import { UsageError } from '../errors.js';
import { DEFAULT_LOCK_WAIT_MS } from '../schema/migration-lock.js';
import { unknownMigration } from '../schema/migration-plan.js';
import type { MigrationDirection } from '../schema/migration-types.js';
import { skippedResult, upToDateResult, type FleetTenantResult } from './fleet-result.js';
import { selectTargets, type TargetSelection } from './fleet-targets.js';
import { defaultConcurrency, type FleetMigrateDeps, type FleetMigrateOptions } from './fleet-types.js';
import { latestVersion, migrationIndex, type MigrationFile } from '../schema/migration-files.js';
import type { MigrationRuns } from './migration-runs.js';
import { currentInMeta } from './pending-migrations.js';

export interface RunPlan {
  direction: MigrationDirection;
  dryRun: boolean;
  to: string | undefined;
  targetVersion: string | null;
  latest: string | null;
  concurrency: number;
  perHost: number;
  maxFailures: number;
  selection: TargetSelection;
  /** Every targeted tenant, in registry order. */
  order: Tenant[];
  /** Tenants to connect to. */
  queue: Tenant[];
  /** Results known before running (up to date per the meta database, ineligible), then all. */
  results: Map<string, FleetTenantResult>;
}

/** Validates, selects the targets and decides what needs no connection. Nothing is written. */
export async function planRun(
  files: readonly MigrationFile[],
  deps: FleetMigrateDeps,
  runs: MigrationRuns,
  options: FleetMigrateOptions,
): Promise<RunPlan> {
  const concurrency = positive(options.concurrency ?? defaultConcurrency(), 'concurrency');
  const perHost = positive(options.perHost ?? concurrency, 'per-host');
  const maxFailures = options.maxFailures === undefined ? Infinity : positive(options.maxFailures, 'max-failures');
  const direction = options.direction ?? 'up';
  const selection = await selectTargets(deps.registry, runs, options.target ?? {}, direction);
  const resumedTo = selection.resumed?.options.to;
  if (selection.resumed && options.to !== undefined && options.to !== resumedTo) {
    throw new UsageError(`run ${selection.resumed.id} did not migrate to ${options.to}; resume it without --to`);
  }
  const to = options.to ?? (typeof resumedTo === 'string' ? resumedTo : undefined);
  const targetVersion = checkTo(files, direction, to);

  // The cheap pre-check, without connecting: the meta database records the
  // target version, and its mirror of the tenant's bookkeeping matches the files.
  const targetIndex = migrationIndex(files, targetVersion);
  const candidates = selection.tenants.filter((tenant) => {
    const known = migrationIndex(files, tenant.schemaVersion);
    return direction === 'up' && !options.verify && tenant.status !== 'migration_failed' && known >= 0 && known >= targetIndex;
  });
  const current = await currentInMeta(deps.metaPool, files, candidates.map((t) => t.id), targetIndex);
  const results = new Map<string, FleetTenantResult>();
  const queue: Tenant[] = [];
  for (const tenant of selection.tenants) {
    if (current.has(tenant.id)) results.set(tenant.id, upToDateResult(tenant));
    else queue.push(tenant);
  }
  for (const { tenant, reason } of selection.ineligible) results.set(tenant.id, skippedResult(tenant, reason));
  return {
    direction,
    dryRun: options.dryRun === true,
    to,
    targetVersion,
    latest: latestVersion(files),
    concurrency,
    perHost,
    maxFailures,
    selection,
    order: [...selection.tenants, ...selection.ineligible.map((i) => i.tenant)],
    queue,
    results,
  };
}

function positive(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`${name} must be a positive integer, got ${value}`);
  return value;
}

/** The version the run goes to; validates `to` against the files. */
function checkTo(files: readonly MigrationFile[], direction: MigrationDirection, to: string | undefined): string | null {
  if (direction === 'down') {
    if (to === undefined) throw new UsageError('`migrate down` needs --to <migration> (or --to 0 to revert everything)');
    if (to === '0') return null;
  }
  if (to === undefined) return latestVersion(files);
  if (!files.some((f) => f.name === to)) throw unknownMigration(to, files.at(-1)?.name ?? '00001_initial');
  return to;
}

export function runOptions(options: FleetMigrateOptions, plan: RunPlan): Record<string, unknown> {
  return {
    ...(plan.to !== undefined ? { to: plan.to } : {}),
    latest: plan.latest,
    concurrency: plan.concurrency,
    perHost: plan.perHost,
    verify: options.verify === true,
    failFast: options.failFast === true,
    ...(options.maxFailures !== undefined ? { maxFailures: options.maxFailures } : {}),
    ifLocked: options.ifLocked ?? 'wait',
    lockTimeoutMs: options.lockTimeoutMs ?? DEFAULT_LOCK_WAIT_MS,
    statementTimeoutMs: options.statementTimeoutMs ?? 0,
    client: { hostname: os.hostname(), pid: process.pid },
  };
}
