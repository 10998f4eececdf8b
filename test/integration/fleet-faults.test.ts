/**
 * The fleet migrator under connection faults, on the real test server behind
 * a loopback fault proxy: a tenant connection cut mid-migration, a tenant
 * server that refuses the first connections, and a meta database that goes
 * away at the end of a run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tenant } from '../../src/core/tenant.js';
import { migrateFleet } from '../../src/migrate/fleet-migrator.js';
import type { FleetMigrateOptions, FleetOutcome } from '../../src/migrate/fleet-types.js';
import { loadMigrationFiles, type MigrationFile } from '../../src/migrate/migration-files.js';
import type { Runtime } from '../../src/runtime.js';
import { appliedInDb, tableExists } from '../support/fleet-fixtures.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { migrationsWith } from '../support/migrations-dir.js';
import { createTenants, eventually } from '../support/tenant-fixtures.js';
import { createTestEnvironment } from '../support/test-environment.js';

const env = createTestEnvironment();
let rt: Runtime;
const proxies: FaultProxy[] = [];
const LATEST = '00006_posting';

beforeAll(async () => {
  rt = await env.runtime();
});
afterAll(async () => {
  await Promise.all(proxies.map((p) => p.close()));
  await env.cleanup();
});

const deps = () => ({ registry: rt.registry, metaPool: rt.metaPool, credentials: rt.connections.tenant });
const fleet = (files: readonly MigrationFile[], options: Omit<FleetMigrateOptions, 'actor'> = {}) =>
  migrateFleet(files, deps(), { actor: 'test', ...options });
const bySlug = (outcome: FleetOutcome) => new Map(outcome.results.map((r) => [r.slug, r]));

async function proxyFor(tenant: Tenant): Promise<FaultProxy> {
  const proxy = await startFaultProxy(tenant.dbHost, tenant.dbPort);
  proxies.push(proxy);
  await rt.metaPool.query('UPDATE tenants SET db_host = $2, db_port = $3 WHERE id = $1', [tenant.id, '127.0.0.1', proxy.port]);
  return proxy;
}

/** Whether a backend of this database is running pg_sleep (the slow migration). */
async function sleepingIn(dbName: string): Promise<boolean> {
  return env.admin(async (c) => {
    const { rowCount } = await c.query("SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND query LIKE '%pg_sleep%' AND state = 'active'", [dbName]);
    return (rowCount ?? 0) > 0;
  });
}

async function terminateBackends(dbName: string): Promise<void> {
  await env.admin((c) => c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [dbName]));
}

describe('a tenant connection cut mid-migration', () => {
  it('fails that tenant as DATABASE_UNAVAILABLE, migrates the others, leaves nothing half-applied', async () => {
    const tenants = await createTenants(rt, 3, 'cut');
    const victim = tenants[1] as Tenant;
    const proxy = await proxyFor(victim);
    // Only the victim's database sleeps, so the cut lands while its migration runs.
    const files = await loadMigrationFiles(
      await migrationsWith({
        '00007_half_done.sql': `-- migrate:up
CREATE TABLE half_done (id int);
SELECT pg_sleep(CASE WHEN current_database() = '${victim.dbName}' THEN 60 ELSE 0 END);
-- migrate:down
DROP TABLE half_done;
`,
      }),
    );
    const running = fleet(files, { target: { slugs: tenants.map((t) => t.slug) }, concurrency: 3 });
    await eventually('the victim runs its migration', () => sleepingIn(victim.dbName), 30_000);
    proxy.cut();
    const outcome = await running;
    // The server notices the lost client only when it next writes; end its sleep for the checks below.
    await terminateBackends(victim.dbName);

    const results = bySlug(outcome);
    expect(outcome.status).toBe('failed');
    expect(results.get(victim.slug)).toMatchObject({
      status: 'failed',
      from: LATEST,
      to: LATEST,
      applied: [],
      error: expect.objectContaining({ code: 'DATABASE_UNAVAILABLE', migration: '00007_half_done' }),
    });
    for (const t of tenants.filter((t) => t !== victim)) expect(results.get(t.slug)).toMatchObject({ status: 'migrated', applied: ['00007_half_done'] });
    expect(await tableExists(victim, rt.connections.tenant, 'half_done')).toBe(false);
    expect((await appliedInDb(victim, rt.connections.tenant)).at(-1)).toBe(LATEST);
    const after = await rt.registry.resolve(victim.id);
    expect(after.schemaVersion).toBe(LATEST);
  });
});
