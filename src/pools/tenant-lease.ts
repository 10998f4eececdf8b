/**
 * What acquire() hands out: a lease on a tenant's pool, and the rules for
 * which tenants may be leased at all.
 */
import type pg from 'pg';
import { TenantDeletedError, TenantSuspendedError, TenantToolkitError, TenantUnavailableError } from '../errors.js';
import type { Tenant } from '../tenants/tenant.js';
import type { TenantPool } from './tenant-pool.js';

export interface TenantLease {
  readonly tenant: Tenant;
  readonly pool: pg.Pool;
  readonly released: boolean;
  /** Gives the pool back; idempotent. */
  release(): void;
}

export class Lease implements TenantLease {
  released = false;
  constructor(
    readonly tenant: Tenant,
    readonly entry: TenantPool,
    private readonly onRelease: (entry: TenantPool) => void,
  ) {}

  get pool(): pg.Pool {
    return this.entry.pool;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.onRelease(this.entry);
  }
}

/** Statuses that may not be served, as the typed error the middleware maps to HTTP. */
export function assertServable(tenant: Tenant): void {
  switch (tenant.status) {
    case 'active':
      return;
    case 'suspended':
      throw new TenantSuspendedError(tenant.slug);
    case 'deleted':
      throw new TenantDeletedError(tenant.slug);
    case 'provisioning':
      throw new TenantUnavailableError(tenant.slug, tenant.status, 5);
    case 'migration_failed':
      throw new TenantUnavailableError(tenant.slug, tenant.status, 60);
    case 'moving':
      // A move's downtime is the copy of one database: seconds to minutes.
      throw new TenantUnavailableError(tenant.slug, tenant.status, 10);
    default:
      throw new TenantUnavailableError(tenant.slug, String(tenant.status satisfies never), 30);
  }
}

export function cancelledError(signal: AbortSignal): TenantToolkitError {
  return new TenantToolkitError('CANCELLED', 'the request was cancelled while waiting for its tenant database', {
    cause: signal.reason,
  });
}
