/**
 * The tenant scope of a request or job, carried by AsyncLocalStorage: the
 * tenant, its pool and a request-scoped transaction manager. Repositories
 * read what they need from here instead of taking it in constructors, so a
 * repository can never be wired to another tenant's pool.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type pg from 'pg';
import { TenantScopeError } from '../errors.js';
import type { TenantLease } from '../pools/pool-manager.js';
import type { Tenant } from '../tenants/tenant.js';
import { TransactionManager } from './transaction-manager.js';

export interface TenantScope {
  readonly tenant: Tenant;
  readonly pool: pg.Pool;
  readonly tx: TransactionManager;
  /** Aborted when the client disconnects or the job is cancelled. */
  readonly signal?: AbortSignal;
}

export interface LeaseSource {
  acquire(tenantId: string, options?: { signal?: AbortSignal }): Promise<TenantLease>;
}

const storage = new AsyncLocalStorage<TenantScope>();

export function runWithTenant<T>(scope: TenantScope, fn: () => T): T {
  return storage.run(scope, fn);
}

/** The current scope, or undefined outside one. */
export function currentTenantScope(): TenantScope | undefined {
  return storage.getStore();
}

export function getTenant(): Tenant {
  return required('getTenant()').tenant;
}

export function getPool(): pg.Pool {
  return required('getPool()').pool;
}

export function getTxManager(): TransactionManager {
  return required('getTxManager()').tx;
}

/** The scope's abort signal (never aborted outside a request or job that provides one). */
export function getSignal(): AbortSignal {
  return required('getSignal()').signal ?? NEVER_ABORTED;
}

/**
 * Leases the tenant's pool, runs fn inside its scope and releases the lease
 * once fn and every connection it took are done.
 */
export async function withTenant<T>(
  pools: LeaseSource,
  tenantId: string,
  fn: (scope: TenantScope) => Promise<T>,
  options: { signal?: AbortSignal } = {},
): Promise<T> {
  const lease = await pools.acquire(tenantId, options);
  const scope: TenantScope = {
    tenant: lease.tenant,
    pool: lease.pool,
    tx: new TransactionManager(lease.pool, lease.tenant.slug),
    ...(options.signal ? { signal: options.signal } : {}),
  };
  try {
    return await runWithTenant(scope, () => fn(scope));
  } finally {
    await scope.tx.whenIdle();
    lease.release();
  }
}

function required(what: string): TenantScope {
  const scope = storage.getStore();
  if (!scope) throw new TenantScopeError(what);
  return scope;
}

const NEVER_ABORTED = new AbortController().signal;
