/**
 * Migrates one tenant database and keeps the meta database consistent with
 * what is really in it: schema_version, tenant_migrations, status and audit.
 *
 * The meta bookkeeping is written while the tenant's migration lock is still
 * held (DatabaseMigrateOptions.afterRun), from the state read back from the
 * tenant database, so two migrators can never leave the meta database
 * describing anything but the database's real state.
 *
 * Status rules:
 *  - a migration that started and failed (rolled back to the last good
 *    migration) turns an `active` tenant into `migration_failed`;
 *  - a later run that leaves it at the latest version turns it back `active`;
 *  - failures before any migration ran (unreachable, lock timeout, checksum
 *    drift, missing file) change nothing in the tenant database and leave the
 *    status alone; they are audited;
 *  - `suspended` tenants stay suspended whatever happens;
 *  - `down` keeps the status and records the lower schema_version.
 *
 * Who migrates: a tenant with an owner role is migrated by the admin login
 * acting as that role (SET ROLE on the pinned connection); a legacy tenant
 * (ownerRole null) with the tenant credentials, as before.
 *
 * Retries (`retries`): a try that failed as DATABASE_UNAVAILABLE before any
 * migration began (see DatabaseMigrateOutcome.migrationBegan: connecting,
 * reading the bookkeeping, waiting for the lock) is tried again after a
 * backoff, so a server restarting for a second does not fail the tenant. A
 * try in which a migration had begun is never repeated: its transaction was
 * rolled back (or, for a no-transaction file, it may be half done), and the
 * next run decides from the database's real state.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { AdminAccess, TenantCredentials } from '../pg/connection-settings.js';
import { tenantClientConfig } from '../pg/connection-settings.js';
import { withConnection } from '../pg/with-helpers.js';
import { applicationName } from '../pg/application-name.js';
import { withOwnerConnection } from '../pg/admin-connection.js';
import type pg from 'pg';
import type { Tenant, TenantStatus } from '../tenants/tenant.js';
import type { TenantRegistry } from '../tenants/tenant-registry.js';
import { backoffDelay } from '../pools/status-listener.js';
import {
  DatabaseUnavailableError,
  InvalidStateError,
  isConnectionError,
  messageOf,
  toToolkitError,
  type TenantToolkitError,
} from '../errors.js';
import { migrateDatabase, type DatabaseMigrateOptions, type DatabaseMigrateOutcome } from '../schema/database-migrator.js';
import { latestVersion, type MigrationFile } from '../schema/migration-files.js';

export const TENANT_STORAGE_TABLE = 'schema_migrations';
/** Migration connections show as `metapus:migrate:<slug>` in pg_stat_activity. */
export const MIGRATE_COMPONENT = 'migrate';

export interface TenantMigrateOptions extends Omit<DatabaseMigrateOptions, 'storageTable' | 'afterRun'> {
  actor: string;
  connectTimeoutMs?: number;
  /** Run id of the fleet run, recorded in the audit entry. */
  runId?: string;
  /** Tries after the first when the connection fails before any migration began (default 0). */
  retries?: number;
  /** Wait before the first retry; it doubles each time, capped at 10 s, ±20% jitter (default 1 s). */
  retryDelayMs?: number;
  /** Aborting stops waiting for a retry (the failure is returned). */
  signal?: AbortSignal;
  onRetry?: (retry: TenantRetry) => void;
}

export interface TenantRetry {
  /** The try that failed (1 = the first). */
  attempt: number;
  retries: number;
  delayMs: number;
  error: TenantToolkitError;
}

export interface TenantMigrateOutcome extends DatabaseMigrateOutcome {
  /** The tenant as the meta database now records it. */
  tenant: Tenant;
  durationMs: number;
  /** Tries made (1 + retries used). */
  attempts: number;
}

export interface TenantMigrateDeps {
  registry: TenantRegistry;
  /** Legacy tenants (ownerRole null) are migrated with these, as before least privilege. */
  credentials: TenantCredentials;
  /** Tenants with an owner role are migrated by the admin login (on the tenant's server) acting as that role. */
  adminUrl: AdminAccess;
}

export async function migrateTenant(
  tenant: Tenant,
  files: readonly MigrationFile[],
  deps: TenantMigrateDeps,
  options: TenantMigrateOptions,
): Promise<TenantMigrateOutcome> {
  const started = performance.now();
  const retries = Math.max(0, Math.floor(options.retries ?? 0));
  for (let attempt = 1; ; attempt += 1) {
    const { outcome, current, recorded } = await tryOnce(tenant, files, deps, options);
    if (attempt <= retries && retryable(outcome) && !options.signal?.aborted) {
      const delayMs = backoffDelay(attempt - 1, options.retryDelayMs ?? 1_000, 10_000);
      options.onRetry?.({ attempt, retries, delayMs, error: outcome.error as TenantToolkitError });
      const waited = await sleep(delayMs, true, options.signal ? { signal: options.signal } : {}).catch(() => false);
      if (waited) continue;
    }
    if (!options.dryRun && !recorded && outcome.error) {
      // Nothing changed in the tenant database (or its state is unknown): keep the meta row, leave a trace.
      await deps.registry
        .audit(tenant, 'migrate.failed', options.actor, { ...auditDetails(outcome, options), ...(attempt > 1 ? { attempts: attempt } : {}) })
        .catch(() => undefined);
    }
    return { ...outcome, tenant: current, durationMs: performance.now() - started, attempts: attempt };
  }
}

/** Only a connection failure before any migration began is repeated (nothing can be half done). */
function retryable(outcome: DatabaseMigrateOutcome): boolean {
  return outcome.error?.code === 'DATABASE_UNAVAILABLE' && !outcome.migrationBegan;
}

async function tryOnce(
  tenant: Tenant,
  files: readonly MigrationFile[],
  deps: TenantMigrateDeps,
  options: TenantMigrateOptions,
): Promise<{ outcome: DatabaseMigrateOutcome; current: Tenant; recorded: boolean }> {
  const latest = latestVersion(files);
  let current = tenant;
  let recorded = false;
  const {
    actor: _actor,
    connectTimeoutMs,
    runId: _runId,
    retries: _retries,
    retryDelayMs: _delay,
    signal: _signal,
    onRetry: _onRetry,
    ...runOptions
  } = options;
  let outcome: DatabaseMigrateOutcome;
  try {
    outcome = await asMigrator(
      tenant,
      deps,
      { connectionTimeoutMillis: connectTimeoutMs ?? 10_000, application_name: applicationName(MIGRATE_COMPONENT, tenant.slug) },
      (client) =>
        migrateDatabase(client, files, {
          ...runOptions,
          storageTable: TENANT_STORAGE_TABLE,
          ...(options.dryRun
            ? {}
            : {
                afterRun: async (result: DatabaseMigrateOutcome) => {
                  try {
                    current = await record(tenant, result, latest, deps.registry, options);
                  } catch (err) {
                    throw metaFailure(err, result);
                  }
                  recorded = true;
                },
              }),
        }),
    );
  } catch (err) {
    outcome = unreachable(toToolkitError(err), tenant);
  }
  return { outcome, current, recorded };
}

/**
 * A pinned connection into the tenant database as whoever owns its objects:
 * the owner role (admin login + SET ROLE) for tenants that have one, so every
 * object a migration creates belongs to the owner and the app role's default
 * privileges apply; the tenant credentials for legacy tenants.
 */
function asMigrator<T>(
  tenant: Tenant,
  deps: TenantMigrateDeps,
  extra: Partial<pg.ClientConfig>,
  fn: (client: pg.Client) => Promise<T>,
): Promise<T> {
  if (tenant.ownerRole !== null) return withOwnerConnection(deps.adminUrl, tenant, tenant.ownerRole, fn, extra);
  return withConnection(tenantClientConfig(tenant, deps.credentials, extra), fn);
}

/** The tenant database is as reported; only its record in the meta database is missing. */
function metaFailure(err: unknown, result: DatabaseMigrateOutcome): unknown {
  if (!isConnectionError(err)) return err;
  const done = result.steps.length > 0 ? `the tenant database is at ${result.to ?? '(none)'}, but ` : '';
  return new DatabaseUnavailableError(`${done}the meta database could not record it: ${messageOf(err)}`, {
    cause: err,
    hint: 'once the meta database is reachable again, run `tenant migrate` again: it records the real state',
  });
}

function unreachable(cause: TenantToolkitError, tenant: Tenant): DatabaseMigrateOutcome {
  const error =
    cause.code === 'DATABASE_UNAVAILABLE' && !cause.hint
      ? new DatabaseUnavailableError(`cannot connect to the tenant database: ${messageOf(cause.cause ?? cause)}`, {
          cause,
          hint: `check that the database server at ${tenant.dbHost}:${tenant.dbPort} is up and reachable`,
        })
      : cause;
  return {
    status: 'failed',
    from: tenant.schemaVersion,
    to: tenant.schemaVersion,
    steps: [],
    planned: [],
    applied: [],
    stateKnown: false,
    migrationBegan: false,
    error,
  };
}

function auditDetails(outcome: DatabaseMigrateOutcome, options: TenantMigrateOptions): Record<string, unknown> {
  return {
    ...(options.runId ? { runId: options.runId } : {}),
    direction: options.direction ?? 'up',
    from: outcome.from,
    to: outcome.to,
    steps: outcome.steps.map((s) => s.name),
    ...(outcome.failedMigration ? { failedMigration: outcome.failedMigration } : {}),
    ...(outcome.error ? { error: outcome.error.message, code: outcome.error.code } : {}),
  };
}

/** Meta bookkeeping for one tenant, under its migration lock. Returns the tenant as now recorded. */
async function record(
  tenant: Tenant,
  outcome: DatabaseMigrateOutcome,
  latest: string | null,
  registry: TenantRegistry,
  options: TenantMigrateOptions,
): Promise<Tenant> {
  await registry.recordSchema(tenant.id, outcome.to, outcome.applied);
  const recorded: Tenant = { ...tenant, schemaVersion: outcome.to };
  const details = auditDetails(outcome, options);
  const down = options.direction === 'down';

  let next: { from: TenantStatus; to: TenantStatus; action: string } | undefined;
  if (outcome.error && outcome.failedMigration && tenant.status === 'active') {
    next = { from: 'active', to: 'migration_failed', action: 'migrate.failed' };
  } else if (!outcome.error && tenant.status === 'migration_failed' && outcome.to === latest) {
    next = { from: 'migration_failed', to: 'active', action: 'migrate.recovered' };
  }
  if (next) {
    try {
      const { tenant: changed } = await registry.changeStatus(tenant.id, {
        from: [next.from],
        to: next.to,
        actor: options.actor,
        action: next.action,
        details,
      });
      return changed;
    } catch (err) {
      // Someone changed the status meanwhile (e.g. suspended it): theirs wins; we only audit.
      if (!(err instanceof InvalidStateError)) throw err;
    }
  }
  if (outcome.error) {
    await registry.audit(tenant, down ? 'migrate.revert_failed' : 'migrate.failed', options.actor, details);
  } else if (outcome.steps.length > 0) {
    await registry.audit(tenant, down ? 'migrate.reverted' : 'migrate.applied', options.actor, details);
  }
  return recorded;
}
