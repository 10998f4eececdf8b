/**
 * Metrics, request logs and connection names against a real PostgreSQL:
 * /metrics parses strictly and its pool/HTTP counters move under a small
 * load; evictions and acquire timeouts are counted; no series carries a
 * tenant id unless opted in; pg_stat_activity names the component and the
 * tenant slug. No timing assertions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import type { Tenant } from '../../src/tenants/tenant.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import type { TenantServices } from '../../src/pools/tenant-services.js';
import { createApp, type RequestInfo } from '../../src/reference/app.js';
import { createMetricsRegistry, metricsHandler } from '../../src/metrics/metrics-handler.js';
import { registerTenantMetrics, type TenantMetrics } from '../../src/metrics/tenant-metrics.js';
import { withTenant } from '../../src/context/tenant-context.js';
import { createMetaPool } from '../../src/runtime/meta-database.js';
import { createTenants, openServices } from '../support/tenant-fixtures.js';
import { createTestEnvironment } from '../support/test-environment.js';
import { startHttpServer, type TestHttpServer } from '../support/http-server.js';
import { parseExposition } from '../support/prom-text.js';
import { runCli } from '../support/run-cli.js';
import { roleHeaders, staticAuth } from '../support/static-auth.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const env = createTestEnvironment();
const CURRENCIES = '/api/v1/catalogs/currencies';
let rt: Runtime;
let tenants: Tenant[];
let services: TenantServices;
let metrics: TenantMetrics;
let server: TestHttpServer | undefined;
const requests: RequestInfo[] = [];

const t = (i: number) => tenants[i] as Tenant;

/** A GET as an admin of the tenant (staticAuth: these tests are about metrics and logs, not login). */
async function get(path: string, tenant?: Tenant, headers: Record<string, string> = {}): Promise<Response> {
  const response = await fetch(`${server?.base}${path}`, { headers: { ...(tenant ? roleHeaders(tenant.id) : {}), ...headers } });
  await response.arrayBuffer();
  return response;
}

async function scrape() {
  const response = await fetch(`${server?.base}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await response.text();
  return { text, metrics: parseExposition(text) };
}

async function applicationNames(database: string): Promise<string[]> {
  return env.admin(async (c) => {
    const { rows } = await c.query<{ name: string }>('SELECT DISTINCT application_name AS name FROM pg_stat_activity WHERE datname = $1', [
      database,
    ]);
    return rows.map((r) => r.name).sort();
  });
}

beforeAll(async () => {
  rt = await env.runtime();
  tenants = await createTenants(rt, 4, 'obs');
  services = await openServices(rt, {
    component: 'server',
    limits: { maxPools: 2, maxConnsPerPool: 2, acquireTimeoutMs: 300, idleTimeoutMs: 600_000 },
  });
  const registry = createMetricsRegistry();
  metrics = registerTenantMetrics(registry, services);
  const app = createApp({
    auth: staticAuth(),
    pools: services.pools,
    metaPool: rt.metaPool,
    listener: services.listener,
    cache: services.cache,
    metrics: metricsHandler(registry),
    onRequest(info) {
      requests.push(info);
      metrics.observeRequest({ ...info, durationSeconds: info.durationMs / 1000 });
    },
  });
  server = await startHttpServer(app);
});
afterAll(async () => {
  await server?.stop();
  metrics?.close();
  await services?.close({ deadlineMs: 1_000 });
  await env.cleanup();
});

describe('metrics', () => {
  it('serves /metrics in a text format that parses strictly, with the process metrics', async () => {
    const { metrics: m } = await scrape();
    expect(m.types.get('process_cpu_user_seconds_total')).toBe('counter');
    expect(m.types.get('tenant_pool_acquire_wait_seconds')).toBe('histogram');
    expect(m.types.get('http_requests_total')).toBe('counter');
    expect(m.value('tenant_status_listener_connected')).toBe(1);
    expect(m.value('tenant_pools_max')).toBe(2);
  });

  it('counts requests by route template and status, lease waits and connections under a small load', async () => {
    const before = (await scrape()).metrics;
    const okBefore = before.value('http_requests_total', { route: CURRENCIES, status: '200' });
    const waitsBefore = before.value('tenant_pool_acquire_wait_seconds_count');
    for (let round = 0; round < 5; round++) {
      const responses = await Promise.all([0, 1, 0, 1].map((i) => get(CURRENCIES, t(i))));
      expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    }
    expect((await get(`${CURRENCIES}/00000000-0000-4000-8000-000000000000`, t(0))).status).toBe(404);
    expect((await get(CURRENCIES)).status).toBe(400);
    expect((await get('/no/such/path')).status).toBe(404);

    const after = (await scrape()).metrics;
    expect(after.value('http_requests_total', { route: CURRENCIES, status: '200', method: 'GET' }) - okBefore).toBe(20);
    expect(after.value('http_requests_total', { route: `${CURRENCIES}/:id`, status: '404' })).toBeGreaterThanOrEqual(1);
    expect(after.value('http_requests_total', { route: 'unmatched', status: '404' })).toBeGreaterThanOrEqual(1);
    expect(after.value('tenant_http_errors_total', { code: 'TENANT_ID_MISSING' })).toBeGreaterThanOrEqual(1);
    expect(after.value('tenant_http_errors_total', { code: 'NOT_FOUND' })).toBeGreaterThanOrEqual(2);
    expect(after.value('http_request_duration_seconds_count', { route: CURRENCIES, status: '200' }) - okBefore).toBe(20);
    expect(after.value('tenant_pool_acquire_wait_seconds_count') - waitsBefore).toBeGreaterThanOrEqual(21);
    expect(after.value('tenant_pools', { state: 'open' })).toBe(2);
    const connections = after.find('tenant_pool_connections');
    expect(connections.length).toBeGreaterThan(0);
    expect(connections.every((s) => s.labels.server !== undefined && ['idle', 'used'].includes(s.labels.state!))).toBe(true);
    expect(after.value('tenant_pool_connections')).toBeGreaterThan(0);
    expect(after.value('tenant_cache_hits_total')).toBeGreaterThan(0);
    expect(after.value('tenant_cache_misses_total')).toBeGreaterThan(0);
    expect(after.value('tenant_cache_meta_lookups_total')).toBeGreaterThan(0);
  });

  it('counts a least-recently-used eviction when a third tenant needs a pool', async () => {
    const before = (await scrape()).metrics.value('tenant_pool_evictions_total', { reason: 'lru' });
    expect((await get(CURRENCIES, t(2))).status).toBe(200);
    const after = (await scrape()).metrics;
    expect(after.value('tenant_pool_evictions_total', { reason: 'lru' }) - before).toBeGreaterThanOrEqual(1);
  });

  it('counts an acquire timeout when every pool is leased', async () => {
    const before = (await scrape()).metrics.value('tenant_pool_acquire_timeouts_total');
    const held = await Promise.all([services.pools.acquire(t(0).id), services.pools.acquire(t(1).id)]);
    try {
      await expect(services.pools.acquire(t(3).id)).rejects.toMatchObject({ code: 'POOL_EXHAUSTED' });
    } finally {
      for (const lease of held) lease.release();
    }
    const after = (await scrape()).metrics;
    expect(after.value('tenant_pool_acquire_timeouts_total') - before).toBe(1);
  });

  it('carries no tenant id on any series by default; TENANT_METRICS_PER_TENANT opts in', async () => {
    const { text, metrics: m } = await scrape();
    expect(m.samples.some((s) => 'tenant_id' in s.labels)).toBe(false);
    for (const tenant of tenants) {
      expect(text).not.toContain(tenant.id);
      expect(text).not.toContain(tenant.slug);
    }

    const registry = new Registry();
    const perTenant = registerTenantMetrics(registry, services, { perTenant: true });
    try {
      perTenant.observeRequest({ method: 'GET', route: CURRENCIES, status: 200, durationSeconds: 0.01, tenantId: t(0).id });
      const held = await Promise.all([services.pools.acquire(t(0).id), services.pools.acquire(t(1).id)]);
      await services.pools.acquire(t(2).id).then(
        (lease) => lease.release(),
        () => undefined,
      );
      for (const lease of held) lease.release();
      const opted = parseExposition(await registry.metrics());
      expect(opted.value('http_requests_total', { tenant_id: t(0).id })).toBe(1);
      expect(opted.find('tenant_pool_acquire_timeouts_total').every((s) => s.labels.tenant_id === t(2).id)).toBe(true);
      expect(opted.value('tenant_pool_acquire_timeouts_total')).toBe(1);
    } finally {
      perTenant.close();
    }
  });
});

describe('request logs', () => {
  it('reports each request with an id (the client’s if valid), route template, status, tenant and error code', async () => {
    requests.length = 0;
    const echoed = await get(CURRENCIES, t(0), { 'x-request-id': 'deploy-42.abc' });
    expect(echoed.headers.get('x-request-id')).toBe('deploy-42.abc');
    const fresh = await get(CURRENCIES, t(0), { 'x-request-id': 'not valid: spaces and "quotes"' });
    expect(fresh.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    await get(CURRENCIES, undefined);
    expect(requests[0]).toMatchObject({
      requestId: 'deploy-42.abc',
      method: 'GET',
      route: CURRENCIES,
      status: 200,
      tenantId: t(0).id,
      slug: t(0).slug,
    });
    expect(requests[1]?.requestId).toBe(fresh.headers.get('x-request-id'));
    expect(requests[2]).toMatchObject({ status: 400, errorCode: 'TENANT_ID_MISSING', tenantId: undefined, slug: undefined, aborted: false });
  });
});

describe('application_name', () => {
  it('names the component and the tenant slug on tenant connections, and the listener', async () => {
    expect((await get(CURRENCIES, t(0))).status).toBe(200);
    expect(await applicationNames(t(0).dbName)).toContain(`metapus:server:${t(0).slug}`);
    expect(await applicationNames(env.metaDatabase)).toContain('metapus:server:listener');
  });

  it('names worker connections and the meta pool by their component', async () => {
    const worker = await openServices(rt, { component: 'worker', listen: false });
    const meta = createMetaPool(rt.connections.metaUrl, 1, 'worker');
    try {
      const names = await withTenant(worker.pools, t(1).id, async (scope) => {
        const { rows } = await scope.tx.query<{ name: string }>('SELECT current_setting($1) AS name', ['application_name']);
        return rows[0]?.name;
      });
      expect(names).toBe(`metapus:worker:${t(1).slug}`);
      const { rows } = await meta.query<{ name: string }>("SELECT current_setting('application_name') AS name");
      expect(rows[0]?.name).toBe('metapus:worker:meta');
    } finally {
      await meta.end();
      await worker.close({ deadlineMs: 1_000 });
    }
  });
});

describe('tenant migrate --metrics-file', () => {
  it('writes the run’s metrics for the textfile collector; a dry run writes none', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'migrate-metrics-'));
    const file = path.join(dir, 'tenant_migrate.prom');
    try {
      const dry = await runCli(['migrate', '--slug', t(0).slug, '--dry-run', '--metrics-file', file, '--json'], env.env);
      expect(dry.code, dry.stderr).toBe(0);
      expect(fs.existsSync(file)).toBe(false);
      expect(dry.stderr).toContain('a dry run writes no metrics');

      const run = await runCli(['migrate', '--slug', t(0).slug, '--slug', t(1).slug, '--metrics-file', file, '--json'], env.env);
      expect(run.code, run.stderr).toBe(0);
      const m = parseExposition(fs.readFileSync(file, 'utf8'));
      expect(m.value('tenant_migrate_tenants', { direction: 'up' })).toBe(2);
      expect(m.value('tenant_migrate_tenants', { status: 'failed' })).toBe(0);
      expect(m.value('tenant_migrate_run_status', { status: 'succeeded' })).toBe(1);
      expect(m.value('tenant_migrate_last_success_timestamp_seconds')).toBeGreaterThan(0);
      expect(fs.readdirSync(dir)).toEqual(['tenant_migrate.prom']);

      const unwritable = await runCli(['migrate', '--slug', t(0).slug, '--metrics-file', path.join(dir, 'no', 'such.prom')], env.env);
      expect(unwritable.code).toBe(1);
      expect(unwritable.stderr).toMatch(/cannot write the metrics file/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
