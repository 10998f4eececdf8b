/**
 * `tenant migrate` (the built CLI) under connection faults: one tenant's
 * connection is cut while its migration runs, another tenant's server
 * refuses the first connection. Loopback fault proxies in front of the test
 * server; the CLI runs as a subprocess, as in a pipeline.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tenant } from '../../src/tenants/tenant.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { appliedInDb, asOwner, tableExists } from '../support/fleet-fixtures.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { migrationsWith } from '../support/migrations-dir.js';
import { startCli, type CliResult } from '../support/run-cli.js';
import { runCli } from '../support/run-cli.js';
import { createTenants, eventually } from '../support/tenant-fixtures.js';
import { createTestEnvironment } from '../support/test-environment.js';

const env = createTestEnvironment();
let rt: Runtime;
const proxies: TcpProxy[] = [];

beforeAll(async () => {
  rt = await env.runtime();
});
afterAll(async () => {
  await Promise.all(proxies.map((p) => p.close()));
  await env.cleanup();
});

async function behindProxy(tenant: Tenant): Promise<TcpProxy> {
  const proxy = await startTcpProxy(tenant.dbHost, tenant.dbPort);
  proxies.push(proxy);
  await rt.metaPool.query('UPDATE tenants SET db_host = $2, db_port = $3 WHERE id = $1', [tenant.id, '127.0.0.1', proxy.port]);
  return proxy;
}

function run(args: string[], cliEnv: Record<string, string>, whileRunning: () => Promise<void>): Promise<CliResult> {
  const child = startCli(args, cliEnv);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  return whileRunning().then(async () => ({ code: await closed, stdout, stderr }));
}

interface TenantJson {
  slug: string;
  status: string;
  applied: string[];
  attempts: number;
  recorded: boolean;
  error: { code: string; message: string; migration?: string; hint?: string } | null;
}

describe('tenant migrate (CLI) under connection faults', () => {
  it('reports a cut connection as DATABASE_UNAVAILABLE, retries a refused one, migrates the rest, exits 1', async () => {
    const [steady, victim, flaky] = (await createTenants(rt, 3, 'fault')) as [Tenant, Tenant, Tenant];
    const victimProxy = await behindProxy(victim);
    const flakyProxy = await behindProxy(flaky);
    flakyProxy.refuseNext(1);
    // Only a database with a cut_me table sleeps: the cut lands while the victim's migration runs.
    await asOwner(rt.connections, victim, (c) => c.query('CREATE TABLE cut_me (id int)'));
    const dir = await migrationsWith({
      '00007_half_done.sql': `-- migrate:up
CREATE TABLE half_done (id int);
SELECT pg_sleep(CASE WHEN to_regclass('public.cut_me') IS NULL THEN 0 ELSE 60 END);
-- migrate:down
DROP TABLE half_done;
`,
    });
    const cliEnv = { ...env.env, TENANT_MIGRATIONS_DIR: dir };

    const result = await run(['migrate', '--json', '--concurrency', '3', '--retries', '2'], cliEnv, async () => {
      await eventually(
        'the victim runs its migration',
        () =>
          env.admin(async (c) => {
            const { rowCount } = await c.query(
              "SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND state = 'active' AND query LIKE '%pg_sleep%'",
              [victim.dbName],
            );
            return (rowCount ?? 0) > 0;
          }),
        30_000,
      );
      victimProxy.cut();
    });
    // The server notices the lost client only when it next writes: end its sleep.
    await env.admin((c) => c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [victim.dbName]));

    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).not.toMatch(/Unhandled|at .*node_modules/);
    const doc = JSON.parse(result.stdout) as { runId: string; status: string; recorded: boolean; results: TenantJson[] };
    const bySlug = new Map(doc.results.map((r) => [r.slug, r]));
    expect(doc).toMatchObject({ status: 'failed', recorded: true });
    expect(bySlug.get(victim.slug)).toMatchObject({
      status: 'failed',
      applied: [],
      attempts: 1,
      recorded: true,
      error: { code: 'DATABASE_UNAVAILABLE', migration: '00007_half_done' },
    });
    expect(bySlug.get(victim.slug)?.error?.hint).toContain('rolled back');
    expect(bySlug.get(flaky.slug)).toMatchObject({ status: 'migrated', applied: ['00007_half_done'], attempts: 2 });
    expect(bySlug.get(steady.slug)).toMatchObject({ status: 'migrated', applied: ['00007_half_done'], attempts: 1 });
    expect(result.stderr).toContain(`${flaky.slug}: cannot connect to the tenant database`);
    expect(result.stderr).toContain('retry 1 of 2');

    // Nothing half-applied; the history agrees with the report.
    expect(await tableExists(victim, rt.connections.tenant, 'half_done')).toBe(false);
    expect((await appliedInDb(victim, rt.connections.tenant)).at(-1)).toBe('00006_posting');
    const history = await runCli(['migrate', 'history', doc.runId, '--json'], cliEnv);
    const shown = JSON.parse(history.stdout) as { counts: Record<string, number>; tenants: { slug: string; status: string }[] };
    expect(shown.counts).toMatchObject({ migrated: 2, failed: 1, pending: 0, unrecorded: 0 });
    expect(shown.tenants.find((t) => t.slug === victim.slug)?.status).toBe('failed');

    // The plain report names the failure and says what to do.
    await asOwner(rt.connections, victim, (c) => c.query('DROP TABLE cut_me'));
    victimProxy.down();
    const text = await runCli(['migrate', '--slug', victim.slug, '--retries', '0'], cliEnv);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(`${victim.slug}: FAILED: cannot connect to the tenant database`);
    expect(text.stdout).toContain(`hint: check that the database server at 127.0.0.1:${victimProxy.port} is up and reachable`);
    victimProxy.up();
    const again = await runCli(['migrate', '--resume', doc.runId, '--json'], cliEnv);
    expect(again.code, again.stderr).toBe(0);
  });
});
