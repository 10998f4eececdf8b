/**
 * The per-server connection budget against real servers: the suite's server
 * and a private embedded cluster, both registered in the test's meta
 * database with a `connections` budget. Connections are counted where they
 * land (pg_stat_activity, by each manager's application_name), never inferred
 * from the pool manager's own bookkeeping.
 */
import crypto from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import type { PoolLimits } from '../../src/pools/pool-manager.js';
import type { TenantServices } from '../../src/pools/tenant-services.js';
import { tenantFromRow, type Tenant, type TenantRow } from '../../src/tenants/tenant.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { eventually } from '../support/eventually.js';
import { createTenants, openServices } from '../support/tenant-fixtures.js';
import { createTestEnvironment } from '../support/test-environment.js';
import { startPrivateCluster, type PrivateCluster } from '../support/private-cluster.js';
import { notifyTenantChange } from '../../src/tenants/tenant-registry.js';
import type { PoolEvent } from '../../src/pools/pool-manager.js';
import { withClient, withTransaction } from '../../src/pg/with-helpers.js';

const env = createTestEnvironment();
const suiteServer = inject('testServer');
let rt: Runtime;
let tenants: Tenant[];
let cluster: PrivateCluster;
/** Tenants whose databases live on the private cluster (registered as server `second`). */
let remote: Tenant[];
const opened: TenantServices[] = [];

const t = (i: number) => tenants[i] as Tenant;

async function services(app: string, limits: Partial<PoolLimits> = {}, events?: PoolEvent[]): Promise<TenantServices> {
  const s = await openServices(rt, {
    limits: { idleTimeoutMs: 600_000, healthCheckIntervalMs: 600_000, maxPools: 20, maxConnsPerPool: 3, ...limits },
    poolConfig: { application_name: app },
    ...(events ? { onPoolEvent: (e: PoolEvent) => events.push(e) } : {}),
  });
  opened.push(s);
  return s;
}

/** Registers each server's budget in the meta database and lets the runtime's directory see it. */
async function setBudgets(budgets: Record<string, number | null>): Promise<void> {
  for (const [name, connections] of Object.entries(budgets)) {
    await rt.metaPool.query('UPDATE servers SET connections = $2 WHERE name = $1', [name, connections]);
  }
  await rt.servers.refresh();
}

async function countOn(url: string, app: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'client backend' AND application_name = $1",
      [app],
    );
    return rows[0]?.n ?? 0;
  } finally {
    await client.end();
  }
}

/** Connections of one manager (by application_name) per database on a server. */
async function byDatabase(url: string, app: string): Promise<Map<string, number>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string; n: number }>(
      `SELECT datname, count(*)::int AS n FROM pg_stat_activity
        WHERE backend_type = 'client backend' AND application_name = $1 GROUP BY datname`,
      [app],
    );
    return new Map(rows.map((r) => [r.datname, r.n]));
  } finally {
    await client.end();
  }
}

/** Samples one manager's connections on each server until stopped; reports each server's peak. */
async function sampleConnections(urls: string[], app: string): Promise<{ stop(): Promise<number[]> }> {
  const clients = await Promise.all(
    urls.map(async (url) => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      return client;
    }),
  );
  const peaks = urls.map(() => 0);
  let running = true;
  const loops = clients.map(async (client, i) => {
    while (running) {
      const { rows } = await client.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'client backend' AND application_name = $1",
        [app],
      );
      peaks[i] = Math.max(peaks[i] as number, rows[0]?.n ?? 0);
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      await Promise.all(clients.map((c) => c.end()));
      return peaks;
    },
  };
}

/** A query through the pool manager, as the middleware runs one: lease, query, release. */
async function query(s: TenantServices, tenant: Tenant, sql = 'SELECT current_database() AS db'): Promise<string> {
  const lease = await s.pools.acquire(tenant.id);
  try {
    const { rows } = await lease.pool.query<{ db: string }>(sql);
    return rows[0]?.db as string;
  } finally {
    lease.release();
  }
}

/** Concurrent load over the tenants: `workers` loops of `rounds` queries each, tenants picked at random. */
async function load(s: TenantServices, over: Tenant[], workers: number, rounds: number): Promise<void> {
  await Promise.all(
    Array.from({ length: workers }, async () => {
      for (let r = 0; r < rounds; r++) {
        const tenant = over[crypto.randomInt(over.length)] as Tenant;
        await query(s, tenant, 'SELECT current_database() AS db, pg_sleep(0.002)');
      }
    }),
  );
}

/** Creates databases on the private cluster, served by the suite's shared login, and registers their tenants on `second`. */
async function remoteTenants(count: number): Promise<Tenant[]> {
  const admin = new pg.Client({ connectionString: cluster.adminUrl });
  await admin.connect();
  const made: Tenant[] = [];
  try {
    const user = admin.escapeIdentifier(suiteServer.appUser);
    const exists = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [suiteServer.appUser]);
    if (exists.rowCount === 0) await admin.query(`CREATE ROLE ${user} LOGIN`);
    await admin.query(`ALTER ROLE ${user} PASSWORD ${admin.escapeLiteral(suiteServer.appPassword)}`);
    const port = cluster.credentials.port;
    await rt.metaPool.query("INSERT INTO servers (name, host, port) VALUES ('second', '127.0.0.1', $1) ON CONFLICT DO NOTHING", [port]);
    for (let i = 0; i < count; i++) {
      const dbName = `${env.prefix}remote_${i}`;
      await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(dbName)} OWNER ${user}`);
      const { rows } = await rt.metaPool.query<TenantRow>(
        `INSERT INTO tenants (slug, display_name, db_name, db_host, db_port, server_name, status)
         VALUES ($1, $1, $2, '127.0.0.1', $3, 'second', 'active') RETURNING *`,
        [`remote-${i}`, dbName, port],
      );
      made.push(tenantFromRow(rows[0] as TenantRow));
    }
  } finally {
    await admin.end();
  }
  return made;
}

beforeAll(async () => {
  rt = await env.runtime();
  tenants = await createTenants(rt, 8, 'budget');
  cluster = await startPrivateCluster({ binDir: 'embedded' });
  remote = await remoteTenants(6);
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close({ deadlineMs: 1_000 })));
});
afterAll(async () => {
  await env.cleanup();
  await cluster?.dispose();
});

describe('connection budget per server', () => {
  it('never holds more than the budget to a server under concurrent load over more tenants than the budget', async () => {
    await setBudgets({ default: 3 });
    const app = 'budget-load';
    const s = await services(app);
    const sampler = await sampleConnections([env.adminUrl], app);
    await load(s, tenants, 24, 15);
    const [peak] = await sampler.stop();
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(3);
    const [server] = s.pools.stats().servers;
    expect(server).toMatchObject({ limit: 3, source: 'registry' });
    expect(server?.used).toBeLessThanOrEqual(3);
    // Eight tenants through three connections: idle connections were closed for others.
    expect(server?.evicted).toBeGreaterThan(0);
  });

  it("closes another tenant's least recently used idle connection instead of letting a request wait for a timeout", async () => {
    await setBudgets({ default: 2 });
    const app = 'budget-idle';
    // Waiting for a timeout would outlast the test's own timeout.
    const s = await services(app, { acquireTimeoutMs: 600_000 });
    expect(await query(s, t(0))).toBe(t(0).dbName);
    expect(await query(s, t(1))).toBe(t(1).dbName);
    expect(await countOn(env.adminUrl, app)).toBe(2);
    // Both pools stay open with one idle connection each; a third tenant needs one.
    expect(await query(s, t(2))).toBe(t(2).dbName);
    await eventually('the least recently used tenant lost its idle connection', async () => {
      const counts = await byDatabase(env.adminUrl, app);
      return !counts.has(t(0).dbName) && counts.get(t(1).dbName) === 1 && counts.get(t(2).dbName) === 1;
    });
    expect(s.pools.stats()).toMatchObject({ open: 3, servers: [{ used: 2, evicted: 1 }] });
    // The tenant that lost it is still served (its pool takes the next least recently used one).
    expect(await query(s, t(0))).toBe(t(0).dbName);
    expect(await countOn(env.adminUrl, app)).toBeLessThanOrEqual(2);
  });

  it('makes a tenant without a connection wait while every connection is busy, and fails it with POOL_EXHAUSTED at the timeout', async () => {
    await setBudgets({ default: 1 });
    const s = await services('budget-busy', { acquireTimeoutMs: 300 });
    const holder = await s.pools.acquire(t(0).id);
    const client = await holder.pool.connect();
    try {
      await expect(query(s, t(1))).rejects.toMatchObject({ code: 'POOL_EXHAUSTED' });
      expect(s.pools.stats().counters.acquireTimeouts).toBe(1);
      // A waiter that is there when the connection goes idle gets it closed for itself.
      const waiting = query(s, t(2));
      await eventually('t2 waits for a connection', () => s.pools.stats().servers[0]?.waiting === 1);
      client.release();
      expect(await waiting).toBe(t(2).dbName);
    } finally {
      holder.release();
    }
  });

  it('keeps separate budgets for two servers', async () => {
    await setBudgets({ default: 2, second: 3 });
    const app = 'budget-two';
    const s = await services(app);
    const sampler = await sampleConnections([env.adminUrl, cluster.adminUrl], app);
    await Promise.all([load(s, tenants, 12, 10), load(s, remote, 12, 10)]);
    const [local, second] = await sampler.stop();
    expect(local).toBeGreaterThan(0);
    expect(local).toBeLessThanOrEqual(2);
    expect(second).toBeGreaterThan(0);
    expect(second).toBeLessThanOrEqual(3);
    const stats = s.pools.stats().servers;
    expect(stats.map((b) => b.limit).sort()).toEqual([2, 3]);
    // One server's full budget does not hold up the other's tenants: both served everything.
    expect(await query(s, remote[0] as Tenant)).toBe((remote[0] as Tenant).dbName);
  });

  it('measures a server whose budget is not registered from its max_connections', async () => {
    await setBudgets({ second: null });
    const s = await services('budget-measured');
    expect(await query(s, remote[1] as Tenant)).toBe((remote[1] as Tenant).dbName);
    await eventually('the budget is measured', () => s.pools.stats().servers[0]?.source === 'measured');
    const limit = s.pools.stats().servers[0]?.limit as number;
    // The private cluster has max_connections 100: three quarters of what is free, less than that.
    expect(limit).toBeGreaterThan(1);
    expect(limit).toBeLessThan(100);
  });
});

/** Creates an empty database the shared login owns, on the suite's server or the private cluster. */
async function createDatabase(adminUrl: string, name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(name)} OWNER ${admin.escapeIdentifier(suiteServer.appUser)}`);
  } finally {
    await admin.end();
  }
}

/** Points the tenant's row at another address and NOTIFYs in one transaction, as `tenant move` does. */
async function switchAddress(tenant: Tenant, to: { dbName: string; dbHost?: string; dbPort?: number; serverName?: string }): Promise<void> {
  await withClient(rt.metaPool, (client) =>
    withTransaction(client, async () => {
      await client.query(
        `UPDATE tenants SET db_name = $2, db_host = coalesce($3, db_host), db_port = coalesce($4, db_port),
                server_name = coalesce($5, server_name), updated_at = now() WHERE id = $1`,
        [tenant.id, to.dbName, to.dbHost ?? null, to.dbPort ?? null, to.serverName ?? null],
      );
      await notifyTenantChange(client, tenant, tenant.status);
    }),
  );
}

describe('a pool follows its tenant to a new address', () => {
  it('retires the old pool on the NOTIFY, lets in-flight work finish on it, and serves new requests from the new database', async () => {
    await setBudgets({ default: 10 });
    const app = 'budget-follow';
    const events: PoolEvent[] = [];
    const s = await services(app, {}, events);
    const tenant = t(5);
    expect(await query(s, tenant)).toBe(tenant.dbName);
    const copy = `${env.prefix}copy_5`;
    await createDatabase(env.adminUrl, copy);

    // A request in flight on the old database when the row changes.
    const inFlight = await s.pools.acquire(tenant.id);
    const client = await inFlight.pool.connect();
    await switchAddress(tenant, { dbName: copy });
    // The NOTIFY alone (no new request yet) takes the old pool out of service.
    await eventually('the old pool drains', () => s.pools.stats().draining === 1);
    expect(await query(s, tenant)).toBe(copy);
    // The in-flight request still runs on the old database, and then the old pool closes.
    const { rows } = await client.query<{ db: string }>('SELECT current_database() AS db');
    expect(rows[0]?.db).toBe(tenant.dbName);
    client.release();
    inFlight.release();
    await eventually('the old pool is closed', () => events.some((e) => e.type === 'pool-closed' && e.reason === 'replaced'));
    await eventually('no connection to the old database is left', async () => !(await byDatabase(env.adminUrl, app)).has(tenant.dbName));
    expect((await byDatabase(env.adminUrl, app)).get(copy)).toBe(1);
    expect(s.pools.stats()).toMatchObject({ open: 1, pools: 1 });
  });

  it('moves a served tenant to another server without a restart; its connections count against the new server', async () => {
    await setBudgets({ default: 10, second: 4 });
    const app = 'budget-move';
    const s = await services(app);
    const tenant = t(6);
    expect(await query(s, tenant)).toBe(tenant.dbName);
    const target = `${env.prefix}moved_6`;
    await createDatabase(cluster.adminUrl, target);
    await switchAddress(tenant, { dbName: target, dbHost: '127.0.0.1', dbPort: cluster.credentials.port, serverName: 'second' });
    await eventually('the tenant is served from the other server', async () => (await query(s, tenant)) === target);
    const port = await query(s, tenant, "SELECT current_setting('port') AS db");
    expect(Number(port)).toBe(cluster.credentials.port);
    await eventually('no connection to the old server is left', async () => (await countOn(env.adminUrl, app)) === 0);
    expect(await countOn(cluster.adminUrl, app)).toBe(1);
    const second = s.pools.stats().servers.find((b) => b.server === `127.0.0.1:${cluster.credentials.port}`);
    expect(second).toMatchObject({ limit: 4, used: 1 });
  });
});
