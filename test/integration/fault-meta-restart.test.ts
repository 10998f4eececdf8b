/**
 * The meta database (on a private cluster) stops with `-m immediate` and
 * comes back, under load, while the built reference server runs as a
 * subprocess with its tenants on the shared test server. Warm tenants keep
 * being served, a lookup the server cannot do answers 503 (never 500, never
 * a crash), and everything recovers by itself, the status listener included.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { ensureMetaDatabase } from '../../src/runtime/meta-database.js';
import type { Tenant } from '../../src/tenants/tenant.js';
import { openRuntime, type Runtime } from '../../src/runtime/runtime.js';
import { failuresOtherThan503, loadTwoTenants, type Load } from '../support/http-load.js';
import { startPrivateCluster, type PrivateCluster } from '../support/private-cluster.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { eventually } from '../support/eventually.js';
import { createTenants } from '../support/tenant-fixtures.js';
import { createTestEnvironment } from '../support/test-environment.js';
import { createApiUsers, headersFor, signedHeadersFor, type ApiUser } from '../support/api-session.js';

const env = createTestEnvironment();
const CURRENCIES = '/api/v1/catalogs/currencies';
let cluster: PrivateCluster;
let rt: Runtime | undefined;
let a: Tenant;
let b: Tenant;
let cold: Tenant;
let server: ServerProcess | undefined;
let load: Load | undefined;
let metaEnv: Record<string, string>;
/** A viewer of a, b and cold: the server's token auth is real. */
let users: [ApiUser, ApiUser, ApiUser];
/** Headers per tenant id (a and b log in; cold's token is signed here so that the server never looks cold up early). */
const headers = new Map<string, Record<string, string>>();

beforeAll(async () => {
  cluster = await startPrivateCluster();
  // Meta database on the private cluster, tenant databases on the shared server.
  const metaUrl = cluster.url(env.metaDatabase);
  metaEnv = { ...env.env, META_DATABASE_URL: metaUrl };
  const config = parseConfig(metaEnv);
  await ensureMetaDatabase(cluster.adminUrl, metaUrl, config.metaMigrationsDir);
  rt = await openRuntime(config);
  [a, b, cold] = (await createTenants(rt, 3, 'meta')) as [Tenant, Tenant, Tenant];
  users = (await createApiUsers(
    rt,
    [a, b, cold].map((tenant) => ({ tenant, role: 'viewer' as const })),
  )) as [ApiUser, ApiUser, ApiUser];
  headers.set(cold.id, signedHeadersFor(cold, users[2]));
  server = await startServerProcess(metaEnv);
});
afterAll(async () => {
  await load?.stop();
  await server?.stop();
  await rt?.close();
  await cluster?.dispose();
  await env.cleanup();
});

async function get(base: string, path: string, tenant?: Tenant): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${base}${path}`, { headers: tenant ? (headers.get(tenant.id) ?? { 'x-tenant-id': tenant.id }) : {} });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('tenant-server while the meta database restarts', () => {
  it('keeps serving warm tenants, answers 503 for lookups it cannot do, and recovers by itself', async () => {
    const srv = server as ServerProcess;
    headers.set(a.id, await headersFor(srv.base, a, users[0]));
    headers.set(b.id, await headersFor(srv.base, b, users[1]));
    const served = await loadTwoTenants(
      srv.base,
      { id: a.id, headers: headers.get(a.id) },
      { id: b.id, headers: headers.get(b.id) },
      CURRENCIES,
    );
    load = served.load;
    const { A, B } = served;
    await eventually('the status listener is listening', async () => (await get(srv.base, '/health/tenants')).body.listener === 'listening');

    await cluster.stopImmediately();
    await eventually('readiness reports the meta database down', async () => (await get(srv.base, '/health/ready')).status === 503);
    const down = { a: A.ok, b: B.ok, failedA: A.total - A.ok, failedB: B.total - B.ok };
    await eventually('warm tenants are still served', () => A.ok > down.a + 20 && B.ok > down.b + 20, 30_000);
    expect(A.total - A.ok, A.samples.join('\n')).toBe(down.failedA);
    expect(B.total - B.ok, B.samples.join('\n')).toBe(down.failedB);
    const lookup = await get(srv.base, CURRENCIES, cold);
    expect(lookup).toMatchObject({ status: 503, body: { code: 'DATABASE_UNAVAILABLE' } });
    expect((await get(srv.base, '/health/tenants')).body.listener).not.toBe('listening');
    expect(srv.alive, srv.log).toBe(true);

    await cluster.start();
    await eventually('readiness is back', async () => (await get(srv.base, '/health/ready')).status === 200, 30_000);
    await eventually(
      'the status listener reconnected',
      async () => (await get(srv.base, '/health/tenants')).body.listener === 'listening',
      30_000,
    );
    await eventually('the cold tenant is served', async () => (await get(srv.base, CURRENCIES, cold)).status === 200, 30_000);

    // A restart in one step, under load.
    const beforeRestart = { a: A.ok, b: B.ok };
    await cluster.restartImmediately();
    await eventually(
      'the status listener reconnected after the restart',
      async () => (await get(srv.base, '/health/tenants')).body.listener === 'listening',
      30_000,
    );
    await eventually('both tenants are served after the restart', () => A.ok > beforeRestart.a + 20 && B.ok > beforeRestart.b + 20, 30_000);
    await load.stop();

    expect(srv.alive, srv.log).toBe(true);
    for (const counts of [A, B]) {
      expect(failuresOtherThan503(counts), counts.samples.join('\n')).toEqual([]);
    }
  });
});
