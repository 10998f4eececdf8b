import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { suspendTenant } from '../../src/tenants/tenant-lifecycle.js';
import type { TenantServices } from '../../src/pools/tenant-services.js';
import type { Tenant } from '../../src/tenants/tenant.js';
import type { TenantToolkitError } from '../../src/errors.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { createApp } from '../../src/reference/app.js';
import { errorResponse } from '../../src/server/http-errors.js';
import { eventually } from '../support/eventually.js';
import { codeFor, connectionsTo, createTenants, openServices } from '../support/tenant-fixtures.js';
import { REPO_ROOT, createTestEnvironment } from '../support/test-environment.js';
import { startHttpServer, type TestHttpServer } from '../support/http-server.js';
import { roleHeaders, staticAuth } from '../support/static-auth.js';
import { createApiUser, headersFor, TEST_TOKEN_KEY } from '../support/api-session.js';

const env = createTestEnvironment();
let rt: Runtime;
let tenants: Tenant[];
let services: TenantServices;
let server: TestHttpServer | undefined;
let base: string;
const serverErrors: TenantToolkitError[] = [];
const CURRENCIES = '/api/v1/catalogs/currencies';

const t = (i: number) => tenants[i] as Tenant;

/** A request as an admin of the tenant (staticAuth: these tests are about pools and tenants, not login). */
async function api(tenant: Tenant | undefined, method: string, urlPath: string, body?: unknown, role: 'admin' | 'clerk' | 'viewer' = 'admin') {
  const headers: Record<string, string> = tenant ? roleHeaders(tenant.id, role) : {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${base}${urlPath}`, {
    method,
    headers,
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, any> };
}

/** The status line's code of a hand-written request (for what fetch refuses to send). */
async function rawStatus(request: string): Promise<number> {
  const { port, hostname } = new URL(base);
  const socket = net.connect(Number(port), hostname);
  socket.end(request);
  let text = '';
  for await (const chunk of socket) text += (chunk as Buffer).toString('latin1');
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]);
}

beforeAll(async () => {
  rt = await env.runtime();
  tenants = await createTenants(rt, 50, 'srv');
  services = await openServices(rt, { limits: { maxPools: 20, maxConnsPerPool: 4, acquireTimeoutMs: 30_000 } });
  const app = createApp({
    auth: staticAuth(),
    pools: services.pools,
    metaPool: rt.metaPool,
    listener: services.listener,
    cache: services.cache,
    onServerError: (err) => serverErrors.push(err),
  });
  server = await startHttpServer(app);
  base = server.base;
});
afterAll(async () => {
  await server?.stop();
  await services?.close({ deadlineMs: 1_000 });
  await env.cleanup();
});

describe('reference server', () => {
  it('serves the health endpoints as JSON', async () => {
    expect(await api(undefined, 'GET', '/health/live')).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(await api(undefined, 'GET', '/health/ready')).toMatchObject({
      status: 200,
      body: { status: 'ready', meta: 'ok', listener: 'listening' },
    });
    const stats = await api(undefined, 'GET', '/health/tenants');
    expect(stats.status).toBe(200);
    expect(stats.body.pools).toMatchObject({ maxPools: 20, maxConnsPerPool: 4, maxConnections: 80 });
  });

  it('creates, lists and reads currencies, with validation and conflicts', async () => {
    const tenant = t(0);
    const created = await api(tenant, 'POST', CURRENCIES, { code: 'USD', name: 'US Dollar' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ code: 'USD', name: 'US Dollar', symbol: null, decimalPlaces: 2, isBase: false, version: 1 });
    expect(created.headers.get('location')).toBe(`${CURRENCIES}/${created.body.id}`);

    expect(await api(tenant, 'GET', `${CURRENCIES}/${created.body.id}`)).toMatchObject({ status: 200, body: created.body });
    const list = await api(tenant, 'GET', `${CURRENCIES}?limit=10`);
    expect(list).toMatchObject({ status: 200, body: { items: [created.body], nextCursor: null } });

    const invalid = await api(tenant, 'POST', CURRENCIES, { code: 'usd', decimalPlaces: 9, colour: 'red' });
    expect(invalid.status).toBe(400);
    expect(invalid.body).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(Object.keys(invalid.body.fields).sort()).toEqual(['code', 'colour', 'decimalPlaces', 'name']);

    expect(await api(tenant, 'POST', CURRENCIES, { code: 'USD', name: 'Again' })).toMatchObject({ status: 409, body: { code: 'CONFLICT' } });
    expect(await api(tenant, 'POST', CURRENCIES, '{"code":')).toMatchObject({ status: 400, body: { code: 'USAGE' } });
    expect(await api(tenant, 'GET', `${CURRENCIES}?limit=0`)).toMatchObject({
      status: 400,
      body: { code: 'VALIDATION_FAILED', fields: { limit: expect.any(String) } },
    });
    expect(await api(tenant, 'GET', `${CURRENCIES}/00000000-0000-4000-8000-000000000000`)).toMatchObject({
      status: 404,
      body: { code: 'NOT_FOUND' },
    });
    expect(await api(tenant, 'GET', `${CURRENCIES}/not-a-uuid`)).toMatchObject({ status: 404 });
    expect(await api(tenant, 'GET', '/api/v1/nothing')).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    const wrongMethod = await api(tenant, 'DELETE', CURRENCIES);
    expect(wrongMethod).toMatchObject({ status: 405, body: { code: 'METHOD_NOT_ALLOWED' } });
    expect(wrongMethod.headers.get('allow')).toBe('GET, POST');
    expect(await api(undefined, 'GET', CURRENCIES)).toMatchObject({ status: 400, body: { code: 'TENANT_ID_MISSING' } });
  });

  it('asks for a token and a permission on API routes (the tenant is checked first)', async () => {
    const tenant = t(0);
    const anonymous = await fetch(`${base}${CURRENCIES}`, { headers: { 'x-tenant-id': tenant.id } });
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(await api(tenant, 'GET', CURRENCIES, undefined, 'viewer')).toMatchObject({ status: 200 });
    expect(await api(tenant, 'POST', CURRENCIES, { code: 'CHF', name: 'Swiss Franc' }, 'viewer')).toMatchObject({
      status: 403,
      body: { code: 'FORBIDDEN' },
    });
    const unknownTenant = await fetch(`${base}${CURRENCIES}`, { headers: { 'x-tenant-id': '00000000-0000-4000-8000-000000000000' } });
    expect(unknownTenant.status).toBe(404);
  });

  it('keeps 50 tenants hit concurrently apart: nobody sees another tenant’s rows', async () => {
    const others = tenants.slice(1);
    const created = await Promise.all(others.map((tenant, i) => api(tenant, 'POST', CURRENCIES, { code: codeFor(i + 1), name: tenant.slug })));
    expect(created.map((r) => r.status)).toEqual(others.map(() => 201));

    const failures: string[] = [];
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        for (let n = 0; n < 10; n++) {
          const i = 1 + Math.floor(Math.random() * others.length);
          const { status, body } = await api(t(i), 'GET', CURRENCIES);
          const seen = (body.items ?? []).map((c: { code: string; name: string }) => `${c.code}:${c.name}`);
          if (status !== 200 || seen.join() !== `${codeFor(i)}:${t(i).slug}`) failures.push(`${t(i).slug}: ${status} ${seen.join()}`);
        }
      }),
    );
    expect(failures).toEqual([]);
    expect(serverErrors).toEqual([]);
  });

  it('answers 400 VALIDATION_FAILED naming the field for a NUL character anywhere in the request text', async () => {
    const tenant = t(2);
    const before = serverErrors.length;
    const nul = '\u0000';
    const inName = await api(tenant, 'POST', CURRENCIES, { code: 'EUR', name: `Eu${nul}ro` });
    expect(inName).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
    expect(Object.keys(inName.body.fields)).toEqual(['name']);
    const inSymbol = await api(tenant, 'POST', CURRENCIES, { code: 'EUR', name: 'Euro', symbol: `${nul}` });
    expect(Object.keys(inSymbol.body.fields)).toEqual(['symbol']);
    // Nested values and keys are named by their path; every one is reported.
    const nested = await api(tenant, 'POST', CURRENCIES, { code: 'EUR', name: 'Euro', extra: { notes: ['ok', `a${nul}b`] }, [`k${nul}`]: 1 });
    expect(nested.status).toBe(400);
    expect(Object.keys(nested.body.fields).sort()).toEqual(['extra.notes[1]', 'k\\u0000']);

    const inQuery = await api(tenant, 'GET', `${CURRENCIES}?limit=10&search=a%00b`);
    expect(inQuery).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED', fields: { search: expect.any(String) } } });
    const inPath = await api(tenant, 'GET', `${CURRENCIES}/%00`);
    expect(inPath).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED', fields: { id: expect.any(String) } } });

    // A NUL in the tenant header never reaches the API: Node's parser refuses the request.
    const headerStatus = await rawStatus(
      `GET ${CURRENCIES} HTTP/1.1\r\nHost: x\r\nX-Tenant-ID: ${tenant.id}${nul}\r\nConnection: close\r\n\r\n`,
    );
    expect(headerStatus).toBe(400);

    expect((await api(tenant, 'GET', CURRENCIES)).body.items.map((c: { code: string }) => c.code)).not.toContain('EUR');
    expect(serverErrors.slice(before)).toEqual([]);
  });

  it('answers 400, not 500, for text PostgreSQL itself refuses (22021, 22P05)', async () => {
    const nulError = await rt.metaPool.query('SELECT $1::text', ['a\u0000b']).catch((err: unknown) => err);
    const untranslatable = await rt.metaPool.query("SELECT convert_to(chr(8364), 'LATIN1')").catch((err: unknown) => err);
    expect((nulError as { code?: string }).code).toBe('22021');
    expect((untranslatable as { code?: string }).code).toBe('22P05');
    for (const err of [nulError, untranslatable]) {
      expect(errorResponse(err)).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
    }
  });

  it('refuses a suspended tenant on the running server and drains its pool', async () => {
    const tenant = t(10);
    expect((await api(tenant, 'GET', CURRENCIES)).status).toBe(200);
    await suspendTenant(rt.registry, tenant.id, { actor: 'test' });
    await eventually('the suspended tenant is refused', async () => (await api(tenant, 'GET', CURRENCIES)).status === 403);
    expect((await api(tenant, 'GET', CURRENCIES)).body).toMatchObject({ code: 'TENANT_SUSPENDED' });
    await eventually('its pool is gone', () => !services.pools.stats().tenants.some((p) => p.tenantId === tenant.id));
    expect(await env.admin((c) => connectionsTo(c, tenant.dbName))).toBe(0);
  });

  it('survives the meta database dropping every connection (as in a restart) and reconnects its listener', async () => {
    const cached = t(20);
    expect((await api(cached, 'GET', CURRENCIES)).status).toBe(200);
    const listenerPid = services.listener?.backendPid;
    expect(listenerPid).toBeTypeOf('number');
    const terminated = await env.admin(async (c) => {
      const { rowCount } = await c.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [env.metaDatabase],
      );
      return rowCount ?? 0;
    });
    expect(terminated).toBeGreaterThan(0);

    expect((await api(cached, 'GET', CURRENCIES)).status).toBe(200);
    await eventually('readiness recovers', async () => (await api(undefined, 'GET', '/health/ready')).status === 200);
    expect((await api(t(21), 'GET', CURRENCIES)).status).toBe(200);
    await eventually(
      'the listener is back on a new connection',
      () => services.listener?.state === 'listening' && services.listener.backendPid !== listenerPid,
    );

    await suspendTenant(rt.registry, cached.id, { actor: 'test' });
    await eventually(
      'a suspension after the restart still reaches the server',
      async () => (await api(cached, 'GET', CURRENCIES)).status === 403,
    );
  });
});

describe('tenant-server entry point', () => {
  it('starts, serves, and shuts down gracefully on SIGTERM', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'src/reference/server-main.ts')], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env.env, API_TOKEN_KEY: TEST_TOKEN_KEY, PORT: '0', HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await eventually('the server is listening', () => /listening on 127\.0\.0\.1:\d+/.test(stderr), 30_000);
      const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(stderr)?.[1]);
      const ready = await fetch(`http://127.0.0.1:${port}/health/ready`);
      expect(ready.status).toBe(200);
      // The real token service: a user of the tenant logs in.
      const user = await createApiUser(services, t(30), { role: 'viewer' });
      const headers = await headersFor(`http://127.0.0.1:${port}`, t(30), user);
      const list = await fetch(`http://127.0.0.1:${port}${CURRENCIES}`, { headers });
      expect(list.status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${port}${CURRENCIES}`, { headers: { 'x-tenant-id': t(30).id } })).status).toBe(401);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(stderr).toContain('SIGTERM');
      expect(stderr).toContain('stopped');
      expect(stdout).toBe('');
      expect(stderr).not.toContain(rt.connections.tenant.password ?? '<none>');
    } finally {
      child.kill('SIGKILL');
    }
  });
});
