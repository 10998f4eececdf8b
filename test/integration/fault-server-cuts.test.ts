/**
 * The built reference server as a subprocess, two tenants under load, tenant
 * A reached through a TCP proxy whose sockets are cut (RST) 20 times while
 * requests are in flight on them. The process must stay up, answer A with
 * 503 (never 500) and recover by itself each time; B never sees an error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tenant } from '../../src/tenants/tenant.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { loadTwoTenants, type Load } from '../support/http-load.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { eventually } from '../support/eventually.js';
import { createTenants, seedCurrency } from '../support/tenant-fixtures.js';
import { createTestEnvironment } from '../support/test-environment.js';
import { routeTenantThrough, tenantPoolStats } from '../support/fault-fixtures.js';
import { createApiUsers, headersFor, type ApiUser } from '../support/api-session.js';

const env = createTestEnvironment();
const CURRENCIES = '/api/v1/catalogs/currencies';
let rt: Runtime;
let a: Tenant;
let b: Tenant;
let proxy: TcpProxy;
let server: ServerProcess | undefined;
let load: Load | undefined;
/** A viewer per tenant: the load logs in for real (the server's token auth). */
let users: [ApiUser, ApiUser];

beforeAll(async () => {
  rt = await env.runtime();
  [a, b] = (await createTenants(rt, 2, 'cut')) as [Tenant, Tenant];
  await seedCurrency(rt, a, 'AAA');
  await seedCurrency(rt, b, 'BBB');
  users = (await createApiUsers(rt, [
    { tenant: a, role: 'viewer' },
    { tenant: b, role: 'viewer' },
  ])) as [ApiUser, ApiUser];
  proxy = await startTcpProxy(rt.connections.tenant.host, rt.connections.tenant.port);
  a = await routeTenantThrough(rt, a, proxy.port);
  server = await startServerProcess({ ...env.env, TENANT_MAX_CONNS_PER_POOL: '4' });
});
afterAll(async () => {
  await load?.stop();
  await server?.stop();
  await proxy?.close();
  await env.cleanup();
});

describe('tenant-server under socket cuts', () => {
  it('survives 20 cuts of one tenant under load: zero 500s, the other tenant untouched, recovery on its own', async () => {
    const srv = server as ServerProcess;
    const served = await loadTwoTenants(
      srv.base,
      { id: a.id, headers: await headersFor(srv.base, a, users[0]) },
      { id: b.id, headers: await headersFor(srv.base, b, users[1]) },
      CURRENCIES,
    );
    load = served.load;
    const { A, B } = served;

    for (let cut = 1; cut <= 20; cut++) {
      const unavailableBefore = A.failures['503'] ?? 0;
      // Freeze first, so requests are certainly in flight on the sockets we cut.
      proxy.freeze();
      await eventually(
        `cut ${cut}: requests of A are in flight`,
        async () => {
          const stats = await tenantPoolStats(srv.base, a.id);
          return stats !== undefined && stats.leases >= 3 && stats.connections.total > 0;
        },
        20_000,
      );
      expect(proxy.cut()).toBeGreaterThan(0);
      await eventually(`cut ${cut}: A answered 503`, () => !srv.alive || (A.failures['503'] ?? 0) > unavailableBefore, 20_000);
      expect(srv.alive, `the server died at cut ${cut}:\n${srv.log}`).toBe(true);
      await eventually(`cut ${cut}: A recovered`, () => A.okAfterLastFailure >= 3, 20_000);
    }
    await load.stop();

    expect(srv.alive, srv.log).toBe(true);
    expect((await fetch(`${srv.base}/health/live`)).status).toBe(200);
    expect(Object.keys(A.failures), A.samples.join('\n')).toEqual(['503']);
    expect(
      A.samples.every((s) => s.includes('DATABASE_UNAVAILABLE')),
      A.samples.join('\n'),
    ).toBe(true);
    expect(B.failures, B.samples.join('\n')).toEqual({});
    expect(B.ok).toBeGreaterThan(0);
  });
});
