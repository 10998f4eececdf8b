/**
 * Every place that holds a checked-out connection survives that connection's
 * socket being cut (TCP reset through a proxy): the caller gets a typed
 * DatabaseUnavailableError, the broken client is not reused, the process
 * stays up (an unhandled pg 'error' would fail this file) and the next use
 * works. Paths: tx.query, tx.run, the pool health check, the meta pool.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../src/pg/with-helpers.js';
import { withDatabase } from '../../src/connection-url.js';
import { PoolManager, type PoolEvent } from '../../src/pools/pool-manager.js';
import { getTxManager, withTenant } from '../../src/context/tenant-context.js';
import type { TenantServices } from '../../src/pools/tenant-services.js';
import type { Tenant } from '../../src/tenants/tenant.js';
import { DatabaseUnavailableError, isConnectionError } from '../../src/errors.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { routeTenantThrough } from '../support/fault-fixtures.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { eventually } from '../support/eventually.js';
import { createTenants, openServices } from '../support/tenant-fixtures.js';
import { createTestEnvironment } from '../support/test-environment.js';

const env = createTestEnvironment();
let rt: Runtime;
let a: Tenant;
let b: Tenant;
let proxy: TcpProxy;
let services: TenantServices;
const events: PoolEvent[] = [];

beforeAll(async () => {
  rt = await env.runtime();
  [a, b] = (await createTenants(rt, 2, 'path')) as [Tenant, Tenant];
  proxy = await startTcpProxy(rt.connections.tenant.host, rt.connections.tenant.port);
  a = await routeTenantThrough(rt, a, proxy.port);
  services = await openServices(rt, {
    limits: { connectTimeoutMs: 10_000, healthCheckIntervalMs: 3_600_000 },
    onPoolEvent: (e) => events.push(e),
  });
});
afterAll(async () => {
  await services?.close({ deadlineMs: 1_000 });
  await proxy?.close();
  await env.cleanup();
});

/** Tenant A's open pool as the pool manager reports it. */
const poolOfA = () => services.pools.stats().tenants.find((p) => p.tenantId === a.id && p.state === 'open');

const current = () => withTenant(services.pools, a.id, () => getTxManager().query<{ db: string }>('SELECT current_database() AS db'));

describe('a socket cut while a connection is checked out', () => {
  it('tx.query: the in-flight statement fails as DATABASE_UNAVAILABLE; the next request gets a fresh connection', async () => {
    await current();
    const failed = withTenant(services.pools, a.id, () => getTxManager().query('SELECT pg_sleep(30)'));
    await eventually("the statement holds A's only connection", () => poolOfA()?.connections.idle === 0 && poolOfA()?.leases === 1);
    proxy.cut();
    await expect(failed).rejects.toBeInstanceOf(DatabaseUnavailableError);
    expect((await current()).rows[0]?.db).toBe(a.dbName);
  });

  it('tx.run: a cut between two statements fails the transaction as DATABASE_UNAVAILABLE; nothing is reused', async () => {
    const result = withTenant(services.pools, a.id, (scope) =>
      scope.tx.run(async (client) => {
        await client.query('SELECT 1');
        // The connection is checked out and idle: pg reports the reset as an 'error' event.
        const errorsBefore = events.filter((e) => e.type === 'client-error').length;
        proxy.cut();
        await eventually('the reset reached the client', () => events.filter((e) => e.type === 'client-error').length > errorsBefore);
        await client.query('SELECT 2');
      }),
    );
    await expect(result).rejects.toMatchObject({ code: 'DATABASE_UNAVAILABLE' });
    expect((await current()).rows[0]?.db).toBe(a.dbName);
    // Tenant B, on the same pool manager, never noticed.
    const other = await withTenant(services.pools, b.id, () => getTxManager().query<{ db: string }>('SELECT current_database() AS db'));
    expect(other.rows[0]?.db).toBe(b.dbName);
  });

  it('health check: a ping cut in flight retires the pool as unhealthy; the tenant is served again after', async () => {
    await current();
    proxy.freeze();
    const checking = services.pools.checkHealth();
    try {
      await eventually('the ping holds the idle connection', () => poolOfA()?.connections.idle === 0);
    } finally {
      proxy.cut();
    }
    await checking;
    expect(events).toContainEqual(expect.objectContaining({ type: 'pool-unhealthy', tenantId: a.id }));
    expect((await current()).rows[0]?.db).toBe(a.dbName);
  });

  it('meta pool: a cut under a checked-out client and under pool.query is a connection error, and the pool recovers', async () => {
    const metaProxy = await startTcpProxy(rt.connections.tenant.host, rt.connections.tenant.port);
    try {
      const url = new URL(withDatabase(env.adminUrl, env.metaDatabase));
      url.port = String(metaProxy.port);
      const viaProxy = await env.runtime({ META_DATABASE_URL: url.toString() });
      const held = withClient(viaProxy.metaPool, async (client) => {
        await client.query('SELECT 1');
        metaProxy.cut();
        // Whether the reset arrives before or during the next statement, pg emits 'error' on a checked-out client.
        await client.query('SELECT 2');
      });
      await expect(held).rejects.toSatisfy(isConnectionError);
      const sleeping = viaProxy.metaPool.query('SELECT pg_sleep(30)');
      await eventually('the meta query is running', () => viaProxy.metaPool.idleCount === 0 && metaProxy.connections > 0);
      metaProxy.cut();
      await expect(sleeping).rejects.toSatisfy(isConnectionError);
      expect(await viaProxy.registry.getById(a.id)).toMatchObject({ id: a.id, slug: a.slug });
    } finally {
      await metaProxy.close();
    }
  });

  it('a pool manager whose tenant database refuses connections answers DATABASE_UNAVAILABLE, then recovers', async () => {
    const pools = new PoolManager({
      credentials: rt.connections.tenant,
      limits: { ...rt.config.pool, connectTimeoutMs: 5_000 },
      tenants: services.cache,
    });
    try {
      proxy.refuse();
      await expect(withTenant(pools, a.id, () => getTxManager().query('SELECT 1'))).rejects.toMatchObject({
        code: 'DATABASE_UNAVAILABLE',
      });
      proxy.accept();
      const { rows } = await withTenant(pools, a.id, () => getTxManager().query<{ one: number }>('SELECT 1 AS one'));
      expect(rows).toEqual([{ one: 1 }]);
    } finally {
      proxy.accept();
      await pools.close({ deadlineMs: 1_000 });
    }
  });
});
