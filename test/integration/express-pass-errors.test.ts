/**
 * tenantDb() inside a real Express app: with passErrors the app's own error
 * handler formats every tenant error; without it the middleware answers.
 */
import express, { type ErrorRequestHandler } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getTenant, getTxManager } from '../../src/context/tenant-context.js';
import type { TenantServices } from '../../src/pools/tenant-services.js';
import type { Tenant } from '../../src/tenants/tenant.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import type { PassedError } from '../../src/server/http-errors.js';
import { tenantDb } from '../../src/server/tenant-db-middleware.js';
import { eventually } from '../support/eventually.js';
import { createTenants, openServices, setStatus } from '../support/tenant-fixtures.js';
import { createTestEnvironment } from '../support/test-environment.js';
import { startHttpServer, type TestHttpServer } from '../support/http-server.js';

const env = createTestEnvironment();
let rt: Runtime;
let tenants: Tenant[];
let services: TenantServices;
let servers: TestHttpServer[] = [];
let passing: string;
let answering: string;
const handled: PassedError[] = [];

const t = (i: number) => tenants[i] as Tenant;

function expressApp(passErrors: boolean): express.Express {
  const app = express();
  app.use('/api', tenantDb({ pools: services.pools, passErrors }));
  app.get('/api/whoami', async (_req, res) => {
    const { rows } = await getTxManager().query<{ db: string }>('SELECT current_database() AS db');
    res.json({ slug: getTenant().slug, db: rows[0]?.db });
  });
  // The app's own error format: a wrapper around the safe body, its own header.
  const onError: ErrorRequestHandler = (err: PassedError, _req, res, _next) => {
    handled.push(err);
    res.status(err.status).set(err.headers).set('x-handled-by', 'app').json({ error: err.body, status: err.status });
  };
  app.use(onError);
  return app;
}

async function get(base: string, tenantId?: string) {
  const response = await fetch(`${base}/api/whoami`, { headers: tenantId ? { 'x-tenant-id': tenantId } : {} });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, any> };
}

beforeAll(async () => {
  rt = await env.runtime();
  tenants = await createTenants(rt, 3, 'exp');
  services = await openServices(rt, { limits: { maxPools: 2, acquireTimeoutMs: 300 } });
  const a = await startHttpServer(expressApp(true));
  const b = await startHttpServer(expressApp(false));
  servers = [a, b];
  passing = a.base;
  answering = b.base;
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  await services?.close({ deadlineMs: 1_000 });
  await env.cleanup();
});

describe('tenantDb({ passErrors: true }) in an Express app', () => {
  it('serves the tenant-scoped route', async () => {
    expect(await get(passing, t(0).id)).toMatchObject({ status: 200, body: { slug: t(0).slug, db: t(0).dbName } });
  });

  it('hands missing, malformed and unknown tenants to the app’s error handler with status and code', async () => {
    const cases = [
      { id: undefined, status: 400, code: 'TENANT_ID_MISSING' },
      { id: 'acme', status: 400, code: 'INVALID_TENANT_ID' },
      { id: '00000000-0000-4000-8000-000000000000', status: 404, code: 'TENANT_NOT_FOUND' },
    ];
    for (const c of cases) {
      const before = handled.length;
      const { status, headers, body } = await get(passing, c.id);
      expect(status).toBe(c.status);
      expect(headers.get('x-handled-by')).toBe('app');
      expect(body).toEqual({ status: c.status, error: { code: c.code, message: expect.any(String) } });
      const err = handled[before] as PassedError;
      expect(err).toMatchObject({ code: c.code, status: c.status, statusCode: c.status, expose: true });
      expect(err).toBeInstanceOf(Error);
    }
  });

  it('passes 403 and 503 with Retry-After in err.headers; a 5xx is not exposed', async () => {
    await setStatus(rt, t(1), 'suspended');
    let suspended: Awaited<ReturnType<typeof get>> | undefined;
    await eventually('the suspended tenant is refused', async () => (suspended = await get(passing, t(1).id)).status === 403);
    expect(suspended?.body.error.code).toBe('TENANT_SUSPENDED');

    await setStatus(rt, t(2), 'migration_failed');
    let unavailable: Awaited<ReturnType<typeof get>> | undefined;
    await eventually('the tenant is unavailable', async () => (unavailable = await get(passing, t(2).id)).status === 503);
    expect(unavailable?.body.error.code).toBe('TENANT_UNAVAILABLE');
    expect(Number(unavailable?.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(handled.at(-1)).toMatchObject({ code: 'TENANT_UNAVAILABLE', status: 503, expose: false });
  });

  it('without passErrors the middleware still answers by itself', async () => {
    const before = handled.length;
    const { status, headers, body } = await get(answering, 'acme');
    expect(status).toBe(400);
    expect(headers.get('x-handled-by')).toBeNull();
    expect(body).toEqual({ code: 'INVALID_TENANT_ID', message: expect.any(String) });
    expect(handled.length).toBe(before);
  });
});
