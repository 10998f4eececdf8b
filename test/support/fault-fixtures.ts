/** Helpers shared by the fault-injection tests. */
import type { TenantPoolStats } from '../../src/pools/tenant-pool.js';
import { tenantFromRow, type Tenant, type TenantRow } from '../../src/tenants/tenant.js';
import type { Runtime } from '../../src/runtime/runtime.js';

/** Points the tenant's row at another host/port (a TCP proxy in front of its server). */
export async function routeTenantThrough(rt: Runtime, tenant: Tenant, port: number, host = '127.0.0.1'): Promise<Tenant> {
  const { rows } = await rt.metaPool.query<TenantRow>('UPDATE tenants SET db_host = $2, db_port = $3 WHERE id = $1 RETURNING *', [
    tenant.id,
    host,
    port,
  ]);
  return tenantFromRow(rows[0] as TenantRow);
}

/** The tenant's pool as the server reports it on /health/tenants. */
export async function tenantPoolStats(base: string, tenantId: string): Promise<TenantPoolStats | undefined> {
  const response = await fetch(`${base}/health/tenants`);
  const body = (await response.json()) as { pools: { tenants: TenantPoolStats[] } };
  return body.pools.tenants.find((t) => t.tenantId === tenantId && t.state === 'open');
}
