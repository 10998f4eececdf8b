/** The per-tenant result of a fleet run, and how tenant outcomes map to it. */
import type { Tenant } from '../tenants/tenant.js';
import type { TenantToolkitError } from '../errors.js';
import { redact } from '../redact.js';
import { serverKey } from '../pg/server-key.js';
import type { RunTenantRecord } from './migration-runs.js';
import type { TenantMigrateOutcome } from './tenant-migrator.js';

/**
 * `migrated` (up) / `reverted` (down) / `up-to-date` / `failed` / `skipped`;
 * `pending` only in a dry run: there is work to do (see `planned`).
 */
export type FleetTenantStatus = 'migrated' | 'reverted' | 'up-to-date' | 'pending' | 'failed' | 'skipped';
export const FLEET_TENANT_STATUSES: readonly FleetTenantStatus[] = ['migrated', 'reverted', 'up-to-date', 'pending', 'failed', 'skipped'];

export interface FleetTenantError {
  code: string;
  message: string;
  migration?: string;
  hint?: string;
}

export interface FleetTenantResult {
  tenantId: string;
  slug: string;
  /** `host:port` of the tenant's server (no credentials). */
  server: string;
  status: FleetTenantStatus;
  from: string | null;
  /** Where the tenant is now; in a dry run, where the run would leave it (after `planned`). */
  to: string | null;
  /** Migrations applied by this run (up), in order. */
  applied: string[];
  /** Migrations reverted by this run (down), in order. */
  reverted: string[];
  /** Dry run: what would be applied or reverted, in order. */
  planned: string[];
  durationMs: number;
  /** Connection tries made (more than 1 when the first connections failed; 0 when not connected). */
  attempts: number;
  /** `meta`: decided from the meta database without connecting; `database`: checked in the tenant database. */
  checkedIn: 'meta' | 'database' | 'none';
  error: FleetTenantError | null;
  /** Why a tenant was skipped. */
  reason: string | null;
}

export function serverOf(tenant: Pick<Tenant, 'dbHost' | 'dbPort'>): string {
  return serverKey(tenant.dbHost, tenant.dbPort);
}

function base(tenant: Tenant): Pick<FleetTenantResult, 'tenantId' | 'slug' | 'server'> {
  return { tenantId: tenant.id, slug: tenant.slug, server: serverOf(tenant) };
}

export function upToDateResult(tenant: Tenant): FleetTenantResult {
  return unchangedResult(tenant, 'up-to-date', 'meta', null);
}

export function skippedResult(tenant: Tenant, reason: string): FleetTenantResult {
  return unchangedResult(tenant, 'skipped', 'none', reason);
}

/** A tenant the run leaves as it is, decided without touching its database. */
function unchangedResult(
  tenant: Tenant,
  status: 'up-to-date' | 'skipped',
  checkedIn: FleetTenantResult['checkedIn'],
  reason: string | null,
): FleetTenantResult {
  return {
    ...base(tenant),
    status,
    from: tenant.schemaVersion,
    to: tenant.schemaVersion,
    applied: [],
    reverted: [],
    planned: [],
    durationMs: 0,
    attempts: 0,
    checkedIn,
    error: null,
    reason,
  };
}

export function errorOf(error: TenantToolkitError): FleetTenantError {
  const migration = error.details.migration;
  return {
    code: error.code,
    message: redact(error.message),
    ...(typeof migration === 'string' ? { migration } : {}),
    ...(error.hint ? { hint: error.hint } : {}),
  };
}

export function outcomeResult(tenant: Tenant, outcome: TenantMigrateOutcome, direction: 'up' | 'down'): FleetTenantResult {
  const steps = outcome.steps.map((s) => s.name);
  const common = {
    ...base(tenant),
    from: outcome.from,
    to: outcome.to,
    applied: direction === 'up' ? steps : [],
    reverted: direction === 'down' ? steps : [],
    planned: outcome.planned,
    durationMs: outcome.durationMs,
    attempts: outcome.attempts,
    checkedIn: 'database' as const,
  };
  if (outcome.status === 'locked') {
    return {
      ...common,
      status: 'skipped',
      error: null,
      reason: 'another migrator holds the migration lock of this database (--if-locked skip)',
    };
  }
  if (outcome.error) return { ...common, status: 'failed', error: errorOf(outcome.error), reason: null };
  if (outcome.status === 'migrated' && direction === 'down') return { ...common, status: 'reverted', error: null, reason: null };
  return { ...common, status: outcome.status === 'failed' ? 'failed' : outcome.status, error: null, reason: null };
}

export function toRunRecord(result: FleetTenantResult): RunTenantRecord {
  return {
    tenantId: result.tenantId,
    // A dry run is never recorded; `pending` there would mean "not finished".
    // The run table stores a down run's `reverted` as `migrated` (with the run's direction); history shows it reverted.
    status: result.status === 'pending' ? 'up-to-date' : result.status === 'reverted' ? 'migrated' : result.status,
    from: result.from,
    to: result.to,
    applied: result.reverted.length > 0 ? result.reverted : result.applied,
    durationMs: result.checkedIn === 'database' ? result.durationMs : null,
    error: result.error ? result.error.message : result.reason,
  };
}
