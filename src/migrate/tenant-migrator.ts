/**
 * Migrates one tenant database and keeps the meta database consistent with
 * what is really in it: schema_version, tenant_migrations, status and audit.
 */
import type { TenantCredentials } from '../core/connection-settings.js';
import { tenantClientConfig } from '../core/connection-settings.js';
import { withConnection } from '../core/db.js';
import type { Tenant, TenantStatus } from '../core/tenant.js';
import type { TenantRegistry } from '../core/tenant-registry.js';
import { toToolkitError, type TenantToolkitError } from '../errors.js';
import { migrateDatabase, type DatabaseMigrateOptions, type DatabaseMigrateOutcome } from './database-migrator.js';
import type { MigrationFile } from './migration-files.js';

export const TENANT_STORAGE_TABLE = 'schema_migrations';

export interface TenantMigrateOptions extends Omit<DatabaseMigrateOptions, 'storageTable'> {
  actor: string;
  connectTimeoutMs?: number;
  /** Run id of the fleet run, recorded in the audit entry. */
  runId?: string;
}

export interface TenantMigrateOutcome extends DatabaseMigrateOutcome {
  tenant: Tenant;
  durationMs: number;
}

export async function migrateTenant(
  tenant: Tenant,
  files: readonly MigrationFile[],
  deps: { registry: TenantRegistry; credentials: TenantCredentials },
  options: TenantMigrateOptions,
): Promise<TenantMigrateOutcome> {
  const started = performance.now();
  let outcome: DatabaseMigrateOutcome;
  try {
    outcome = await withConnection(
      tenantClientConfig(tenant, deps.credentials, { connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000 }),
      (client) => migrateDatabase(client, files, { ...options, storageTable: TENANT_STORAGE_TABLE }),
    );
  } catch (err) {
    outcome = failed(toToolkitError(err), tenant);
  }
  let current = tenant;
  if (!options.dryRun) current = await record(tenant, outcome, deps.registry, options).catch(() => tenant);
  return { ...outcome, tenant: current, durationMs: performance.now() - started };
}

function failed(error: TenantToolkitError, tenant: Tenant): DatabaseMigrateOutcome {
  return {
    status: 'failed',
    from: tenant.schemaVersion,
    to: tenant.schemaVersion,
    steps: [],
    planned: [],
    applied: [],
    error,
  };
}

async function record(
  tenant: Tenant,
  outcome: DatabaseMigrateOutcome,
  registry: TenantRegistry,
  options: TenantMigrateOptions,
): Promise<Tenant> {
  if (outcome.status === 'locked') return tenant;
  const connected = !(outcome.error && outcome.applied.length === 0 && outcome.error.code === 'DATABASE_UNAVAILABLE');
  if (connected) await registry.recordSchema(tenant.id, outcome.to, outcome.applied);
  const details = {
    runId: options.runId,
    direction: options.direction ?? 'up',
    from: outcome.from,
    to: outcome.to,
    steps: outcome.steps.map((s) => s.name),
    ...(outcome.error ? { error: outcome.error.message } : {}),
  };
  // A tenant whose migration failed is marked so servers stop serving it;
  // a later success brings it back to active.
  let next: TenantStatus | undefined;
  if (outcome.error && connected && tenant.status === 'active' && outcome.error.code !== 'LOCK_TIMEOUT') {
    next = 'migration_failed';
  } else if (!outcome.error && tenant.status === 'migration_failed') {
    next = 'active';
  }
  if (next) {
    const { tenant: changed } = await registry.changeStatus(tenant.id, {
      from: [tenant.status],
      to: next,
      actor: options.actor,
      action: outcome.error ? 'migrate.failed' : 'migrate.recovered',
      details,
    });
    return changed;
  }
  if (outcome.steps.length > 0 || outcome.error) {
    await registry.audit(tenant, outcome.error ? 'migrate.failed' : 'migrate.applied', options.actor, details);
  }
  return { ...tenant, schemaVersion: connected ? outcome.to : tenant.schemaVersion };
}
