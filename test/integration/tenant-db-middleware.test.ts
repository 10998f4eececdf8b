import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantClientConfig } from '../../src/pg/connection-settings.js';
import { withConnection } from '../../src/pg/with-helpers.js';
import { getSignal, getTenant, getTxManager } from '../../src/context/tenant-context.js';
import type { TenantServices } from '../../src/pools/tenant-services.js';
import type { Tenant } from '../../src/tenants/tenant.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { sendError, sendJson } from '../../src/server/http-errors.js';
import { tenantDb } from '../../src/server/tenant-db-middleware.js';
import { eventually } from '../support/eventually.js';
import { createTenants, openServices, setStatus } from '../support/tenant-fixtures.js';
import { createTestEnvironment } from '../support/test-environment.js';
import { startHttpServer, type TestHttpServer } from '../support/http-server.js';

const env = createTestEnvironment();
let rt: Runtime;
let tenants: Tenant[];
let services: TenantServices;
let server: TestHttpServer | undefined;
let base: string;
let lockRequest: { started: boolean; sawAbort: boolean } = { started: false, sawAbort: false };

const t = (i: number) => tenants[i] as Tenant;

/** An Express-style chain: the middleware, then a handler that relies on the tenant scope. */
function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  const middleware = tenantDb({ pools: services.pools });
  middleware(req, res, () => {
    void (async () => {
      if (req.url === '/whoami') {
        const { rows } = await getTxManager().query<{ db: string }>('SELECT current_database() AS db');
        sendJson(res, 200, { slug: getTenant().slug, db: rows[0]?.db });
      } else if (req.url === '/locked') {
        lockRequest = { started: true, sawAbort: false };
        getSignal().addEventListener('abort', () => (lockRequest.sawAbort = true));
        await getTxManager().query('SELECT pg_advisory_lock(4242), pg_advisory_unlock(4242)');
        if (!res.writableEnded && !res.destroyed) sendJson(res, 200, { ok: true });
      }
    })().catch((err: unknown) => sendError(res, err));
  });
}

async function call(tenantId: string | undefined, path = '/whoami', init: RequestInit = {}) {
  const headers: Record<string, string> = tenantId === undefined ? {} : { 'X-Tenant-ID': tenantId };
  const response = await fetch(`${base}${path}`, { ...init, headers });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  rt = await env.runtime();
  tenants = await createTenants(rt, 8, 'mw');
  services = await openServices(rt, { limits: { maxPools: 3, acquireTimeoutMs: 300 } });
  server = await startHttpServer(handler);
  base = server.base;
});
afterAll(async () => {
  await server?.stop();
  await services?.close({ deadlineMs: 1_000 });
  await env.cleanup();
});

function expectErrorBody(body: Record<string, unknown>, code: string): void {
  expect(body.code).toBe(code);
  expect(typeof body.message).toBe('string');
  expect(Object.keys(body).sort()).toEqual(['code', 'message']);
}

describe('TenantDB middleware', () => {
  it('runs the request in the tenant scope and releases the lease when the response finishes', async () => {
    const { status, body } = await call(t(0).id);
    expect(status).toBe(200);
    expect(body).toEqual({ slug: t(0).slug, db: t(0).dbName });
    await eventually('the lease is released', () => services.pools.stats().leases === 0);
  });

  it('answers 400 for a missing or malformed X-Tenant-ID', async () => {
    const missing = await call(undefined);
    expect(missing.status).toBe(400);
    expectErrorBody(missing.body, 'TENANT_ID_MISSING');
    for (const bad of ['acme', '1234', `${t(0).id}x`, ' ']) {
      const malformed = await call(bad);
      expect(malformed.status).toBe(400);
      expectErrorBody(malformed.body, bad.trim() === '' ? 'TENANT_ID_MISSING' : 'INVALID_TENANT_ID');
    }
  });

  it('answers 404 for an unknown tenant', async () => {
    const { status, body } = await call('00000000-0000-4000-8000-000000000000');
    expect(status).toBe(404);
    expectErrorBody(body, 'TENANT_NOT_FOUND');
  });

  it('answers 403 for suspended and deleted tenants, 503 with Retry-After while provisioning or after a failed migration', async () => {
    const cases = [
      { tenant: t(1), to: 'suspended', status: 403, code: 'TENANT_SUSPENDED' },
      { tenant: t(2), to: 'deleted', status: 403, code: 'TENANT_DELETED' },
      { tenant: t(3), to: 'migration_failed', status: 503, code: 'TENANT_UNAVAILABLE' },
      { tenant: t(4), to: 'provisioning', status: 503, code: 'TENANT_UNAVAILABLE' },
    ] as const;
    for (const c of cases) {
      await setStatus(rt, c.tenant, c.to);
      let last: Awaited<ReturnType<typeof call>> | undefined;
      await eventually(`${c.tenant.slug} is answered ${c.status}`, async () => (last = await call(c.tenant.id)).status === c.status);
      expectErrorBody(last?.body ?? {}, c.code);
      if (c.status === 503) expect(Number(last?.headers.get('retry-after'))).toBeGreaterThan(0);
    }
  });

  it('answers 503 POOL_EXHAUSTED when every pool stays leased', async () => {
    const held = await Promise.all([t(0), t(5), t(6)].map((tenant) => services.pools.acquire(tenant.id)));
    try {
      const { status, headers, body } = await call(t(7).id);
      expect(status).toBe(503);
      expectErrorBody(body, 'POOL_EXHAUSTED');
      expect(headers.get('retry-after')).toBe('1');
    } finally {
      for (const lease of held) lease.release();
    }
  });

  it('answers 503 DATABASE_UNAVAILABLE when the tenant database is down, without leaking connection details', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await rt.metaPool.query('UPDATE tenants SET db_port = $2 WHERE id = $1', [t(7).id, deadPort]);
    services.cache.invalidate(t(7).id);
    try {
      const { status, body } = await call(t(7).id);
      expect(status).toBe(503);
      expectErrorBody(body, 'DATABASE_UNAVAILABLE');
      const text = JSON.stringify(body);
      expect(text).not.toContain(rt.connections.tenant.password ?? '<none>');
      expect(text).not.toContain(String(deadPort));
      expect(text).not.toMatch(/postgres(ql)?:\/\//);
    } finally {
      await rt.metaPool.query('UPDATE tenants SET db_port = $2 WHERE id = $1', [t(7).id, t(7).dbPort]);
      services.cache.invalidate(t(7).id);
    }
  });

  it('keeps the lease while a query of a disconnected client still runs, and releases it afterwards', async () => {
    const tenant = t(5);
    await withConnection(tenantClientConfig(tenant, rt.connections.tenant), async (holder) => {
      await holder.query('SELECT pg_advisory_lock(4242)');
      const controller = new AbortController();
      const request = call(tenant.id, '/locked', { signal: controller.signal }).catch(() => 'aborted');
      await eventually('the request waits on the lock', () => lockRequest.started && services.pools.stats().leases === 1);
      controller.abort();
      expect(await request).toBe('aborted');
      await eventually('the handler sees the disconnect', () => lockRequest.sawAbort);
      expect(services.pools.stats().leases).toBe(1);
      await holder.query('SELECT pg_advisory_unlock(4242)');
    });
    await eventually('the lease is released', () => services.pools.stats().leases === 0);
  });
});
