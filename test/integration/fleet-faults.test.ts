/**
 * The fleet migrator under connection faults, on the real test server behind
 * a loopback fault proxy: a tenant connection cut mid-migration, a tenant
 * server that refuses the first connections, and a meta database that goes
 * away at the end of a run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleetJson } from '../../src/cli/migrate-view.js';
import { createMetaPool } from '../../src/runtime/meta-database.js';
import type { Tenant } from '../../src/tenants/tenant.js';
import { migrateDatabase } from '../../src/schema/database-migrator.js';
import { migrateFleet } from '../../src/migrate/fleet-migrator.js';
import type { FleetEvent, FleetMigrateDeps, FleetMigrateOptions, FleetOutcome } from '../../src/migrate/fleet-types.js';
import { loadMigrationFiles, type MigrationFile } from '../../src/schema/migration-files.js';
import { MigrationRuns } from '../../src/migrate/migration-runs.js';
import type { FleetTenantResult } from '../../src/migrate/fleet-result.js';
import { TENANT_STORAGE_TABLE } from '../../src/migrate/tenant-migrator.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { appliedInDb, asOwner, ownerClient, tableExists } from '../support/fleet-fixtures.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { migrationsWith } from '../support/migrations-dir.js';
import { createTenants, eventually } from '../support/tenant-fixtures.js';
import { createTestEnvironment } from '../support/test-environment.js';

const env = createTestEnvironment();
let rt: Runtime;
const proxies: TcpProxy[] = [];
const LATEST = '00006_posting';

beforeAll(async () => {
  rt = await env.runtime();
});
afterAll(async () => {
  await Promise.all(proxies.map((p) => p.close()));
  await env.cleanup();
});

const deps = (): FleetMigrateDeps => ({
  registry: rt.registry,
  metaPool: rt.metaPool,
  credentials: rt.connections.tenant,
  adminUrl: rt.connections.adminUrl,
});
const fleet = (files: readonly MigrationFile[], options: Omit<FleetMigrateOptions, 'actor'> = {}, using = deps()) =>
  migrateFleet(files, using, { actor: 'test', ...options });
const PRICE_LISTS = `-- migrate:up
CREATE TABLE price_lists (id int);
-- migrate:down
DROP TABLE price_lists;
`;
const withPriceLists = async () => loadMigrationFiles(await migrationsWith({ '00007_price_lists.sql': PRICE_LISTS }));
const bySlug = (outcome: FleetOutcome) => new Map(outcome.results.map((r) => [r.slug, r]));

async function proxyFor(tenant: Tenant): Promise<TcpProxy> {
  const proxy = await startTcpProxy(tenant.dbHost, tenant.dbPort);
  proxies.push(proxy);
  await rt.metaPool.query('UPDATE tenants SET db_host = $2, db_port = $3 WHERE id = $1', [tenant.id, '127.0.0.1', proxy.port]);
  return proxy;
}

/** Whether a backend of this database is running pg_sleep (the slow migration). */
async function sleepingIn(dbName: string): Promise<boolean> {
  return env.admin(async (c) => {
    const { rowCount } = await c.query("SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND query LIKE '%pg_sleep%' AND state = 'active'", [
      dbName,
    ]);
    return (rowCount ?? 0) > 0;
  });
}

async function terminateBackends(dbName: string): Promise<void> {
  await env.admin((c) =>
    c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [dbName]),
  );
}

describe('a tenant connection cut mid-migration', () => {
  it('fails that tenant as DATABASE_UNAVAILABLE, migrates the others, leaves nothing half-applied', async () => {
    const tenants = await createTenants(rt, 3, 'cut');
    const victim = tenants[1] as Tenant;
    const proxy = await proxyFor(victim);
    // Only a database with a cut_me table sleeps, so the cut lands while the victim's migration runs.
    await asOwner(rt.connections, victim, (c) => c.query('CREATE TABLE cut_me (id int)'));
    const files = await loadMigrationFiles(
      await migrationsWith({
        '00007_half_done.sql': `-- migrate:up
CREATE TABLE half_done (id int);
SELECT pg_sleep(CASE WHEN to_regclass('public.cut_me') IS NULL THEN 0 ELSE 60 END);
-- migrate:down
DROP TABLE half_done;
`,
      }),
    );
    // Retries are on (the default): a migration that had begun must still not be repeated.
    const running = fleet(files, { target: { slugs: tenants.map((t) => t.slug) }, concurrency: 3, retryDelayMs: 10 });
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
      attempts: 1,
      error: expect.objectContaining({ code: 'DATABASE_UNAVAILABLE', migration: '00007_half_done' }),
    });
    expect(results.get(victim.slug)?.error?.message).toContain('while migration 00007_half_done ran');
    expect(results.get(victim.slug)?.error?.hint).toContain('rolled back');
    for (const t of tenants.filter((t) => t !== victim))
      expect(results.get(t.slug)).toMatchObject({ status: 'migrated', applied: ['00007_half_done'] });
    expect(await tableExists(victim, rt.connections.tenant, 'half_done')).toBe(false);
    expect((await appliedInDb(victim, rt.connections.tenant)).at(-1)).toBe(LATEST);
    const after = await rt.registry.resolve(victim.id);
    expect(after.schemaVersion).toBe(LATEST);
    const run = await new MigrationRuns(rt.metaPool).get(outcome.runId as string);
    expect(run.tenants.find((t) => t.tenantId === victim.id)).toMatchObject({ status: 'failed', to: LATEST, applied: [] });
    expect(run.counts).toMatchObject({ migrated: 2, failed: 1, pending: 0 });

    // The server is fine again: the next run completes the victim.
    await asOwner(rt.connections, victim, (c) => c.query('DROP TABLE cut_me'));
    const again = await fleet(files, { target: { slugs: [victim.slug] }, retryDelayMs: 10 });
    expect(again.results[0]).toMatchObject({ status: 'migrated', applied: ['00007_half_done'] });
  });

  it('keeps a pinned connection whose socket dies between queries from crashing the process', async () => {
    const [tenant] = (await createTenants(rt, 1, 'idle-cut')) as [Tenant];
    const proxy = await startTcpProxy(tenant.dbHost, tenant.dbPort);
    proxies.push(proxy);
    // A caller's own client, with no 'error' listener of its own.
    const client = await ownerClient(rt.connections, tenant, { host: '127.0.0.1', port: proxy.port });
    try {
      const outcome = await migrateDatabase(client, await withPriceLists(), {
        storageTable: TENANT_STORAGE_TABLE,
        // The connection is idle here (the lock held, the migration committed): pg reports the cut as an 'error' event.
        afterRun: async () => {
          const ended = new Promise((resolve) => client.once('end', resolve));
          proxy.cut();
          await ended;
        },
      });
      expect(outcome.error?.message).toBeUndefined();
      expect(outcome).toMatchObject({
        status: 'migrated',
        to: '00007_price_lists',
        steps: [expect.objectContaining({ name: '00007_price_lists' })],
      });
    } finally {
      await client.end().catch(() => undefined);
    }
    expect(await tableExists(tenant, rt.connections.tenant, 'price_lists')).toBe(true);
  });
});

describe('a tenant whose first connections fail', () => {
  it('is tried again with backoff and migrates; with no retries it fails as DATABASE_UNAVAILABLE, status untouched', async () => {
    const tenants = await createTenants(rt, 2, 'flaky');
    const [flaky, steady] = tenants as [Tenant, Tenant];
    const proxy = await proxyFor(flaky);
    const files = await withPriceLists();

    proxy.refuseNext(1);
    const strict = await fleet(files, { target: { slugs: [flaky.slug] }, retries: 0 });
    expect(strict.results[0]).toMatchObject({
      status: 'failed',
      attempts: 1,
      applied: [],
      error: expect.objectContaining({ code: 'DATABASE_UNAVAILABLE' }),
    });
    expect(strict.results[0]?.error?.hint).toContain(`127.0.0.1:${proxy.port}`);
    expect((await rt.registry.resolve(flaky.id)).status).toBe('active');

    // A server that comes back after two refused connections: the third try gets through.
    proxy.refuseNext(2);
    const retries: FleetEvent[] = [];
    const outcome = await fleet(files, {
      target: { slugs: [flaky.slug, steady.slug] },
      retries: 3,
      retryDelayMs: 20,
      onEvent: (event) => {
        if (event.type === 'tenant-retry') retries.push(event);
      },
    });
    expect(outcome.status).toBe('succeeded');
    expect(bySlug(outcome).get(flaky.slug)).toMatchObject({ status: 'migrated', attempts: 3, applied: ['00007_price_lists'] });
    expect(bySlug(outcome).get(steady.slug)).toMatchObject({ status: 'migrated', attempts: 1 });
    expect(retries.map((e) => (e.type === 'tenant-retry' ? [e.tenant.slug, e.attempt, e.error.code] : []))).toEqual([
      [flaky.slug, 1, 'DATABASE_UNAVAILABLE'],
      [flaky.slug, 2, 'DATABASE_UNAVAILABLE'],
    ]);
    expect(await tableExists(flaky, rt.connections.tenant, 'price_lists')).toBe(true);

    // Bounded: a server that stays away fails the tenant after 1 + retries tries.
    const gone = await createTenants(rt, 1, 'gone');
    const goneProxy = await proxyFor(gone[0] as Tenant);
    goneProxy.down();
    const failed = await fleet(files, { target: { slugs: [(gone[0] as Tenant).slug] }, retries: 2, retryDelayMs: 10 });
    expect(failed.results[0]).toMatchObject({ status: 'failed', attempts: 3, error: expect.objectContaining({ code: 'DATABASE_UNAVAILABLE' }) });
  });
});

describe('the meta database lost during a run', () => {
  /** Fleet deps whose run history goes through a proxy (tenant bookkeeping stays direct). */
  async function proxiedRuns(): Promise<{ proxy: TcpProxy; using: FleetMigrateDeps; close: () => Promise<void> }> {
    const server = new URL(env.adminUrl);
    const proxy = await startTcpProxy(server.hostname, Number(server.port));
    proxies.push(proxy);
    const url = new URL(rt.connections.metaUrl);
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    const pool = createMetaPool(url.toString());
    return { proxy, using: { ...deps(), metaPool: pool }, close: () => pool.end() };
  }

  it('keeps an outcome it cannot write, retries its claims, and writes everything when it comes back', async () => {
    const tenants = await createTenants(rt, 3, 'meta-back');
    const { proxy, using, close } = await proxiedRuns();
    const warnings: string[] = [];
    try {
      let cut = false;
      const outcome = await fleet(
        await withPriceLists(),
        {
          target: { slugs: tenants.map((t) => t.slug) },
          concurrency: 1,
          onEvent: (event) => {
            // Down while the first tenant migrates (its outcome cannot be written, nor the next claim); back at the first retry.
            if (event.type === 'tenant-started' && !cut) {
              cut = true;
              proxy.down();
            }
            if (event.type === 'record-retry') proxy.up();
            if (event.type === 'warning') warnings.push(event.message);
          },
        },
        using,
      );
      expect(outcome.status).toBe('succeeded');
      expect(outcome.counts.migrated).toBe(3);
      expect(outcome).toMatchObject({ recorded: true, unrecorded: [] });
      expect(warnings.join('\n')).toContain('outcomes are kept');
      const run = await new MigrationRuns(rt.metaPool).get(outcome.runId as string);
      expect(run.status).toBe('succeeded');
      // History lists tenants by creation time; createTenants provisions them concurrently, so compare by slug.
      expect(run.tenants.map((t) => [t.slug, t.status, t.applied]).sort()).toEqual(
        tenants.map((t) => [t.slug, 'migrated', ['00007_price_lists']]).sort(),
      );
    } finally {
      await close();
    }
  });

  it('gives up when it stays away: what it migrated is unrecorded (never pending), and a runner joining later finishes the run', async () => {
    const tenants = await createTenants(rt, 3, 'meta-gone');
    const { proxy, using, close } = await proxiedRuns();
    try {
      let cut = false;
      const outcome = await fleet(
        await withPriceLists(),
        {
          target: { slugs: tenants.map((t) => t.slug) },
          concurrency: 1,
          recordRetryMs: 300,
          leaseMs: 1_000,
          onEvent: (event) => {
            if (event.type === 'tenant-started' && !cut) {
              cut = true;
              proxy.down();
            }
          },
        },
        using,
      );
      // The first tenant is migrated (its own bookkeeping is in order); with the queue away, nothing else starts.
      expect(outcome.status).toBe('running');
      expect(outcome.stopReason).toContain('lost the meta database');
      expect(outcome.recorded).toBe(false);
      const first = outcome.results.find((r) => r.status === 'migrated') as FleetTenantResult;
      expect(outcome.results.filter((r) => r.status === 'migrated')).toHaveLength(1);
      expect(outcome.unrecorded).toEqual([first.tenantId]);
      const doc = fleetJson(outcome) as { recorded: boolean; results: { slug: string; status: string; recorded: boolean }[] };
      expect(doc.recorded).toBe(false);
      expect(doc.results.find((r) => r.slug === first.slug)).toMatchObject({ status: 'migrated', recorded: false });
      const versions = await Promise.all(tenants.map(async (t) => (await rt.registry.resolve(t.id)).schemaVersion));
      expect(versions.filter((v) => v === '00007_price_lists')).toHaveLength(1);

      const runs = new MigrationRuns(rt.metaPool);
      const run = await runs.get(outcome.runId as string);
      expect(run.status).toBe('abandoned');
      expect(run.tenants.map((t) => t.status)).toEqual(['unrecorded', 'unrecorded', 'unrecorded']);
      expect(run.counts).toMatchObject({ pending: 0, running: 0, unrecorded: 3 });
      expect((await runs.list(50)).find((r) => r.id === run.id)?.counts).toMatchObject({ pending: 0, unrecorded: 3 });

      // Joining it (the lost runner's lease has run out) finishes it: the migrated one is found current.
      const joined = await fleet(await withPriceLists(), { join: run.id });
      expect(joined).toMatchObject({ status: 'succeeded', joined: true });
      expect(joined.results.map((r) => [r.slug, r.status]).sort()).toEqual(
        tenants.map((t) => [t.slug, t.id === first.tenantId ? 'up-to-date' : 'migrated']).sort(),
      );
      const after = await runs.get(run.id);
      expect(after.status).toBe('succeeded');
      expect(after.tenants.find((t) => t.tenantId === first.tenantId)).toMatchObject({ status: 'up-to-date', claims: 2 });
      expect(after.runners.map((r) => r.status)).toEqual(['lost', 'finished']);
    } finally {
      await close();
    }
  });
});
