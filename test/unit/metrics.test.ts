/** The pure parts of the metrics: label rules, worker and fleet metrics, the textfile write, the push, the listener. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { evictionReason } from '../../src/metrics/pool-metrics.js';
import { registerHttpMetrics } from '../../src/metrics/http-metrics.js';
import { registerWorkerMetrics } from '../../src/metrics/worker-metrics.js';
import { fleetRunMetrics, pushMetrics, writeMetricsFile } from '../../src/metrics/fleet-metrics.js';
import { startMetricsServer } from '../../src/metrics/metrics-server.js';
import { createMetricsRegistry } from '../../src/metrics/metrics-handler.js';
import { TenantToolkitError } from '../../src/errors.js';
import type { FleetOutcome } from '../../src/migrate/fleet-types.js';
import type { FleetTenantResult } from '../../src/migrate/fleet-result.js';
import { parseExposition } from '../support/prom-text.js';

const TENANT = '6f1c1f0e-8d2a-4a59-9f3e-2b1f0c9d8e7a';

describe('eviction reasons', () => {
  it('maps why a pool closed onto idle, lru, status and health; shutdown is no eviction', () => {
    expect(evictionReason('idle')).toBe('idle');
    expect(evictionReason('evicted')).toBe('lru');
    for (const r of ['status', 'replaced', 'credentials'] as const) expect(evictionReason(r)).toBe('status');
    expect(evictionReason('unhealthy')).toBe('health');
    expect(evictionReason('shutdown')).toBeUndefined();
  });
});

describe('HTTP metrics', () => {
  it('labels method, route template and status; odd methods share one series; no tenant id by default', async () => {
    const registry = new Registry();
    const observe = registerHttpMetrics(registry, false);
    observe({ method: 'GET', route: '/x/:id', status: 200, durationSeconds: 0.002, tenantId: TENANT });
    observe({ method: 'BREW', route: 'unmatched', status: 404, durationSeconds: 0.001, errorCode: 'NOT_FOUND' });
    const text = await registry.metrics();
    const m = parseExposition(text);
    expect(m.value('http_requests_total', { method: 'GET', route: '/x/:id', status: '200' })).toBe(1);
    expect(m.value('http_requests_total', { method: 'OTHER', route: 'unmatched', status: '404' })).toBe(1);
    expect(m.value('tenant_http_errors_total', { code: 'NOT_FOUND' })).toBe(1);
    expect(m.value('http_request_duration_seconds_count')).toBe(2);
    expect(text).not.toContain(TENANT);
  });

  it('adds tenant_id to the counters only when opted in (never to the histogram)', async () => {
    const registry = new Registry();
    registerHttpMetrics(
      registry,
      true,
    )({ method: 'GET', route: '/x', status: 503, durationSeconds: 1, errorCode: 'POOL_EXHAUSTED', tenantId: TENANT });
    const m = parseExposition(await registry.metrics());
    expect(m.value('http_requests_total', { tenant_id: TENANT })).toBe(1);
    expect(m.value('tenant_http_errors_total', { tenant_id: TENANT, code: 'POOL_EXHAUSTED' })).toBe(1);
    expect(m.find('http_request_duration_seconds_count').every((s) => !('tenant_id' in s.labels))).toBe(true);
  });
});

describe('worker metrics', () => {
  it('counts started, succeeded, failed and skipped runs by job, and their durations by outcome', async () => {
    const registry = new Registry();
    const observe = registerWorkerMetrics(registry, false);
    const base = { job: 'refresh', tenantId: TENANT, slug: 'acme' };
    observe({ type: 'job-started', ...base });
    observe({ type: 'job-succeeded', ...base, durationMs: 1500 });
    observe({ type: 'job-started', ...base });
    observe({ type: 'job-failed', ...base, durationMs: 20, error: new TenantToolkitError('INTERNAL', 'boom') });
    observe({ type: 'job-skipped', ...base, reason: 'still running' });
    observe({ type: 'tenants-changed', added: ['acme'], removed: [], total: 1 });
    const text = await registry.metrics();
    const m = parseExposition(text);
    expect(m.value('tenant_worker_jobs_started_total', { job: 'refresh' })).toBe(2);
    expect(m.value('tenant_worker_jobs_succeeded_total', { job: 'refresh' })).toBe(1);
    expect(m.value('tenant_worker_jobs_failed_total', { job: 'refresh' })).toBe(1);
    expect(m.value('tenant_worker_jobs_skipped_total', { job: 'refresh' })).toBe(1);
    expect(m.value('tenant_worker_job_duration_seconds_sum', { outcome: 'succeeded' })).toBe(1.5);
    expect(text).not.toContain(TENANT);
  });
});

function outcome(overrides: Partial<FleetOutcome> = {}): FleetOutcome {
  const result = { applied: ['00002_a', '00003_b'], reverted: [] } as unknown as FleetTenantResult;
  return {
    runId: 'r1',
    runnerId: 'n1',
    joined: false,
    resumedFrom: null,
    direction: 'up',
    dryRun: false,
    targetVersion: '00003_b',
    latestVersion: '00003_b',
    status: 'succeeded',
    stopReason: null,
    results: [result, result],
    counts: { migrated: 2, reverted: 0, 'up-to-date': 5, pending: 0, failed: 0, skipped: 1 },
    recorded: true,
    unrecorded: [],
    durationMs: 2500,
    ...overrides,
  };
}

describe('fleet run metrics', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('describes the run: tenants by result, migrations applied, status, duration, timestamps', async () => {
    const at = new Date('2026-11-27T06:00:00Z');
    const m = parseExposition(await fleetRunMetrics(outcome(), at));
    expect(m.value('tenant_migrate_tenants', { status: 'migrated', direction: 'up' })).toBe(2);
    expect(m.value('tenant_migrate_tenants', { status: 'up-to-date' })).toBe(5);
    expect(m.value('tenant_migrate_tenants', { status: 'failed' })).toBe(0);
    expect(m.value('tenant_migrate_migrations')).toBe(4);
    expect(m.value('tenant_migrate_run_status', { status: 'succeeded' })).toBe(1);
    expect(m.value('tenant_migrate_run_status', { status: 'failed' })).toBe(0);
    expect(m.value('tenant_migrate_run_duration_seconds')).toBe(2.5);
    expect(m.value('tenant_migrate_last_success_timestamp_seconds')).toBe(at.getTime() / 1000);
    const failed = parseExposition(await fleetRunMetrics(outcome({ status: 'failed' }), at));
    expect(failed.find('tenant_migrate_last_success_timestamp_seconds')).toEqual([]);
    expect(failed.value('tenant_migrate_run_timestamp_seconds')).toBe(at.getTime() / 1000);
  });

  it('writes the file atomically (aside, then renamed) and leaves nothing behind', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'metrics-'));
    dirs.push(dir);
    const file = path.join(dir, 'tenant_migrate.prom');
    fs.writeFileSync(file, 'old\n');
    await writeMetricsFile(file, 'new 1\n');
    expect(fs.readFileSync(file, 'utf8')).toBe('new 1\n');
    expect(fs.readdirSync(dir)).toEqual(['tenant_migrate.prom']);
    await expect(writeMetricsFile(path.join(dir, 'missing', 'x.prom'), 'x 1\n')).rejects.toThrow(/cannot write the metrics file/);
    expect(fs.readdirSync(dir)).toEqual(['tenant_migrate.prom']);
  });

  it('PUTs to the Pushgateway under job/<job>, and reports a refusal without the URL’s password', async () => {
    const calls: { url: string; method: string | undefined; body: unknown }[] = [];
    const fake = (async (url: string, init?: RequestInit) => {
      calls.push({ url, method: init?.method, body: init?.body });
      return new Response('', { status: calls.length === 1 ? 200 : 500, statusText: 'nope' });
    }) as unknown as typeof fetch;
    await pushMetrics('http://gw:9091/', 'tenant_migrate', 'x 1\n', fake);
    expect(calls[0]).toEqual({ url: 'http://gw:9091/metrics/job/tenant_migrate', method: 'PUT', body: 'x 1\n' });
    const refused = pushMetrics('http://user:hunter2@gw:9091', 'tenant_migrate', 'x 1\n', fake);
    await expect(refused).rejects.toThrow(/answered 500/);
    await expect(refused).rejects.not.toThrow(/hunter2/);
  });
});

describe('metrics listener', () => {
  it('serves /metrics and /health on loopback; /health follows healthy()', async () => {
    let healthy = true;
    const server = await startMetricsServer({ registry: createMetricsRegistry(), port: 0, healthy: () => healthy });
    try {
      expect(server.host).toBe('127.0.0.1');
      const base = `http://127.0.0.1:${server.port}`;
      const metrics = await fetch(`${base}/metrics`);
      expect(metrics.status).toBe(200);
      expect(parseExposition(await metrics.text()).types.get('process_cpu_user_seconds_total')).toBe('counter');
      expect((await fetch(`${base}/health`)).status).toBe(200);
      healthy = false;
      expect((await fetch(`${base}/health`)).status).toBe(503);
      expect((await fetch(`${base}/other`)).status).toBe(404);
      expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
    } finally {
      await server.close();
    }
  });
});
