/**
 * The status channel is a hint, never a fact: forged NOTIFYs (anyone who can
 * connect to the meta database can send them) must not retire pools, and a
 * flood of them costs a bounded number of row re-reads. A real status change
 * still takes effect.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getTxManager, withTenant } from '../../src/context/tenant-context.js';
import type { TenantStatusNotification } from '../../src/tenants/tenant-registry.js';
import { TENANT_STATUS_CHANNEL } from '../../src/tenants/tenant-registry.js';
import type { TenantServices } from '../../src/pools/tenant-services.js';
import type { Tenant } from '../../src/tenants/tenant.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { eventually } from '../support/eventually.js';
import { createTenants, openServices, setStatus } from '../support/tenant-fixtures.js';
import { createTestEnvironment } from '../support/test-environment.js';

const env = createTestEnvironment();
let rt: Runtime;
let tenants: Tenant[];
let services: TenantServices;
let lookups = 0;
const heard: TenantStatusNotification[] = [];

beforeAll(async () => {
  rt = await env.runtime();
  tenants = await createTenants(rt, 2, 'chan');
  const counting = {
    getById: (id: string) => {
      lookups++;
      return rt.registry.getById(id);
    },
  };
  services = await openServices({ ...rt, registry: counting } as unknown as Runtime);
  services.subscribe({ onStatusChange: (n) => heard.push(n) });
});
afterAll(async () => {
  await services?.close({ deadlineMs: 1_000 });
  await env.cleanup();
});

const serve = (tenant: Tenant) => withTenant(services.pools, tenant.id, () => getTxManager().query('SELECT 1'));

describe('status channel', () => {
  it('a flood of forged "suspended" messages re-reads the row a bounded number of times and retires nothing', async () => {
    const [victim] = tenants as [Tenant];
    await serve(victim);
    const before = services.pools.stats().counters;
    const lookupsBefore = lookups;
    const heardBefore = heard.length;
    // Sent on this file's own meta database, where the listener listens.
    const flood = Array.from({ length: 500 }, () => ({ id: victim.id, slug: victim.slug, status: 'suspended' as const }));
    await rt.metaPool.query(`SELECT pg_notify($1, m) FROM unnest($2::text[]) AS m`, [
      TENANT_STATUS_CHANNEL,
      flood.map((m) => JSON.stringify(m)),
    ]);
    await eventually('the hints were checked against the row', () => heard.length > heardBefore && services.pendingStatusChecks() === 0);
    // Subscribers hear what the row says.
    expect(heard.slice(heardBefore).every((n) => n.id === victim.id && n.status === 'active')).toBe(true);
    expect(lookups - lookupsBefore).toBeLessThanOrEqual(10);
    const after = services.pools.stats().counters;
    expect(after.closed).toBe(before.closed);
    expect(services.pools.tenantIds()).toContain(victim.id);
    await serve(victim);
    expect(services.pools.stats().counters.opened).toBe(before.opened);
  });

  it('a real status change still retires the pool', async () => {
    const [, real] = tenants as [Tenant, Tenant];
    await serve(real);
    await setStatus(rt, real, 'suspended');
    await eventually('the pool is retired', () => !services.pools.tenantIds().includes(real.id));
    await expect(serve(real)).rejects.toMatchObject({ code: 'TENANT_SUSPENDED' });
    expect(heard).toContainEqual(expect.objectContaining({ id: real.id, status: 'suspended' }));
  });
});
