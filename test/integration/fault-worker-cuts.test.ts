/**
 * The multi-tenant worker while tenant A's sockets are cut (TCP reset) in
 * the middle of its jobs: A's runs fail as DATABASE_UNAVAILABLE and succeed
 * again on their own, B's runs never fail, and nothing escapes as an
 * unhandled pg 'error' (which would fail this file and, in production, end
 * the worker process).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PoolEvent } from '../../src/pools/pool-manager.js';
import type { TenantServices } from '../../src/pools/tenant-services.js';
import type { Tenant } from '../../src/tenants/tenant.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { MultiTenantWorker, type WorkerEvent } from '../../src/worker/worker-runner.js';
import { routeTenantThrough } from '../support/fault-fixtures.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { eventually } from '../support/eventually.js';
import { createTenants, openServices } from '../support/tenant-fixtures.js';
import { createTestEnvironment } from '../support/test-environment.js';

const env = createTestEnvironment();
let rt: Runtime;
let a: Tenant;
let b: Tenant;
let proxy: TcpProxy;
let services: TenantServices;
let worker: MultiTenantWorker | undefined;
const clientErrors: PoolEvent[] = [];

beforeAll(async () => {
  rt = await env.runtime();
  [a, b] = (await createTenants(rt, 2, 'wcut')) as [Tenant, Tenant];
  proxy = await startTcpProxy(rt.connections.tenant.host, rt.connections.tenant.port);
  a = await routeTenantThrough(rt, a, proxy.port);
  services = await openServices(rt, { onPoolEvent: (e) => e.type === 'client-error' && clientErrors.push(e) });
});
afterAll(async () => {
  await worker?.stop({ deadlineMs: 2_000 });
  await services?.close({ deadlineMs: 1_000 });
  await proxy?.close();
  await env.cleanup();
});

const count = (events: WorkerEvent[], type: WorkerEvent['type'], tenantId: string) =>
  events.filter((e) => e.type === type && 'tenantId' in e && e.tenantId === tenantId).length;

describe('worker under socket cuts', () => {
  it("fails only the cut tenant's runs, as DATABASE_UNAVAILABLE, and recovers by itself", async () => {
    const events: WorkerEvent[] = [];
    // When armed, A's next job stops mid-transaction (its connection checked out) until the test has cut it.
    let armed: { reached: () => void; proceed: Promise<void> } | undefined;
    worker = new MultiTenantWorker({ pools: services.pools, tenants: rt.registry, concurrency: 4, onEvent: (e) => events.push(e) });
    worker.register({
      name: 'transaction',
      intervalMs: 20,
      run: (ctx) =>
        ctx.tx.run(async (client) => {
          await client.query('SELECT 1');
          const gate = ctx.tenant.id === a.id ? armed : undefined;
          if (gate) {
            armed = undefined;
            gate.reached();
            await gate.proceed;
          }
          await client.query('SELECT pg_sleep(0.01)');
        }),
    });
    await worker.start();
    await eventually('both tenants ran a job', () => count(events, 'job-succeeded', a.id) > 0 && count(events, 'job-succeeded', b.id) > 0);

    for (let cut = 1; cut <= 5; cut++) {
      const failedBefore = count(events, 'job-failed', a.id);
      let proceed!: () => void;
      const reached = new Promise<void>((resolve) => {
        armed = { reached: resolve, proceed: new Promise<void>((go) => (proceed = go)) };
      });
      await reached;
      const errorsBefore = clientErrors.length;
      expect(proxy.cut()).toBeGreaterThan(0);
      // pg reports the reset as an 'error' event while the job holds the connection between two statements.
      await eventually(`cut ${cut}: the reset reached the worker`, () => clientErrors.length > errorsBefore);
      proceed();
      await eventually(`cut ${cut}: A's job failed`, () => count(events, 'job-failed', a.id) > failedBefore);
      const succeededAfter = count(events, 'job-succeeded', a.id);
      await eventually(`cut ${cut}: A's jobs succeed again`, () => count(events, 'job-succeeded', a.id) > succeededAfter);
    }
    await worker.stop({ deadlineMs: 2_000 });

    const failures = events.filter((e): e is Extract<WorkerEvent, { type: 'job-failed' }> => e.type === 'job-failed');
    expect(failures.length).toBeGreaterThanOrEqual(5);
    expect(new Set(failures.map((f) => f.tenantId))).toEqual(new Set([a.id]));
    expect(new Set(failures.map((f) => f.error.code))).toEqual(new Set(['DATABASE_UNAVAILABLE']));
    expect(count(events, 'job-succeeded', b.id)).toBeGreaterThan(0);
  });
});
