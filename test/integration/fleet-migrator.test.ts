import fs from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantClientConfig } from '../../src/pg/connection-settings.js';
import { advisoryKey } from '../../src/pg/identifiers.js';
import type { Tenant } from '../../src/tenants/tenant.js';
import { DEFAULT_LOCK_LABEL } from '../../src/schema/database-migrator.js';
import { migrateFleet } from '../../src/migrate/fleet-migrator.js';
import type { FleetEvent, FleetMigrateOptions, FleetOutcome } from '../../src/migrate/fleet-types.js';
import type { FleetTenantResult } from '../../src/migrate/fleet-result.js';
import { loadMigrationFiles, type MigrationFile } from '../../src/schema/migration-files.js';
import { MigrationRuns } from '../../src/migrate/migration-runs.js';
import { pendingByTenant } from '../../src/migrate/pending-migrations.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { appliedInDb, asOwner, createEmptyDatabases, inTenantDb, registerTenants, tableExists } from '../support/fleet-fixtures.js';
import { withConnection } from '../../src/pg/with-helpers.js';
import { withDatabase } from '../../src/connection-url.js';
import { migrationsWith } from '../support/migrations-dir.js';
import { createTenants } from '../support/tenant-fixtures.js';
import { REPO_ROOT, createTestEnvironment } from '../support/test-environment.js';

const env = createTestEnvironment();
let rt: Runtime;
let repoFiles: MigrationFile[];
const LATEST = '00006_posting';

const PRICE_LISTS = `-- Price lists.
-- migrate:up
CREATE TABLE price_lists (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), name text NOT NULL);
-- migrate:down
DROP TABLE price_lists;
`;
/** Fails where a unit has a blank name: a data problem in one tenant only. */
const STRICT_UNITS = `-- Unit names may not be blank.
-- migrate:up
ALTER TABLE warehouses ADD COLUMN region text;
ALTER TABLE units ADD CONSTRAINT units_name_not_blank CHECK (name <> '');
-- migrate:down
ALTER TABLE units DROP CONSTRAINT units_name_not_blank;
ALTER TABLE warehouses DROP COLUMN region;
`;
const SLOW_PRICE_LISTS = PRICE_LISTS.replace('-- migrate:up\n', '-- migrate:up\nSELECT pg_sleep(0.2);\n');

beforeAll(async () => {
  rt = await env.runtime();
  repoFiles = await loadMigrationFiles(rt.config.migrationsDir);
});
const madeRoles: string[] = [];
afterAll(async () => {
  await env.cleanup();
  await env.admin(async (c) => {
    for (const role of madeRoles) await c.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(role)}`);
  });
});

const deps = () => ({
  registry: rt.registry,
  metaPool: rt.metaPool,
  credentials: rt.connections.tenant,
  adminUrl: rt.connections.adminUrl,
});
const fleet = (files: readonly MigrationFile[], options: Omit<FleetMigrateOptions, 'actor'> = {}) =>
  migrateFleet(files, deps(), { actor: 'test', ...options });
const filesWith = async (extra: Record<string, string>) => loadMigrationFiles(await migrationsWith(extra));
const bySlug = (outcome: FleetOutcome) => new Map(outcome.results.map((r) => [r.slug, r]));
const slugsOf = (tenants: Tenant[]) => tenants.map((t) => t.slug);
const reload = (tenant: Tenant) => rt.registry.resolve(tenant.id);

/** Meta (schema_version, tenant_migrations) agrees with the tenant database's own bookkeeping. */
async function expectConsistent(tenant: Tenant): Promise<string[]> {
  const inDb = await appliedInDb(tenant, rt.connections.tenant);
  const current = await reload(tenant);
  const mirrored = await rt.registry.recordedMigrations(tenant.id);
  expect(mirrored.map((m) => m.name)).toEqual(inDb);
  expect(current.schemaVersion).toBe(inDb.at(-1) ?? null);
  return inDb;
}

async function auditActions(tenant: Tenant): Promise<string[]> {
  return (await rt.registry.recentAudit(tenant.id, 50)).map((a) => a.action);
}

describe('migrateFleet: who migrates', () => {
  /** Owner of every object in the tenant's public schema (and the schema), by name. */
  async function owners(tenant: Tenant): Promise<string[]> {
    return withConnection({ connectionString: withDatabase(env.adminUrl, tenant.dbName) }, async (client) => {
      const { rows } = await client.query<{ owner: string }>(
        `SELECT DISTINCT pg_get_userbyid(c.relowner) AS owner FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public'
           UNION SELECT DISTINCT pg_get_userbyid(p.proowner) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = 'public' AND p.prokind = 'f' AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')`,
      );
      return rows.map((r) => r.owner).sort();
    });
  }

  it('migrates a tenant with an owner role as that role (admin login + SET ROLE), a legacy tenant with the tenant login', async () => {
    const owner = `${env.prefix}owned_one_owner`;
    madeRoles.push(owner);
    const ownedDb = `${env.prefix}owned_one`;
    const legacyDb = `${env.prefix}legacy_one`;
    await env.admin(async (admin) => {
      await admin.query(`CREATE ROLE ${pg.escapeIdentifier(owner)} NOLOGIN`);
      await createEmptyDatabases(admin, [ownedDb], owner);
      await createEmptyDatabases(admin, [legacyDb], rt.connections.tenant.user);
    });
    const [legacy, ownedRow] = await registerTenants(rt.connections.metaUrl, rt.connections.tenant, [
      { slug: 'legacy-one', dbName: legacyDb },
      { slug: 'owned-one', dbName: ownedDb },
    ]);
    await rt.metaPool.query('UPDATE tenants SET owner_role = $2 WHERE id = $1', [(ownedRow as Tenant).id, owner]);
    const owned = await reload(ownedRow as Tenant);
    expect(owned.ownerRole).toBe(owner);

    const outcome = await fleet(await filesWith({ '00007_price_lists.sql': PRICE_LISTS }), {
      target: { slugs: ['legacy-one', 'owned-one'] },
    });
    expect(outcome.status, JSON.stringify(outcome.results.map((r) => r.error))).toBe('succeeded');
    expect(outcome.counts.migrated).toBe(2);
    // Every object the migrations made belongs to the owner role; none to the login that did the work.
    expect(await owners(owned)).toEqual([owner]);
    expect(await owners(legacy as Tenant)).toEqual([rt.connections.tenant.user]);
    // The bookkeeping inside agrees with the meta database.
    const inDb = await asOwner(
      rt.connections,
      owned,
      async (c) => (await c.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY name')).rows,
    );
    expect(inDb.map((r) => r.name)).toEqual((await rt.registry.recordedMigrations(owned.id)).map((m) => m.name));
    expect((await reload(owned)).schemaVersion).toBe('00007_price_lists');
  });
});

describe('migrateFleet: a fresh tenant', () => {
  it('migrates an empty registered database to the latest schema and records everything', async () => {
    const dbName = `${env.prefix}fresh_one`;
    await env.admin((admin) => createEmptyDatabases(admin, [dbName], rt.connections.tenant.user));
    const [tenant] = await registerTenants(rt.connections.metaUrl, rt.connections.tenant, [{ slug: 'fresh-one', dbName }]);

    const outcome = await fleet(repoFiles, { target: { slugs: ['fresh-one'] } });
    expect(outcome.status).toBe('succeeded');
    expect(outcome.results).toHaveLength(1);
    const result = outcome.results[0] as FleetTenantResult;
    expect(result).toMatchObject({ slug: 'fresh-one', status: 'migrated', from: null, to: LATEST, checkedIn: 'database', error: null });
    expect(result.applied).toEqual(repoFiles.map((f) => f.name));

    expect(await expectConsistent(tenant as Tenant)).toEqual(repoFiles.map((f) => f.name));
    expect((await rt.registry.recordedMigrations((tenant as Tenant).id)).map((m) => m.checksum)).toEqual(repoFiles.map((f) => f.checksum));
    expect(await auditActions(tenant as Tenant)).toContain('migrate.applied');

    const run = await new MigrationRuns(rt.metaPool).get(outcome.runId as string);
    expect(run).toMatchObject({ status: 'succeeded', actor: 'test', direction: 'up' });
    expect(run.tenants).toEqual([expect.objectContaining({ slug: 'fresh-one', status: 'migrated', to: LATEST, applied: result.applied })]);

    // A second run trusts the meta database and does not connect; --verify checks the database itself.
    const again = await fleet(repoFiles, { target: { slugs: ['fresh-one'] } });
    expect(again.results[0]).toMatchObject({ status: 'up-to-date', checkedIn: 'meta', from: LATEST, to: LATEST });
    const verified = await fleet(repoFiles, { target: { slugs: ['fresh-one'] }, verify: true });
    expect(verified.results[0]).toMatchObject({ status: 'up-to-date', checkedIn: 'database', applied: [] });
  });

  it('reports up-to-date tenants without connecting to their databases', async () => {
    // No database exists behind these rows: any connection attempt would fail.
    await registerTenants(
      rt.connections.metaUrl,
      rt.connections.tenant,
      [
        { slug: 'ghost-one', dbName: `${env.prefix}ghost_one`, schemaVersion: LATEST },
        { slug: 'ghost-two', dbName: `${env.prefix}ghost_two`, schemaVersion: LATEST },
      ],
      repoFiles,
    );
    const outcome = await fleet(repoFiles, { target: { slugs: ['ghost-one', 'ghost-two'] } });
    expect(outcome.status).toBe('succeeded');
    expect(outcome.results.map((r) => [r.status, r.checkedIn])).toEqual([
      ['up-to-date', 'meta'],
      ['up-to-date', 'meta'],
    ]);
    const verified = await fleet(repoFiles, { target: { slugs: ['ghost-one'] }, verify: true });
    expect(verified.status).toBe('failed');
    // A mirror that does not match the files (here: none at all) is not trusted either.
    await registerTenants(rt.connections.metaUrl, rt.connections.tenant, [
      { slug: 'ghost-three', dbName: `${env.prefix}ghost_three`, schemaVersion: LATEST },
    ]);
    expect((await fleet(repoFiles, { target: { slugs: ['ghost-three'] } })).results[0]).toMatchObject({
      status: 'failed',
      checkedIn: 'database',
    });
    expect(verified.results[0]?.status).toBe('failed');
    // Unreachable is not a failed migration: the status is left alone.
    expect((await rt.registry.resolve('ghost-one')).status).toBe('active');
  });
});

describe('migrateFleet: rolling out a new migration', () => {
  let tenants: Tenant[];
  beforeAll(async () => {
    tenants = await createTenants(rt, 20, 'roll');
  });

  it('applies it to 20 tenants at concurrency 4, never more than 4 at once', async () => {
    const files = await filesWith({ '00007_price_lists.sql': PRICE_LISTS });
    let peak = 0;
    const events: FleetEvent['type'][] = [];
    const outcome = await fleet(files, {
      target: { slugs: slugsOf(tenants) },
      concurrency: 4,
      onEvent: (event) => {
        events.push(event.type);
        if (event.type === 'tenant-started') peak = Math.max(peak, event.progress.running.length);
      },
    });
    expect(outcome.status).toBe('succeeded');
    expect(outcome.counts.migrated).toBe(20);
    expect(peak).toBe(4);
    expect(events.filter((e) => e === 'tenant-finished')).toHaveLength(20);
    for (const result of outcome.results) {
      expect(result).toMatchObject({ status: 'migrated', from: LATEST, to: '00007_price_lists', applied: ['00007_price_lists'] });
    }
    for (const tenant of tenants) {
      expect(await tableExists(tenant, rt.connections.tenant, 'price_lists')).toBe(true);
      expect((await expectConsistent(tenant)).at(-1)).toBe('00007_price_lists');
    }
  });
});

describe('migrateFleet: a migration that fails on one tenant only', () => {
  let tenants: Tenant[];
  beforeAll(async () => {
    tenants = await createTenants(rt, 4, 'strict');
    await inTenantDb(tenants[1] as Tenant, rt.connections.tenant, (c) => c.query("INSERT INTO units (code, name) VALUES ('pcs', '')"));
  });

  it('migrates the others, rolls the failed one back, marks it, and a resumed run completes it after the fix', async () => {
    const files = await filesWith({ '00007_strict_units.sql': STRICT_UNITS });
    const bad = tenants[1] as Tenant;
    const outcome = await fleet(files, { target: { slugs: slugsOf(tenants) }, concurrency: 2 });
    expect(outcome.status).toBe('failed');
    const results = bySlug(outcome);
    expect(results.get(bad.slug)).toMatchObject({
      status: 'failed',
      from: LATEST,
      to: LATEST,
      applied: [],
      error: expect.objectContaining({ code: 'MIGRATION_FAILED', migration: '00007_strict_units' }),
    });
    expect(results.get(bad.slug)?.error?.message).toContain('units_name_not_blank');
    for (const t of tenants.filter((t) => t !== bad)) expect(results.get(t.slug)?.status).toBe('migrated');

    // Rolled back: the first statement of the failed migration left nothing behind.
    const column = await inTenantDb(bad, rt.connections.tenant, (c) =>
      c.query("SELECT 1 FROM information_schema.columns WHERE table_name = 'warehouses' AND column_name = 'region'"),
    );
    expect(column.rowCount).toBe(0);
    expect(await expectConsistent(bad)).not.toContain('00007_strict_units');
    expect((await reload(bad)).status).toBe('migration_failed');
    expect(await auditActions(bad)).toContain('migrate.failed');

    const run = await new MigrationRuns(rt.metaPool).get(outcome.runId as string);
    expect(run.status).toBe('failed');
    expect(run.counts).toMatchObject({ migrated: 3, failed: 1 });

    // The fix is in the tenant's data; the resumed run picks up only what is left.
    await inTenantDb(bad, rt.connections.tenant, (c) => c.query("UPDATE units SET name = 'pieces' WHERE name = ''"));
    const resumed = await fleet(files, { target: { resume: outcome.runId as string } });
    expect(resumed.status).toBe('succeeded');
    expect(resumed.resumedFrom).toBe(outcome.runId);
    expect(resumed.results.map((r) => [r.slug, r.status, r.applied])).toEqual([[bad.slug, 'migrated', ['00007_strict_units']]]);
    expect((await reload(bad)).status).toBe('active');
    expect(await auditActions(bad)).toContain('migrate.recovered');
    for (const t of tenants) expect((await expectConsistent(t)).at(-1)).toBe('00007_strict_units');
  });

  it('stops starting tenants after the first failure with failFast, and after n with maxFailures', async () => {
    const failing = await createTenants(rt, 3, 'doomed');
    const files = await filesWith({
      '00007_always_fails.sql': "-- migrate:up\nDO $$ BEGIN RAISE EXCEPTION 'no'; END $$;\n-- migrate:down\nSELECT 1;\n",
    });
    const slugs = slugsOf(failing);
    const fast = await fleet(files, { target: { slugs }, concurrency: 1, failFast: true });
    expect(fast.results.map((r) => r.status)).toEqual(['failed', 'skipped', 'skipped']);
    expect(fast.results[1]?.reason).toContain('--fail-fast');
    expect(fast.stopReason).toContain('--fail-fast');

    // migration_failed tenants are targeted again by the next run.
    const capped = await fleet(files, { target: { slugs }, concurrency: 1, maxFailures: 2 });
    expect(capped.results.map((r) => r.status)).toEqual(['failed', 'failed', 'skipped']);
    const run = await new MigrationRuns(rt.metaPool).get(capped.runId as string);
    expect(run.counts).toMatchObject({ failed: 2, skipped: 1, pending: 0 });
  });
});

describe('migrateFleet: locks', () => {
  let tenants: Tenant[];
  beforeAll(async () => {
    tenants = await createTenants(rt, 6, 'race');
  });

  it('two fleet runs at once apply each migration exactly once, and both end cleanly', async () => {
    const files = await filesWith({ '00007_price_lists.sql': SLOW_PRICE_LISTS });
    const target = { slugs: slugsOf(tenants) };
    const [a, b] = await Promise.all([fleet(files, { target, concurrency: 3 }), fleet(files, { target, concurrency: 3 })]);
    expect(a.status).toBe('succeeded');
    expect(b.status).toBe('succeeded');
    for (const tenant of tenants) {
      const applied = [...(bySlug(a).get(tenant.slug)?.applied ?? []), ...(bySlug(b).get(tenant.slug)?.applied ?? [])];
      expect(applied).toEqual(['00007_price_lists']);
      expect((await expectConsistent(tenant)).filter((n) => n === '00007_price_lists')).toHaveLength(1);
    }
  });

  it('skips a tenant whose lock is held (ifLocked skip), or fails it after the lock timeout (wait)', async () => {
    // Same 00007 as the previous test applied (a different text would be checksum drift).
    const files = await filesWith({
      '00007_price_lists.sql': SLOW_PRICE_LISTS,
      '00008_more.sql': '-- migrate:up\nCREATE TABLE more_things (id int);\n-- migrate:down\nDROP TABLE more_things;\n',
    });
    const held = tenants[0] as Tenant;
    const holder = new pg.Client(tenantClientConfig(held, rt.connections.tenant));
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1)', [advisoryKey(DEFAULT_LOCK_LABEL)]);
      const skipped = await fleet(files, { target: { slugs: slugsOf(tenants) }, ifLocked: 'skip' });
      expect(skipped.status).toBe('failed');
      expect(bySlug(skipped).get(held.slug)).toMatchObject({ status: 'skipped', applied: [] });
      expect(bySlug(skipped).get(held.slug)?.reason).toContain('lock');
      expect(skipped.counts.migrated).toBe(tenants.length - 1);

      const waited = await fleet(files, { target: { slugs: [held.slug] }, lockTimeoutMs: 200 });
      expect(waited.results[0]).toMatchObject({ status: 'failed', error: expect.objectContaining({ code: 'LOCK_TIMEOUT' }) });
      expect((await reload(held)).status).toBe('active');
    } finally {
      await holder.end();
    }
    const after = await fleet(files, { target: { slugs: [held.slug] } });
    expect(after.results[0]).toMatchObject({ status: 'migrated', applied: ['00008_more'] });
  });
});

describe('migrateFleet: history checks', () => {
  let tenant: Tenant;
  beforeAll(async () => {
    [tenant] = (await createTenants(rt, 1, 'drift')) as [Tenant];
  });

  it('stops a tenant whose applied migration file changed, naming the file, changing nothing', async () => {
    const dir = await migrationsWith({ '00007_price_lists.sql': PRICE_LISTS });
    await fs.appendFile(path.join(dir, '00003_catalogs.sql'), '\n-- an innocent-looking edit\n');
    const outcome = await fleet(await loadMigrationFiles(dir), { target: { slugs: [tenant.slug] } });
    expect(outcome.status).toBe('failed');
    expect(outcome.results[0]).toMatchObject({ status: 'failed', applied: [], error: expect.objectContaining({ code: 'CHECKSUM_MISMATCH' }) });
    expect(outcome.results[0]?.error?.message).toContain('00003_catalogs');
    expect(await tableExists(tenant, rt.connections.tenant, 'price_lists')).toBe(false);
    expect((await reload(tenant)).status).toBe('active');
  });

  it('stops a tenant whose applied migration file disappeared', async () => {
    const dir = await migrationsWith({ '00007_price_lists.sql': PRICE_LISTS });
    await fs.rm(path.join(dir, '00005_stock_registers.sql'));
    const outcome = await fleet(await loadMigrationFiles(dir), { target: { slugs: [tenant.slug] } });
    expect(outcome.results[0]).toMatchObject({ status: 'failed', error: expect.objectContaining({ code: 'MIGRATION_MISSING' }) });
    expect(outcome.results[0]?.error?.message).toContain('00005_stock_registers');
  });

  it('refuses a new migration numbered before one already applied', async () => {
    const dir = await migrationsWith({ '00008_price_lists.sql': PRICE_LISTS });
    const files = await loadMigrationFiles(dir);
    expect((await fleet(files, { target: { slugs: [tenant.slug] } })).status).toBe('succeeded');
    await fs.writeFile(path.join(dir, '00007_late_arrival.sql'), PRICE_LISTS.replaceAll('price_lists', 'late_things'));
    const outcome = await fleet(await loadMigrationFiles(dir), { target: { slugs: [tenant.slug] } });
    expect(outcome.results[0]).toMatchObject({ status: 'failed', error: expect.objectContaining({ code: 'MIGRATION_ORDER' }) });
    expect(outcome.results[0]?.error?.message).toContain('00007_late_arrival');
    expect(await tableExists(tenant, rt.connections.tenant, 'late_things')).toBe(false);
  });
});

describe('migrateFleet: dry run, --to and down', () => {
  let tenants: Tenant[];
  let files: MigrationFile[];
  beforeAll(async () => {
    tenants = await createTenants(rt, 2, 'steps');
    files = await filesWith({
      '00007_price_lists.sql': PRICE_LISTS,
      '00008_strict_units.sql': STRICT_UNITS,
    });
  });

  it('dry run lists the migrations per tenant, reports the version it would reach, and changes nothing', async () => {
    const runsBefore = (await new MigrationRuns(rt.metaPool).list(1000)).length;
    const auditBefore = await auditActions(tenants[0] as Tenant);
    const outcome = await fleet(files, { target: { slugs: slugsOf(tenants) }, dryRun: true });
    expect(outcome.status).toBe('succeeded');
    expect(outcome.runId).toBeNull();
    for (const r of outcome.results) {
      // `to` is where the run would leave the tenant, not where it is.
      expect(r).toMatchObject({
        status: 'pending',
        planned: ['00007_price_lists', '00008_strict_units'],
        applied: [],
        from: LATEST,
        to: '00008_strict_units',
      });
    }
    for (const t of tenants) {
      expect(await tableExists(t, rt.connections.tenant, 'price_lists')).toBe(false);
      expect((await expectConsistent(t)).at(-1)).toBe(LATEST);
    }
    expect((await new MigrationRuns(rt.metaPool).list(1000)).length).toBe(runsBefore);
    expect(await auditActions(tenants[0] as Tenant)).toEqual(auditBefore);
  });

  it('--to stops at the named migration, and down reverts to one, keeping meta consistent', async () => {
    const slugs = slugsOf(tenants);
    const partial = await fleet(files, { target: { slugs }, to: '00007_price_lists' });
    expect(partial.results.map((r) => r.applied)).toEqual([['00007_price_lists'], ['00007_price_lists']]);
    for (const t of tenants) expect((await reload(t)).schemaVersion).toBe('00007_price_lists');
    // The pre-check knows these tenants are already at the target.
    const again = await fleet(files, { target: { slugs }, to: '00007_price_lists' });
    expect(again.results.map((r) => r.checkedIn)).toEqual(['meta', 'meta']);

    await expect(fleet(files, { direction: 'down', to: '00005_stock_registers' })).rejects.toMatchObject({ code: 'USAGE' });
    await expect(fleet(files, { target: { slugs }, to: '00042_nope' })).rejects.toMatchObject({ code: 'MIGRATION_NOT_FOUND' });

    const one = tenants[0] as Tenant;
    const dryDown = await fleet(files, { target: { slugs: [one.slug] }, direction: 'down', to: '00005_stock_registers', dryRun: true });
    expect(dryDown.results[0]).toMatchObject({
      status: 'pending',
      from: '00007_price_lists',
      to: '00005_stock_registers',
      planned: ['00007_price_lists', '00006_posting'],
    });
    const down = await fleet(files, { target: { slugs: [one.slug] }, direction: 'down', to: '00005_stock_registers' });
    expect(down.status).toBe('succeeded');
    expect(down.counts).toMatchObject({ reverted: 1, migrated: 0 });
    expect(down.results[0]).toMatchObject({
      status: 'reverted',
      from: '00007_price_lists',
      to: '00005_stock_registers',
      applied: [],
      reverted: ['00007_price_lists', '00006_posting'],
    });
    const downRun = await new MigrationRuns(rt.metaPool).get(down.runId as string);
    expect(downRun.tenants).toEqual([expect.objectContaining({ status: 'reverted', applied: ['00007_price_lists', '00006_posting'] })]);
    expect(downRun.counts).toMatchObject({ reverted: 1, migrated: 0 });
    expect(await tableExists(one, rt.connections.tenant, 'price_lists')).toBe(false);
    expect(await expectConsistent(one)).toEqual(repoFiles.slice(0, 5).map((f) => f.name));
    const after = await reload(one);
    expect(after.status).toBe('active');
    expect(await auditActions(one)).toContain('migrate.reverted');
    const pending = await pendingByTenant(rt.metaPool, files, [one.id]);
    expect(pending.get(one.id)).toEqual(['00006_posting', '00007_price_lists', '00008_strict_units']);

    // Nothing to revert below the target; then up again to the latest.
    const noop = await fleet(files, { target: { slugs: [one.slug] }, direction: 'down', to: '00005_stock_registers' });
    expect(noop.results[0]).toMatchObject({ status: 'up-to-date', applied: [] });
    const up = await fleet(files, { target: { slugs } });
    expect(bySlug(up).get(one.slug)?.applied).toEqual(['00006_posting', '00007_price_lists', '00008_strict_units']);
    for (const t of tenants) expect((await expectConsistent(t)).at(-1)).toBe('00008_strict_units');
  });
});

describe('migrateFleet: targets and interruption', () => {
  it('targets active and migration_failed tenants by default, suspended ones on request, and refuses unknown names', async () => {
    const [active, suspended] = await registerTenants(
      rt.connections.metaUrl,
      rt.connections.tenant,
      [
        { slug: 'pick-active', dbName: `${env.prefix}pick_active`, schemaVersion: LATEST },
        { slug: 'pick-suspended', dbName: `${env.prefix}pick_suspended`, schemaVersion: LATEST, status: 'suspended' },
      ],
      repoFiles,
    );
    const all = await fleet(repoFiles);
    const slugs = all.results.map((r) => r.slug);
    expect(slugs).toContain((active as Tenant).slug);
    expect(slugs).not.toContain((suspended as Tenant).slug);
    const named = await fleet(repoFiles, { target: { slugs: ['pick-suspended'] } });
    expect(named.results[0]).toMatchObject({ status: 'skipped' });
    expect(named.results[0]?.reason).toContain('--include-suspended');
    const included = await fleet(repoFiles, { target: { slugs: ['pick-suspended'], includeSuspended: true } });
    expect(included.results[0]).toMatchObject({ status: 'up-to-date' });
    await expect(fleet(repoFiles, { target: { slugs: ['no-such-tenant'] } })).rejects.toMatchObject({ code: 'TENANT_NOT_FOUND' });
    await expect(fleet(repoFiles, { target: { statuses: ['deleted'] } })).rejects.toMatchObject({ code: 'USAGE' });
  });

  it('on abort, lets the running tenant finish, starts no more, and records the run as interrupted', async () => {
    const tenants = await createTenants(rt, 3, 'halt');
    const files = await filesWith({ '00007_price_lists.sql': PRICE_LISTS });
    const controller = new AbortController();
    const outcome = await fleet(files, {
      target: { slugs: slugsOf(tenants) },
      concurrency: 1,
      signal: controller.signal,
      onEvent: (event) => {
        if (event.type === 'tenant-started') controller.abort();
      },
    });
    expect(outcome.status).toBe('interrupted');
    expect(outcome.results.map((r) => r.status)).toEqual(['migrated', 'skipped', 'skipped']);
    const run = await new MigrationRuns(rt.metaPool).get(outcome.runId as string);
    expect(run.status).toBe('interrupted');
    const resumed = await fleet(files, { target: { resume: outcome.runId as string } });
    const left = outcome.results.filter((r) => r.status === 'skipped').map((r) => r.slug);
    expect(resumed.results.map((r) => [r.slug, r.status]).sort()).toEqual(left.map((s) => [s, 'migrated']).sort());
  });
});

describe('migrateFleet: runner options', () => {
  let tenants: Tenant[];
  beforeAll(async () => {
    tenants = await createTenants(rt, 1, 'opts');
  });

  it('aborts a statement over statementTimeoutMs, rolling the migration back', async () => {
    const [tenant] = tenants as [Tenant];
    const files = await filesWith({
      '00007_slow.sql': '-- migrate:up\nCREATE TABLE half_done (id int);\nSELECT pg_sleep(5);\n-- migrate:down\nDROP TABLE half_done;\n',
    });
    const outcome = await fleet(files, { target: { slugs: [tenant.slug] }, statementTimeoutMs: 100 });
    expect(outcome.results[0]).toMatchObject({ status: 'failed', error: expect.objectContaining({ migration: '00007_slow' }) });
    expect(outcome.results[0]?.error?.message).toContain('statement timeout');
    expect(await tableExists(tenant, rt.connections.tenant, 'half_done')).toBe(false);
    expect((await reload(tenant)).status).toBe('migration_failed');
  });

  it('runs a -- migrate:no-transaction file outside a transaction (CREATE INDEX CONCURRENTLY)', async () => {
    const [tenant] = tenants as [Tenant];
    const files = await filesWith({
      '00007_units_name_idx.sql':
        '-- migrate:no-transaction\n-- migrate:up\nCREATE INDEX CONCURRENTLY units_name_idx ON units (name);\n-- migrate:down\nDROP INDEX CONCURRENTLY units_name_idx;\n',
    });
    const up = await fleet(files, { target: { slugs: [tenant.slug] } });
    expect(up.results[0]).toMatchObject({ status: 'migrated', applied: ['00007_units_name_idx'] });
    expect((await reload(tenant)).status).toBe('active');
    const down = await fleet(files, { target: { slugs: [tenant.slug] }, direction: 'down', to: LATEST });
    expect(down.results[0]).toMatchObject({ status: 'reverted', reverted: ['00007_units_name_idx'] });
    expect(await expectConsistent(tenant)).toEqual(repoFiles.map((f) => f.name));
  });
});

describe('MigrationRuns: liveness', () => {
  it('shows a run as running while its process holds the liveness lock, and abandoned once it is gone', async () => {
    const [tenant] = await createTenants(rt, 1, 'alive');
    const runs = new MigrationRuns(rt.metaPool);
    const { id } = await runs.start({
      actor: 'test',
      direction: 'up',
      target: {},
      options: {},
      tenants: [{ tenantId: (tenant as Tenant).id, status: 'pending', from: LATEST, to: null, applied: [], durationMs: null, error: null }],
    });
    const lease = await runs.holdLiveness(id);
    expect((await runs.get(id)).status).toBe('running');
    await expect(runs.getResumable(id)).rejects.toMatchObject({ code: 'INVALID_STATE' });
    await lease.release();
    expect((await runs.get(id)).status).toBe('abandoned');
    expect((await runs.get(id.slice(0, 8))).id).toBe(id);
    const resumed = await fleet(repoFiles, { target: { resume: id } });
    expect(resumed.results.map((r) => [r.slug, r.status])).toEqual([[(tenant as Tenant).slug, 'up-to-date']]);
    await expect(runs.get('00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({ code: 'RUN_NOT_FOUND' });
  });
});

it('keeps the repository migrations folder untouched', async () => {
  const files = await loadMigrationFiles(path.join(REPO_ROOT, 'db', 'migrations'));
  expect(files.map((f) => f.name).at(-1)).toBe(LATEST);
});
