/**
 * User administration of one tenant from outside a request (the `tenant user`
 * commands): resolves the tenant by slug or id in the registry, as every other
 * command does, leases its pool through tenant services of its own (component
 * `cli`: its connections show as `metapus:cli:<slug>`), runs one user-admin
 * function in the tenant's scope, and closes the services again. No status
 * LISTEN: the operation is one short transaction, and the pool manager checks
 * the tenant's status when it leases (a suspended tenant is refused).
 */
import { withTenant } from '../../context/tenant-context.js';
import { openTenantServices } from '../../pools/tenant-services.js';
import type { Runtime } from '../../runtime/runtime.js';
import type { Tenant } from '../../tenants/tenant.js';
import { addUser, disableUser, enableUser, listUsers } from './user-admin.js';

/** What addUser takes (user-admin.ts owns the shape). */
export type NewTenantUser = Parameters<typeof addUser>[0];
export type AddedUser = Awaited<ReturnType<typeof addUser>>;
export type ListedUser = Awaited<ReturnType<typeof listUsers>>[number];
export type ChangedUser = Awaited<ReturnType<typeof disableUser>>;

export interface TenantUsersOptions {
  /** Aborts the pool lease (Ctrl-C in the CLI). */
  signal?: AbortSignal;
}

/** The tenant the work ran for, and what it returned. */
export interface TenantUsersResult<T> {
  tenant: Tenant;
  result: T;
}

/** Runs fn in the scope of the tenant `ref` (slug or UUID). */
export async function withTenantUsers<T>(
  runtime: Runtime,
  ref: string,
  fn: () => Promise<T>,
  options: TenantUsersOptions = {},
): Promise<TenantUsersResult<T>> {
  const tenant = await runtime.registry.resolve(ref);
  const services = await openTenantServices(runtime, { component: 'cli', listen: false, limits: { maxPools: 1 } });
  try {
    const result = await withTenant(services.pools, tenant.id, () => fn(), options.signal ? { signal: options.signal } : {});
    return { tenant, result };
  } finally {
    await services.close();
  }
}

export function addTenantUser(runtime: Runtime, ref: string, user: NewTenantUser, options?: TenantUsersOptions) {
  return withTenantUsers(runtime, ref, () => addUser(user), options);
}

export function listTenantUsers(runtime: Runtime, ref: string, options?: TenantUsersOptions) {
  return withTenantUsers(runtime, ref, () => listUsers(), options);
}

export function disableTenantUser(runtime: Runtime, ref: string, email: string, options?: TenantUsersOptions) {
  return withTenantUsers(runtime, ref, () => disableUser(email), options);
}

export function enableTenantUser(runtime: Runtime, ref: string, email: string, options?: TenantUsersOptions) {
  return withTenantUsers(runtime, ref, () => enableUser(email), options);
}
