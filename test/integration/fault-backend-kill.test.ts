/**
 * SIGKILL of one tenant backend on a private cluster, under load, with the
 * built reference server as a subprocess. PostgreSQL answers a killed
 * backend by resetting every session and running crash recovery, so every
 * connection of the server (tenants, meta pool, status listener) dies at
 * once. The process must stay up, answer only 200 or 503 meanwhile, and
 * serve both tenants again by itself.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import type { Tenant } from '../../src/tenants/tenant.js';
import { openRuntime, type Runtime } from '../../src/runtime/runtime.js';
import { failuresOtherThan503, loadTwoTenants, type Load } from '../support/http-load.js';
import { startPrivateCluster, type PrivateCluster } from '../support/private-cluster.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { eventually } from '../support/eventually.js';
import { createTenants } from '../support/tenant-fixtures.js';
import { createApiUsers, headersFor, type ApiUser } from '../support/api-session.js';

const CURRENCIES = '/api/v1/catalogs/currencies';
let cluster: PrivateCluster;
let rt: Runtime | undefined;
let a: Tenant;
let b: Tenant;
let server: ServerProcess | undefined;
let load: Load | undefined;
/** A viewer per tenant: the load logs in for real (the server's token auth). */
let users: [ApiUser, ApiUser];

beforeAll(async () => {
  cluster = await startPrivateCluster();
  const c = cluster.credentials;
  const vars = {
    META_DATABASE_URL: cluster.url('fault_meta'),
    POSTGRES_ADMIN_URL: cluster.adminUrl,
    TENANT_DB_USER: c.appUser,
    TENANT_DB_PASSWORD: c.appPassword,
    TENANT_DB_HOST: '127.0.0.1',
    TENANT_DB_PORT: String(c.port),
    TENANT_DB_PREFIX: 'fault_',
  };
  rt = await openRuntime(parseConfig(vars));
  [a, b] = (await createTenants(rt, 2, 'kill')) as [Tenant, Tenant];
  users = (await createApiUsers(rt, [
    { tenant: a, role: 'viewer' },
    { tenant: b, role: 'viewer' },
  ])) as [ApiUser, ApiUser];
  await rt.close();
  rt = undefined;
  server = await startServerProcess(vars);
});
afterAll(async () => {
  await load?.stop();
  await server?.stop();
  await rt?.close();
  await cluster?.dispose();
});

/** Server processes serving tenant A's database, seen from a fresh admin connection. */
async function backendsOf(database: string): Promise<number[]> {
  const client = new pg.Client({ connectionString: cluster.adminUrl });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend'",
      [database],
    );
    return rows.map((r) => r.pid);
  } finally {
    await client.end().catch(() => undefined);
  }
}

describe('tenant-server when a backend is killed with SIGKILL', () => {
  it('stays up through three kills, answers only 200/503, and both tenants recover', async () => {
    const srv = server as ServerProcess;
    const served = await loadTwoTenants(
      srv.base,
      { id: a.id, headers: await headersFor(srv.base, a, users[0]) },
      { id: b.id, headers: await headersFor(srv.base, b, users[1]) },
      CURRENCIES,
    );
    load = served.load;
    const { A, B } = served;

    for (let kill = 1; kill <= 3; kill++) {
      let pids: number[] = [];
      await eventually(`kill ${kill}: A has a backend`, async () => (pids = await backendsOf(a.dbName).catch(() => [])).length > 0, 30_000);
      const okBefore = { a: A.ok, b: B.ok };
      cluster.killBackend(pids[0] as number);
      await eventually(`kill ${kill}: both tenants recovered`, () => !srv.alive || (A.ok > okBefore.a + 10 && B.ok > okBefore.b + 10), 60_000);
      expect(srv.alive, `the server died at kill ${kill}:\n${srv.log}`).toBe(true);
    }
    await load.stop();

    expect(srv.alive, srv.log).toBe(true);
    for (const counts of [A, B]) {
      expect(failuresOtherThan503(counts), counts.samples.join('\n')).toEqual([]);
    }
  });
});
