/**
 * The pool table's bookkeeping (LRU order, single flight, waiting, timeouts)
 * without a database: pg pools connect lazily, and these tests never query,
 * so no connection is ever attempted. Everything involving connections is in
 * test/integration/pool-manager.test.ts against a real server.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PoolManager, type PoolEvent, type PoolLimits, type TenantSource } from '../../src/pools/pool-manager.js';
import type { Tenant, TenantStatus } from '../../src/tenants/tenant.js';
import { fakeTenant } from '../support/fake-tenant.js';

const managers: PoolManager[] = [];
afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.close({ deadlineMs: 10 })));
});

function tenant(n: number, status: TenantStatus = 'active'): Tenant {
  return fakeTenant({
    id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    slug: `tenant-${n}`,
    name: `Tenant ${n}`,
    dbName: `mt_tenant_${n}`,
    dbPort: 1,
    status,
  });
}

function manager(
  limits: Partial<PoolLimits>,
  tenants: Tenant[],
  events: PoolEvent[] = [],
  byId = new Map(tenants.map((t) => [t.id, t])),
): PoolManager {
  const source: TenantSource = { get: async (id) => byId.get(id), version: () => 0 };
  const m = new PoolManager({
    credentials: { user: 'app', password: 'secret', host: '127.0.0.1', port: 1, sslMode: 'disable' },
    limits: {
      maxPools: 2,
      maxConnsPerPool: 2,
      idleTimeoutMs: 60_000,
      connectTimeoutMs: 1_000,
      acquireTimeoutMs: 60_000,
      healthCheckIntervalMs: 60_000,
      ...limits,
    },
    tenants: source,
    onEvent: (e) => events.push(e),
  });
  managers.push(m);
  return m;
}

const T = [1, 2, 3, 4].map((n) => tenant(n));
const id = (i: number) => (T[i] as Tenant).id;

describe('PoolManager bookkeeping', () => {
  it('evicts in least-recently-used order, skipping leased pools', async () => {
    const events: PoolEvent[] = [];
    const m = manager({ maxPools: 2 }, T, events);
    const held = await m.acquire(id(0));
    (await m.acquire(id(1))).release();
    held.release();
    (await m.acquire(id(1))).release(); // tenant 0 is now the least recently used
    (await m.acquire(id(2))).release();
    expect(events.filter((e) => e.type === 'pool-closed').map((e) => e.tenantId)).toEqual([id(0)]);

    const busy = await m.acquire(id(1)); // leased: may not be evicted
    const next = await m.acquire(id(3));
    expect(events.filter((e) => e.type === 'pool-closed').map((e) => e.tenantId)).toEqual([id(0), id(2)]);
    busy.release();
    next.release();
    expect(m.stats()).toMatchObject({ pools: 2, leases: 0 });
  });

  it('creates one pool for concurrent first requests and waits in order when the table is full', async () => {
    const m = manager({ maxPools: 1 }, T);
    const holder = await m.acquire(id(0));
    const waiting = [m.acquire(id(1)), m.acquire(id(1)), m.acquire(id(2))];
    await new Promise((resolve) => setImmediate(resolve));
    expect(m.stats().waitingForPool).toBe(3);
    holder.release();
    const [a, b] = await Promise.all(waiting.slice(0, 2));
    expect(a?.pool).toBe(b?.pool);
    expect(m.stats().counters.opened).toBe(2);
    a?.release();
    b?.release();
    (await waiting[2])?.release();
    expect(m.stats().counters.opened).toBe(3);
  });

  it('times out with POOL_EXHAUSTED, and refuses unknown or unservable tenants with typed errors', async () => {
    const m = manager({ maxPools: 1, acquireTimeoutMs: 20 }, [...T, tenant(9, 'suspended'), tenant(10, 'migration_failed')]);
    const holder = await m.acquire(id(0));
    await expect(m.acquire(id(1))).rejects.toMatchObject({ code: 'POOL_EXHAUSTED' });
    holder.release();
    await expect(m.acquire('00000000-0000-4000-8000-999999999999')).rejects.toMatchObject({ code: 'TENANT_NOT_FOUND' });
    await expect(m.acquire(tenant(9).id)).rejects.toMatchObject({ code: 'TENANT_SUSPENDED' });
    await expect(m.acquire(tenant(10).id)).rejects.toMatchObject({ code: 'TENANT_UNAVAILABLE', retryAfterSeconds: 60 });
  });

  it('fails waiters and new acquires once closing', async () => {
    const m = manager({ maxPools: 1 }, T);
    const holder = await m.acquire(id(0));
    const waiter = m.acquire(id(1));
    const closing = m.close({ deadlineMs: 1_000 });
    await expect(waiter).rejects.toMatchObject({ code: 'SHUTTING_DOWN' });
    await expect(m.acquire(id(0))).rejects.toMatchObject({ code: 'SHUTTING_DOWN' });
    holder.release();
    expect(await closing).toMatchObject({ drained: true, poolsClosed: 1 });
  });

  it('replaces a pool when the tenant moved to another host or port', async () => {
    const events: PoolEvent[] = [];
    const byId = new Map(T.map((t) => [t.id, t]));
    const m = manager({}, T, events, byId);
    const before = await m.acquire(id(0));
    byId.set(id(0), { ...(T[0] as Tenant), dbHost: '127.0.0.2', dbPort: 2 });
    const after = await m.acquire(id(0));
    expect(after.pool).not.toBe(before.pool);
    expect(
      m
        .stats()
        .tenants.map((t) => t.state)
        .sort(),
    ).toEqual(['draining', 'open']);
    before.release();
    after.release();
    await new Promise((resolve) => setImmediate(resolve));
    expect(events).toContainEqual(expect.objectContaining({ type: 'pool-closed', tenantId: id(0), reason: 'replaced' }));
  });

  it('retires a pool whose login changed (isolated, re-owned): its lease finishes, new requests get a new pool', async () => {
    const events: PoolEvent[] = [];
    const shared = { ...(T[0] as Tenant), ownerRole: null, appRole: null };
    const byId = new Map(T.map((t) => [t.id, t]));
    byId.set(id(0), shared);
    const m = manager({}, T, events, byId);
    const before = await m.acquire(id(0));
    // The row now names the tenant's own role: the hint's re-read retires the shared-login pool.
    const isolated = { ...shared, ownerRole: 'mt_tenant_1_owner', appRole: 'mt_tenant_1_app' };
    byId.set(id(0), isolated);
    m.refreshLogin(id(0), shared);
    expect(m.tenantIds()).toContain(id(0));
    m.refreshLogin(id(0), isolated);
    expect(m.tenantIds()).not.toContain(id(0));
    expect(m.tryAcquire(id(0))).toBeUndefined();
    const after = await m.acquire(id(0));
    expect(after.pool).not.toBe(before.pool);
    expect(after.tenant.appRole).toBe('mt_tenant_1_app');
    before.release();
    after.release();
    await new Promise((resolve) => setImmediate(resolve));
    expect(events).toContainEqual(expect.objectContaining({ type: 'pool-closed', tenantId: id(0), reason: 'credentials' }));
  });

  it('acquire itself notices a changed login and does not lease the old pool', async () => {
    const events: PoolEvent[] = [];
    const byId = new Map(T.map((t) => [t.id, t]));
    const m = manager({}, T, events, byId);
    const before = await m.acquire(id(0));
    before.release();
    byId.set(id(0), { ...(T[0] as Tenant), appRole: 'mt_other_app' });
    const after = await m.acquire(id(0));
    expect(after.pool).not.toBe(before.pool);
    after.release();
    await new Promise((resolve) => setImmediate(resolve));
    expect(events).toContainEqual(expect.objectContaining({ type: 'pool-closed', tenantId: id(0), reason: 'credentials' }));
  });

  it('drains right away a pool whose tenant was retired while its first requests waited for a slot', async () => {
    const m = manager({ maxPools: 1 }, T);
    const holder = await m.acquire(id(0));
    const waiting = m.acquire(id(1));
    await new Promise((resolve) => setImmediate(resolve));
    m.retireTenant(id(1));
    holder.release();
    const lease = await waiting;
    expect(m.stats().tenants.find((t) => t.tenantId === id(1))).toMatchObject({ state: 'draining', leases: 1 });
    lease.release();
    await new Promise((resolve) => setImmediate(resolve));
    expect(m.tenantIds()).not.toContain(id(1));
  });
});
