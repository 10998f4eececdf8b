import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PoolEvent, PoolLimits } from '../../src/pools/pool-manager.js';
import { getTenant, getTxManager, withTenant } from '../../src/context/tenant-context.js';
import { suspendTenant } from '../../src/tenants/tenant-lifecycle.js';
import type { TenantServices } from '../../src/pools/tenant-services.js';
import type { Tenant } from '../../src/tenants/tenant.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { eventually } from '../support/eventually.js';
import {
  codeFor,
  connectionsTo,
  createTenants,
  openServices,
  seedCurrency,
  setStatus,
  startConnectionSampler,
} from '../support/tenant-fixtures.js';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { createTestEnvironment } from '../support/test-environment.js';
import { TENANT_STATUS_CHANNEL } from '../../src/tenants/tenant-registry.js';
import type { TenantSecretReader } from '../../src/pools/tenant-login.js';
import { escapeIdentifier } from 'pg';

const env = createTestEnvironment();
let rt: Runtime;
let tenants: Tenant[];
const opened: TenantServices[] = [];

const t = (i: number) => tenants[i] as Tenant;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function services(limits: Partial<PoolLimits> = {}, events?: PoolEvent[]): Promise<TenantServices> {
  const s = await openServices(rt, {
    limits: { idleTimeoutMs: 60_000, healthCheckIntervalMs: 60_000, ...limits },
    ...(events ? { onPoolEvent: (e: PoolEvent) => events.push(e) } : {}),
  });
  opened.push(s);
  return s;
}

beforeAll(async () => {
  rt = await env.runtime();
  tenants = await createTenants(rt, 40);
  await Promise.all(tenants.map((tenant, i) => seedCurrency(rt, tenant, codeFor(i))));
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close({ deadlineMs: 1_000 })));
});
afterAll(() => env.cleanup());

describe('PoolManager', () => {
  it('creates one pool for concurrent first requests (single flight)', async () => {
    const s = await services();
    const leases = await Promise.all(Array.from({ length: 25 }, () => s.pools.acquire(t(0).id)));
    expect(new Set(leases.map((l) => l.pool)).size).toBe(1);
    expect(s.pools.stats().counters.opened).toBe(1);
    expect(s.pools.stats().leases).toBe(25);
    for (const lease of leases) lease.release();
    leases[0]?.release(); // idempotent
    expect(s.pools.stats().leases).toBe(0);
  });

  it('lets one waiter give up without failing the others waiting for the same pool', async () => {
    const s = await services({ maxPools: 1, acquireTimeoutMs: 30_000 });
    const holder = await s.pools.acquire(t(0).id);
    const controller = new AbortController();
    const quitter = s.pools.acquire(t(1).id, { signal: controller.signal });
    const stayers = [s.pools.acquire(t(1).id), s.pools.acquire(t(1).id)];
    await eventually('three requests wait for a pool', () => s.pools.stats().waitingForPool === 3);
    controller.abort();
    await expect(quitter).rejects.toMatchObject({ code: 'CANCELLED' });
    holder.release();
    const [a, b] = await Promise.all(stayers);
    expect(a?.pool).toBe(b?.pool);
    const { rows } = await (a?.pool.query('SELECT current_database() AS db') as Promise<{ rows: { db: string }[] }>);
    expect(rows[0]?.db).toBe(t(1).dbName);
    a?.release();
    b?.release();
    expect(s.pools.stats().counters.opened).toBe(2);
  });

  it('evicts the least recently used idle pool when the table is full', async () => {
    const events: PoolEvent[] = [];
    const s = await services({ maxPools: 3 }, events);
    for (const i of [0, 1, 2, 0]) (await s.pools.acquire(t(i).id)).release();
    const lease = await s.pools.acquire(t(3).id);
    lease.release();
    const closed = events.filter((e) => e.type === 'pool-closed');
    expect(closed).toEqual([expect.objectContaining({ tenantId: t(1).id, reason: 'evicted' })]);
    expect(new Set(s.pools.tenantIds())).toEqual(new Set([t(0).id, t(2).id, t(3).id]));
  });

  it('fails with POOL_EXHAUSTED when every pool stays leased past the acquire timeout', async () => {
    const s = await services({ maxPools: 2, acquireTimeoutMs: 200 });
    const held = [await s.pools.acquire(t(0).id), await s.pools.acquire(t(1).id)];
    await expect(s.pools.acquire(t(2).id)).rejects.toMatchObject({ code: 'POOL_EXHAUSTED', httpStatus: 503 });
    expect(s.pools.stats().counters.acquireTimeouts).toBe(1);
    held[0]?.release();
    const lease = await s.pools.acquire(t(2).id);
    lease.release();
    held[1]?.release();
  });

  it('serves 40 tenants through 5 pools under load with no errors and never more connections than the cap', async () => {
    const s = await services({ maxPools: 5, maxConnsPerPool: 3, acquireTimeoutMs: 60_000 });
    const sampler = await startConnectionSampler(env);
    let maxPools = 0;
    const watch = setInterval(() => (maxPools = Math.max(maxPools, s.pools.stats().pools)), 2);
    const errors: unknown[] = [];
    const mismatches: string[] = [];
    // 50 concurrent clients, each hitting random tenants in turn: constant churn through 5 slots.
    const check = (tenant: Tenant) =>
      withTenant(s.pools, tenant.id, async () => {
        const { rows } = await getTxManager().query<{ db: string; names: string[] }>(
          'SELECT current_database() AS db, ARRAY(SELECT name FROM currencies) AS names, pg_sleep(0.001)',
        );
        if (rows[0]?.db !== tenant.dbName || getTenant().id !== tenant.id || rows[0]?.names.join() !== tenant.slug) {
          mismatches.push(`${tenant.slug} saw ${rows[0]?.db} ${rows[0]?.names.join()}`);
        }
      }).catch((err: unknown) => errors.push(err));
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        for (let i = 0; i < 10; i++) await check(t(Math.floor(Math.random() * tenants.length)));
      }),
    );
    clearInterval(watch);
    const { peak, samples } = await sampler.stop();
    expect(errors).toEqual([]);
    expect(mismatches).toEqual([]);
    expect(samples).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(5 * 3);
    expect(maxPools).toBeLessThanOrEqual(5);
    expect(s.pools.stats().counters.evicted).toBeGreaterThan(0);
  });

  it('closes pools that stay idle longer than the idle timeout', async () => {
    const events: PoolEvent[] = [];
    const s = await services({ idleTimeoutMs: 200 }, events);
    await withTenant(s.pools, t(4).id, () => getTxManager().query('SELECT 1'));
    expect(s.pools.stats().pools).toBe(1);
    await eventually('the idle pool is closed', () => s.pools.stats().pools === 0);
    expect(events).toContainEqual(expect.objectContaining({ type: 'pool-closed', tenantId: t(4).id, reason: 'idle' }));
    expect(await env.admin((c) => connectionsTo(c, t(4).dbName))).toBe(0);
  });

  it('never closes a pool under a lease (idle timeout, eviction or retirement)', async () => {
    const s = await services({ idleTimeoutMs: 100, maxPools: 1, acquireTimeoutMs: 200 });
    const lease = await s.pools.acquire(t(5).id);
    await lease.pool.query('SELECT 1');
    s.pools.closeIdle(Date.now() + 60_000); // an idle sweep long after the timeout, while the lease is held
    await expect(lease.pool.query('SELECT 1 AS one')).resolves.toMatchObject({ rows: [{ one: 1 }] });
    await expect(s.pools.acquire(t(6).id)).rejects.toMatchObject({ code: 'POOL_EXHAUSTED' });
    s.pools.retireTenant(t(5).id);
    expect(s.pools.stats().tenants).toEqual([expect.objectContaining({ tenantId: t(5).id, state: 'draining', leases: 1 })]);
    await expect(lease.pool.query('SELECT 2 AS two')).resolves.toMatchObject({ rows: [{ two: 2 }] });
    lease.release();
    await eventually('the retired pool is closed', () => s.pools.stats().pools === 0);
    expect(await env.admin((c) => connectionsTo(c, t(5).dbName))).toBe(0);
  });

  it('refuses a suspended tenant after the notification and closes its pool once in-flight work ends', async () => {
    const s = await services();
    const tenant = t(7);
    const inFlight = await s.pools.acquire(tenant.id);
    await inFlight.pool.query('SELECT 1');
    await suspendTenant(rt.registry, tenant.id, { actor: 'test' });
    await eventually('new requests are refused', async () => {
      try {
        (await s.pools.acquire(tenant.id)).release();
        return false;
      } catch (err) {
        return (err as { code?: string }).code === 'TENANT_SUSPENDED';
      }
    });
    expect(s.pools.stats().tenants).toEqual([expect.objectContaining({ tenantId: tenant.id, state: 'draining' })]);
    await expect(inFlight.pool.query('SELECT 1 AS one')).resolves.toMatchObject({ rows: [{ one: 1 }] });
    inFlight.release();
    await eventually('the pool is drained', () => s.pools.stats().pools === 0);
    expect(await env.admin((c) => connectionsTo(c, tenant.dbName))).toBe(0);

    await setStatus(rt, tenant, 'active');
    await eventually('the tenant is served again', async () =>
      s.pools.acquire(tenant.id).then(
        (lease) => (lease.release(), true),
        () => false,
      ),
    );
  });

  it('retires a pool whose database stops answering health checks and recreates it on next use', async () => {
    const tenant = t(8);
    const proxy = await startTcpProxy(rt.connections.tenant.host, rt.connections.tenant.port);
    await rt.metaPool.query('UPDATE tenants SET db_host = $2, db_port = $3 WHERE id = $1', [tenant.id, '127.0.0.1', proxy.port]);
    try {
      const events: PoolEvent[] = [];
      const s = await services({ connectTimeoutMs: 300 }, events);
      await withTenant(s.pools, tenant.id, () => getTxManager().query('SELECT 1'));
      proxy.freeze();
      await s.pools.checkHealth();
      expect(events).toContainEqual(expect.objectContaining({ type: 'pool-unhealthy', tenantId: tenant.id }));
      await eventually('the unhealthy pool is closed', () => s.pools.stats().pools === 0);
      proxy.thaw();
      const { rows } = await withTenant(s.pools, tenant.id, () => getTxManager().query<{ db: string }>('SELECT current_database() AS db'));
      expect(rows[0]?.db).toBe(tenant.dbName);
      expect(s.pools.stats().counters.opened).toBe(2);
    } finally {
      proxy.thaw();
      await rt.metaPool.query('UPDATE tenants SET db_host = $2, db_port = $3 WHERE id = $1', [tenant.id, tenant.dbHost, tenant.dbPort]);
      await proxy.close();
    }
  });

  it('close() stops accepting, waits for leases to drain, then ends every pool', async () => {
    const s = await services();
    const lease = await s.pools.acquire(t(9).id);
    const other = await s.pools.acquire(t(10).id);
    other.release();
    await lease.pool.query('SELECT 1');
    let done = false;
    const closing = s.pools.close({ deadlineMs: 30_000 }).then((r) => ((done = true), r));
    await expect(s.pools.acquire(t(11).id)).rejects.toMatchObject({ code: 'SHUTTING_DOWN' });
    // A fixed wait on purpose: what is tested is that close() has NOT finished while a lease is
    // held, and a thing that does not happen has no event to await.
    await sleep(200);
    expect(done).toBe(false);
    await expect(lease.pool.query('SELECT 1 AS one')).resolves.toMatchObject({ rows: [{ one: 1 }] });
    lease.release();
    const result = await closing;
    expect(result).toMatchObject({ drained: true, leasesAtDeadline: 0, poolsClosed: 2 });
    expect(await env.admin((c) => connectionsTo(c, t(9).dbName))).toBe(0);
    expect(await env.admin((c) => connectionsTo(c, t(10).dbName))).toBe(0);
    await s.close();
  });

  it('close() cuts leases still held at the deadline', async () => {
    const s = await services();
    const lease = await s.pools.acquire(t(12).id);
    await lease.pool.query('SELECT 1');
    const result = await s.pools.close({ deadlineMs: 100 });
    expect(result).toMatchObject({ drained: false, leasesAtDeadline: 1 });
    await eventually('the held connection is gone', async () => (await env.admin((c) => connectionsTo(c, t(12).dbName))) === 0);
  });
});

/**
 * A tenant with its own login role, made by hand here (provisioning makes
 * them elsewhere), and a secret store in memory: what the pool does with the
 * secret, against a server that really refuses a wrong password (28P01).
 */
describe('PoolManager with a tenant that logs in as its own role', () => {
  const secret: { role: string; current: string; next: string | undefined; version: number } = {
    role: '',
    current: 'first-password-for-the-test',
    next: undefined,
    version: 1,
  };
  let reads = 0;
  const secrets: TenantSecretReader = {
    read: async () => {
      reads++;
      return { ...secret };
    },
  };
  let tenant: Tenant;
  let role: string;
  const setPassword = (password: string) => env.admin((c) => c.query(`ALTER ROLE ${escapeIdentifier(role)} PASSWORD '${password}'`));
  const notify = () =>
    rt.metaPool.query('SELECT pg_notify($1, $2)', [
      TENANT_STATUS_CHANNEL,
      JSON.stringify({ id: tenant.id, slug: tenant.slug, status: 'active', previousStatus: 'active', at: new Date().toISOString() }),
    ]);

  async function ownServices(events?: PoolEvent[]): Promise<TenantServices> {
    const s = await openServices({ ...rt, secrets } as Runtime, {
      limits: { idleTimeoutMs: 60_000, healthCheckIntervalMs: 60_000 },
      ...(events ? { onPoolEvent: (e: PoolEvent) => events.push(e) } : {}),
    });
    opened.push(s);
    return s;
  }

  beforeAll(async () => {
    tenant = t(30);
    role = `${env.prefix}own_app`;
    secret.role = role;
    await env.admin(async (c) => {
      await c.query(`CREATE ROLE ${escapeIdentifier(role)} LOGIN PASSWORD '${secret.current}'`);
      await c.query(`GRANT CONNECT ON DATABASE ${escapeIdentifier(tenant.dbName)} TO ${escapeIdentifier(role)}`);
    });
    await rt.metaPool.query('UPDATE tenants SET app_role = $2 WHERE id = $1', [tenant.id, role]);
    tenant = { ...tenant, appRole: role };
  });
  afterAll(async () => {
    await rt.metaPool.query('UPDATE tenants SET app_role = NULL WHERE id = $1', [tenant.id]);
    await env.admin(async (c) => {
      await c.query(`REVOKE ALL ON DATABASE ${escapeIdentifier(tenant.dbName)} FROM ${escapeIdentifier(role)}`);
      await c.query(`DROP ROLE IF EXISTS ${escapeIdentifier(role)}`);
    });
  });

  it('connects as the role with the password from the secret store, read once', async () => {
    reads = 0;
    const s = await ownServices();
    const user = await withTenant(s.pools, tenant.id, () => getTxManager().query<{ user: string }>('SELECT current_user AS user'));
    expect(user.rows[0]?.user).toBe(role);
    await Promise.all(Array.from({ length: 5 }, () => withTenant(s.pools, tenant.id, () => getTxManager().query('SELECT pg_sleep(0.01)'))));
    expect(reads).toBe(1);
  });

  it('a rotation: open connections keep working, new ones get in with next (then current after the NOTIFY)', async () => {
    const s = await ownServices();
    const lease = await s.pools.acquire(tenant.id);
    const held = await lease.pool.connect();
    try {
      // stageNext, ALTER ROLE: this server still has the old password cached.
      secret.next = 'second-password-for-the-test';
      await setPassword(secret.next);
      reads = 0;
      // The held connection is busy, so this query needs a new one: refused with the old password, then in with next.
      const fresh = await lease.pool.connect();
      await fresh.query('SELECT 1');
      fresh.release();
      expect(reads).toBe(1);
      await expect(held.query('SELECT current_user AS user')).resolves.toMatchObject({ rows: [{ user: role }] });
      // promoteNext + NOTIFY: the cached secret is dropped and read again.
      secret.current = secret.next;
      secret.next = undefined;
      secret.version++;
      await notify();
      await eventually('the hint is verified', () => s.pendingStatusChecks() === 0 && reads === 1);
      await eventually('the secret was dropped', async () => {
        const c = await lease.pool.connect();
        const d = await lease.pool.connect();
        c.release();
        d.release();
        return reads >= 2;
      });
    } finally {
      held.release();
      lease.release();
    }
  });

  it('a password the role does not have fails with AUTH_FAILED naming the role, never the password', async () => {
    const s = await ownServices();
    const wrong = 'a-password-nobody-set';
    const saved = { ...secret };
    secret.current = wrong;
    secret.next = undefined;
    try {
      const err = await withTenant(s.pools, tenant.id, () => getTxManager().query('SELECT 1')).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'AUTH_FAILED', role });
      const seen = JSON.stringify({ m: (err as Error).message, h: (err as { hint?: string }).hint, d: (err as { details?: unknown }).details });
      expect(seen).toContain(role);
      expect(seen).not.toContain(wrong);
      expect(seen).not.toContain(saved.current);
    } finally {
      Object.assign(secret, saved);
    }
  });

  it('a login change in the row retires the pool (credentials); new requests use the new login', async () => {
    const events: PoolEvent[] = [];
    const s = await ownServices(events);
    const before = await withTenant(s.pools, tenant.id, () => getTxManager().query<{ user: string }>('SELECT current_user AS user'));
    expect(before.rows[0]?.user).toBe(role);
    await rt.metaPool.query('UPDATE tenants SET app_role = NULL WHERE id = $1', [tenant.id]);
    try {
      await notify();
      await eventually('the pool is retired', () => events.some((e) => e.type === 'pool-closed' && e.reason === 'credentials'));
      const after = await withTenant(s.pools, tenant.id, () => getTxManager().query<{ user: string }>('SELECT current_user AS user'));
      expect(after.rows[0]?.user).toBe(rt.connections.tenant.user);
    } finally {
      await rt.metaPool.query('UPDATE tenants SET app_role = $2 WHERE id = $1', [tenant.id, role]);
    }
  });
});
