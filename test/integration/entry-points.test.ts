/**
 * The reference server and worker as operators run them: `npm run server` /
 * `npm run worker` stopped by a SIGTERM to npm (what Docker and systemd
 * send), the default pool limits on a real server, and a worker job that
 * is cancelled rather than waited for when it must stop. Needs `npm run build`
 * (the npm scripts run the bins, which run dist/).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantClientConfig } from '../../src/pg/connection-settings.js';
import type { TenantServices } from '../../src/pools/tenant-services.js';
import type { Tenant } from '../../src/tenants/tenant.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { STOCK_BALANCES_JOB, stockBalancesJob } from '../../src/reference/stock-balances-job.js';
import { MultiTenantWorker, type WorkerEvent } from '../../src/worker/worker-runner.js';
import { cliEnv } from '../support/run-cli.js';
import { eventually } from '../support/eventually.js';
import { createTenants, openServices } from '../support/tenant-fixtures.js';
import { REPO_ROOT, createTestEnvironment } from '../support/test-environment.js';
import { parseExposition } from '../support/prom-text.js';
import { createApiUsers, headersFor, TEST_TOKEN_KEY, type ApiUser } from '../support/api-session.js';

const env = createTestEnvironment();
let rt: Runtime;
let tenants: Tenant[];
/** A viewer of t(0), for requests to the spawned server (real token auth). */
let viewer: ApiUser;
const t = (i: number) => tenants[i] as Tenant;

beforeAll(async () => {
  rt = await env.runtime();
  tenants = await createTenants(rt, 2, 'ent');
  [viewer] = (await createApiUsers(rt, [{ tenant: t(0), role: 'viewer' }])) as [ApiUser];
});
afterAll(async () => {
  await env.cleanup();
});

interface Started {
  child: ChildProcess;
  exited: Promise<number | null>;
  stderr(): string;
}

function start(command: string, args: string[], extraEnv: Record<string, string> = {}): Started {
  const child = spawn(command, args, {
    cwd: REPO_ROOT,
    env: cliEnv({ ...env.env, API_TOKEN_KEY: TEST_TOKEN_KEY, HOST: '127.0.0.1', PORT: '0', ...extraEnv }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout?.resume();
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, stderr: () => stderr };
}

/** Alive and not a zombie (an orphan reaped by nobody still answers kill 0). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

async function applicationNames(database: string): Promise<string[]> {
  return env.admin(async (c) => {
    const { rows } = await c.query<{ name: string }>('SELECT DISTINCT application_name AS name FROM pg_stat_activity WHERE datname = $1', [
      database,
    ]);
    return rows.map((r) => r.name);
  });
}

function killIfAlive(pid: number | undefined): void {
  if (pid !== undefined && alive(pid)) process.kill(pid, 'SIGKILL');
}

describe('npm run server', () => {
  it('stops the server when npm gets SIGTERM, frees the port, and starts with defaults that fit (no warning)', async () => {
    const npm = start('npm', ['run', 'server'], {});
    let serverPid: number | undefined;
    try {
      await eventually('the server is listening', () => /listening on 127\.0\.0\.1:\d+ \(pid \d+/.test(npm.stderr()), 60_000);
      const [, port, pid] = /listening on 127\.0\.0\.1:(\d+) \(pid (\d+)/.exec(npm.stderr()) ?? [];
      serverPid = Number(pid);
      expect(serverPid).not.toBe(npm.child.pid);
      const headers = await headersFor(`http://127.0.0.1:${port}`, t(0), viewer);
      const list = await fetch(`http://127.0.0.1:${port}/api/v1/catalogs/currencies`, { headers });
      expect(list.status).toBe(200);
      expect(npm.stderr()).not.toMatch(/warning/i);
      expect(npm.stderr()).toMatch(/budgeted per server/);
      // Observability: a JSON request line, /metrics, and the tenant's slug on the server's connections.
      await eventually('the request is logged', () => npm.stderr().includes('"route":"/api/v1/catalogs/currencies"'));
      const requestLine = npm
        .stderr()
        .split('\n')
        .filter((line) => line.includes('"route":"/api/v1/catalogs/currencies"'))
        .map((line) => JSON.parse(line) as Record<string, unknown>)[0];
      expect(requestLine).toMatchObject({
        level: 'info',
        method: 'GET',
        status: 200,
        tenantId: t(0).id,
        slug: t(0).slug,
        reqId: list.headers.get('x-request-id'),
      });
      const metrics = parseExposition(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
      expect(metrics.value('http_requests_total', { route: '/api/v1/catalogs/currencies', status: '200' })).toBe(1);
      expect(await applicationNames(t(0).dbName)).toContain(`metapus:server:${t(0).slug}`);
      expect(await applicationNames(env.metaDatabase)).toEqual(expect.arrayContaining(['metapus:server:meta', 'metapus:server:listener']));

      npm.child.kill('SIGTERM');
      expect(await npm.exited).toBe(0);
      await eventually('the server process is gone', () => !alive(serverPid as number));
      expect(await portIsFree(Number(port))).toBe(true);
      expect(npm.stderr()).toContain('SIGTERM: no longer accepting connections');
      expect(npm.stderr()).toContain('stopped');
    } finally {
      npm.child.kill('SIGKILL');
      killIfAlive(serverPid);
    }
  });
});

describe('tenant-server pool limits', () => {
  it('keeps explicit limits, without a warning when they exceed max_connections (connections are budgeted per server)', async () => {
    const max = await env.admin(
      async (c) => (await c.query<{ max: number }>("SELECT current_setting('max_connections')::int AS max")).rows[0]?.max,
    );
    const server = start(process.execPath, [path.join(REPO_ROOT, 'bin', 'tenant-server')], {
      TENANT_MAX_POOLS: String(max),
      TENANT_MAX_CONNS_PER_POOL: '2',
    });
    try {
      await eventually('the server is listening', () => /listening on/.test(server.stderr()), 60_000);
      expect(server.stderr()).not.toMatch(/warning/i);
      expect(server.stderr()).toContain(`max ${max} pools of up to 2 connections, budgeted per server)`);
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
    } finally {
      server.child.kill('SIGKILL');
    }
  });
});

describe('npm run worker', () => {
  it('stops the worker when npm gets SIGTERM', async () => {
    const npm = start('npm', ['run', 'worker'], { WORKER_INTERVAL: '1h', WORKER_CONCURRENCY: '2', WORKER_METRICS_PORT: '0' });
    let workerPid: number | undefined;
    try {
      await eventually('the worker is running', () => /worker running \(pid \d+\)/.test(npm.stderr()), 60_000);
      workerPid = Number(/worker running \(pid (\d+)\)/.exec(npm.stderr())?.[1]);
      await eventually('the job ran', () => new RegExp(`${STOCK_BALANCES_JOB} ok on ent-001`).test(npm.stderr()), 30_000);
      // WORKER_METRICS_PORT: /metrics counts the job, /health answers; the worker's connections name the tenant.
      const port = /metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(npm.stderr())?.[1];
      expect(port, npm.stderr()).toBeDefined();
      const metrics = parseExposition(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
      expect(metrics.value('tenant_worker_jobs_succeeded_total', { job: STOCK_BALANCES_JOB })).toBeGreaterThanOrEqual(1);
      expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
      expect(await applicationNames(t(0).dbName)).toContain(`metapus:worker:${t(0).slug}`);
      npm.child.kill('SIGTERM');
      expect(await npm.exited).toBe(0);
      await eventually('the worker process is gone', () => !alive(workerPid as number));
      expect(npm.stderr()).toContain('SIGTERM: finishing running jobs');
      expect(npm.stderr()).toMatch(/"msg":"stopped[^"]*"\}\n$/);
    } finally {
      npm.child.kill('SIGKILL');
      killIfAlive(workerPid);
    }
  });
});

describe('the reference worker job', () => {
  let services: TenantServices;
  afterAll(async () => services?.close({ deadlineMs: 1_000 }));

  it('is cancelled on the server when the worker stops past its deadline, not waited for', async () => {
    services = await openServices(rt, { listen: false });
    const tenant = t(1);
    const events: WorkerEvent[] = [];
    const holder = new pg.Client(tenantClientConfig(tenant, rt.connections.tenant));
    await holder.connect();
    try {
      // Holding the balances table makes the rebuild wait for as long as we like.
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE stock_balances IN ACCESS EXCLUSIVE MODE');
      const worker = new MultiTenantWorker({
        pools: services.pools,
        tenants: { list: async () => [tenant] },
        onEvent: (e) => events.push(e),
      });
      worker.register(stockBalancesJob(60 * 60_000));
      await worker.start();
      // Asked on another connection: inside the holder's transaction pg_stat_activity is one cached snapshot.
      const waiting = () =>
        env.admin(async (c) => {
          const { rows } = await c.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock' AND query LIKE '%rebuild_stock_balances%'",
            [tenant.dbName],
          );
          return rows[0]?.n;
        });
      await eventually('the rebuild waits on the lock', async () => (await waiting()) === 1);

      expect(await worker.stop({ deadlineMs: 50 })).toEqual({ drained: false });
      expect(await waiting()).toBe(0);
      const failed = events.find((e) => e.type === 'job-failed');
      expect(failed).toMatchObject({ job: STOCK_BALANCES_JOB, slug: tenant.slug, error: { code: 'CANCELLED' } });
      expect(worker.stats()).toMatchObject({ state: 'stopped', running: 0 });
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      await holder.end();
    }
  });
});
