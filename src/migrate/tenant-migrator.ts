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
 */
import type { TenantCredentials } from '../core/connection-settings.js';
import { tenantClientConfig } from '../core/connection-settings.js';
import { withConnection } from '../core/db.js';
import type { Tenant, TenantStatus } from '../core/tenant.js';
import type { TenantRegistry } from '../core/tenant-registry.js';
import { InvalidStateError, toToolkitError, type TenantToolkitError } from '../errors.js';
import { migrateDatabase, type DatabaseMigrateOptions, type DatabaseMigrateOutcome } from './database-migrator.js';
import { latestVersion, type MigrationFile } from './migration-files.js';

export const TENANT_STORAGE_TABLE = 'schema_migrations';
export const MIGRATE_APPLICATION_NAME = 'metapus-tenant:migrate';

export interface TenantMigrateOptions extends Omit<DatabaseMigrateOptions, 'storageTable' | 'afterRun'> {
  actor: string;
  connectTimeoutMs?: number;
  /** Run id of the fleet run, recorded in the audit entry. */
  runId?: string;
}

export interface TenantMigrateOutcome extends DatabaseMigrateOutcome {
  /** The tenant as the meta database now records it. */
  tenant: Tenant;
  durationMs: number;
}

export interface TenantMigrateDeps {
  registry: TenantRegistry;
  credentials: TenantCredentials;
}

export async function migrateTenant(
  tenant: Tenant,
  files: readonly MigrationFile[],
  deps: TenantMigrateDeps,
  options: TenantMigrateOptions,
): Promise<TenantMigrateOutcome> {
  const started = performance.now();
  const latest = latestVersion(files);
  let current = tenant;
  let recorded = false;
  const { actor: _actor, connectTimeoutMs, runId: _runId, ...runOptions } = options;
  let outcome: DatabaseMigrateOutcome;
  try {
    outcome = await withConnection(
      tenantClientConfig(tenant, deps.credentials, {
        connectionTimeoutMillis: connectTimeoutMs ?? 10_000,
        application_name: MIGRATE_APPLICATION_NAME,
      }),
      (client) =>
        migrateDatabase(client, files, {
          ...runOptions,
          storageTable: TENANT_STORAGE_TABLE,
          ...(options.dryRun
            ? {}
            : {
                afterRun: async (result: DatabaseMigrateOutcome) => {
                  current = await record(tenant, result, latest, deps.registry, options);
                  recorded = true;
                },
              }),
        }),
    );
  } catch (err) {
    outcome = unreachable(toToolkitError(err), tenant);
  }
  if (!options.dryRun && !recorded && outcome.error) {
    // Nothing changed in the tenant database (or its state is unknown): keep the meta row, leave a trace.
    await deps.registry
      .audit(tenant, 'migrate.failed', options.actor, auditDetails(outcome, options))
      .catch(() => undefined);
  }
  return { ...outcome, tenant: current, durationMs: performance.now() - started };
}

function unreachable(error: TenantToolkitError, tenant: Tenant): DatabaseMigrateOutcome {
  return {
    status: 'failed',
    from: tenant.schemaVersion,
    to: tenant.schemaVersion,
    steps: [],
    planned: [],
    applied: [],
    stateKnown: false,
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
