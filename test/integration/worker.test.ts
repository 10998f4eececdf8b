import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { getTenant, getTxManager } from '../../src/context/tenant-context.js';
import { suspendTenant } from '../../src/tenants/tenant-lifecycle.js';
import type { TenantServices } from '../../src/pools/tenant-services.js';
import type { Tenant } from '../../src/tenants/tenant.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { MultiTenantWorker, type JobContext, type WorkerEvent } from '../../src/worker/worker-runner.js';
import { eventually } from '../support/eventually.js';
import { createTenants, openServices, provisionerFor } from '../support/tenant-fixtures.js';
import { REPO_ROOT, createTestEnvironment } from '../support/test-environment.js';

const env = createTestEnvironment();
let rt: Runtime;
let tenants: Tenant[];
let services: TenantServices;
const workers: MultiTenantWorker[] = [];

const t = (i: number) => tenants[i] as Tenant;

beforeAll(async () => {
  rt = await env.runtime();
  tenants = await createTenants(rt, 6, 'wrk');
  services = await openServices(rt, { limits: { maxPools: 3 } });
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop({ deadlineMs: 2_000 })));
});
afterAll(async () => {
  await services?.close({ deadlineMs: 1_000 });
  await env.cleanup();
});

function startWorker(concurrency: number, run: (ctx: JobContext) => Promise<unknown>, intervalMs = 50) {
  const events: WorkerEvent[] = [];
  const worker = new MultiTenantWorker({
    pools: services.pools,
    tenants: rt.registry,
    concurrency,
    refreshIntervalMs: 60_000,
    onEvent: (e) => events.push(e),
  });
  worker.register({ name: 'probe', intervalMs, run });
  const unsubscribe = services.subscribe({
    onStatusChange: (change) => worker.statusChanged(change),
    onResync: () => void worker.refresh(),
  });
  workers.push(worker);
  const stop = worker.stop.bind(worker);
  worker.stop = async (options) => {
    unsubscribe();
    return stop(options);
  };
  return { worker, events };
}

const succeeded = (events: WorkerEvent[], tenantId: string) =>
  events.filter((e) => e.type === 'job-succeeded' && e.tenantId === tenantId).length;

describe('MultiTenantWorker', () => {
  it('runs each job on every active tenant in its scope, never more at once than the concurrency', async () => {
    let running = 0;
    let peak = 0;
    const seen = new Map<string, string>();
    const { worker, events } = startWorker(2, async () => {
      running++;
      peak = Math.max(peak, running);
      try {
        const { rows } = await getTxManager().query<{ db: string }>('SELECT current_database() AS db, pg_sleep(0.01)');
        seen.set(getTenant().id, rows[0]?.db ?? '');
      } finally {
        running--;
      }
    });
    await worker.start();
    await eventually('every tenant ran twice', () => tenants.every((tenant) => succeeded(events, tenant.id) >= 2));
    expect(peak).toBeLessThanOrEqual(2);
    for (const tenant of tenants) expect(seen.get(tenant.id)).toBe(tenant.dbName);
    expect(events.filter((e) => e.type === 'job-failed')).toEqual([]);
  });

  it('survives one tenant failing: that tenant reports job-failed, the others keep running', async () => {
    const bad = t(1);
    const { worker, events } = startWorker(3, async (ctx) => {
      if (ctx.tenant.id === bad.id) await getTxManager().query('SELECT * FROM no_such_table');
    });
    await worker.start();
    await eventually('the others run repeatedly', () => tenants.filter((x) => x.id !== bad.id).every((x) => succeeded(events, x.id) >= 3));
    const failures = events.filter((e) => e.type === 'job-failed' && e.tenantId === bad.id);
    expect(failures.length).toBeGreaterThan(1);
    expect(failures[0]).toMatchObject({ job: 'probe', slug: bad.slug });
    expect(succeeded(events, bad.id)).toBe(0);
  });

  it('notices tenants being added and suspended', async () => {
    const runs: string[] = [];
    const { worker, events } = startWorker(4, async (ctx) => {
      runs.push(ctx.tenant.id);
    });
    await worker.start();
    const added = (await provisionerFor(rt).create({ slug: 'wrk-late', name: 'Late' }, { actor: 'test' })).tenant;
    await eventually('the new tenant gets runs', () => succeeded(events, added.id) >= 1);

    const gone = t(2);
    await suspendTenant(rt.registry, gone.id, { actor: 'test' });
    await eventually('the suspended tenant leaves the list', () => worker.stats().tenants === tenants.length);
    await worker.stop({ deadlineMs: 2_000 }); // nothing of the suspended tenant is still running after this
    const before = runs.filter((id) => id === gone.id).length;

    const { worker: next, events: nextEvents } = startWorker(4, async (ctx) => {
      runs.push(ctx.tenant.id);
    });
    await next.start();
    await eventually('the other tenants run again', () => succeeded(nextEvents, t(0).id) >= 3);
    expect(runs.filter((id) => id === gone.id).length).toBe(before);
    expect(next.stats().tenants).toBe(tenants.length);
  });

  it('stops gracefully: running jobs finish, nothing new starts', async () => {
    let started = 0;
    let finished = 0;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { worker } = startWorker(
      2,
      async () => {
        started++;
        await gate;
        await getTxManager().query('SELECT 1');
        finished++;
      },
      60_000,
    );
    await worker.start();
    await eventually('two jobs are running', () => started === 2);
    const stopping = worker.stop({ deadlineMs: 10_000 });
    release();
    expect(await stopping).toEqual({ drained: true });
    expect(finished).toBe(2);
    expect(started).toBe(2);
    expect(worker.stats()).toMatchObject({ state: 'stopped', queued: 0, running: 0 });
  });
});

describe('worker entry point', () => {
  it('runs the example job on every active tenant and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'src/reference/worker-main.ts')], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env.env, WORKER_INTERVAL: '1h', WORKER_CONCURRENCY: '2' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await eventually('the job ran on a tenant', () => /refresh-stock-balances ok on wrk-000/.test(stderr), 30_000);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(stderr).toContain('stopped');
      expect(stderr).not.toMatch(/FAILED/);
      expect(stderr).not.toContain(rt.connections.tenant.password ?? '<none>');
    } finally {
      child.kill('SIGKILL');
    }
  });
});
