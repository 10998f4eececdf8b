/**
 * isolateTenants against a real server: a shared-mode tenant and a legacy
 * tenant (database and objects owned by the shared role, as before least
 * privilege) get their own owner and app roles online; the shared role's
 * other databases are not touched (no REASSIGN OWNED); reruns are no-ops;
 * a run killed before the last step is finished by the next one.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, restrictConnect } from '../../src/provision/database-admin.js';
import { ISOLATED_ACTION, isolateTenants } from '../../src/provision/credential-isolation.js';
import { tenantClientConfig } from '../../src/pg/connection-settings.js';
import { withConnection } from '../../src/pg/with-helpers.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { migrateDatabase } from '../../src/schema/database-migrator.js';
import { TENANT_STATUS_CHANNEL } from '../../src/tenants/tenant-registry.js';
import type { Tenant } from '../../src/tenants/tenant.js';
import { eventually } from '../support/eventually.js';
import { registerTenants } from '../support/fleet-fixtures.js';
import { provisionerFor } from '../support/tenant-fixtures.js';
import { createTestEnvironment } from '../support/test-environment.js';

const env = createTestEnvironment();
let rt: Runtime;
let sharedRole: string;
let legacy: Tenant;
let otherLegacy: Tenant;
let sharedMode: Tenant;

function urlOf(database: string): string {
  const url = new URL(env.adminUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/** A tenant as created before least privilege: the shared role owns the database and every object in it. */
async function createLegacy(slug: string): Promise<Tenant> {
  const dbName = `${env.prefix}${slug.replace(/-/g, '_')}`;
  await env.admin(async (admin) => {
    await createDatabase(admin, dbName, { owner: sharedRole });
    await restrictConnect(admin, dbName, sharedRole);
  });
  const files = await provisionerFor(rt).migrationFiles();
  const address = { dbName, dbHost: rt.connections.tenant.host, dbPort: rt.connections.tenant.port };
  await withConnection(tenantClientConfig(address, rt.connections.tenant), async (client) => {
    const outcome = await migrateDatabase(client, files, { storageTable: 'schema_migrations' });
    if (outcome.error) throw outcome.error;
    await client.query(`CREATE TYPE mood AS ENUM ('ok', 'meh');
      CREATE DOMAIN code3 AS text CHECK (VALUE ~ '^[A-Z]{3}$');
      CREATE SEQUENCE standalone_seq;
      CREATE TABLE extra (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, m mood, c code3, s serial);
      CREATE VIEW extra_view AS SELECT * FROM extra;
      CREATE FUNCTION extra_count() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM extra $$;
      CREATE SCHEMA side; CREATE TABLE side.notes (note text);
      INSERT INTO currencies (code, name) VALUES ('LEG', 'legacy data')`);
  });
  const [tenant] = await registerTenants(rt.connections.metaUrl, { host: address.dbHost, port: address.dbPort }, [
    { slug, dbName, schemaVersion: files.at(-1)?.name ?? null },
  ]);
  return tenant as Tenant;
}

async function ownersIn(dbName: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: urlOf(dbName) });
  await client.connect();
  try {
    const { rows } = await client.query<{ owner: string }>(
      `SELECT DISTINCT pg_get_userbyid(o.owner) AS owner FROM (
         SELECT c.oid, 'pg_class'::regclass AS cat, c.relowner AS owner FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname IN ('public', 'side')
         UNION ALL SELECT p.oid, 'pg_proc'::regclass, p.proowner FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace
         UNION ALL SELECT t.oid, 'pg_type'::regclass, t.typowner FROM pg_type t WHERE t.typnamespace = 'public'::regnamespace
         UNION ALL SELECT oid, 'pg_namespace'::regclass, nspowner FROM pg_namespace WHERE nspname IN ('public', 'side')
       ) o WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = o.cat AND d.objid = o.oid AND d.deptype = 'e') ORDER BY 1`,
    );
    return rows.map((r) => r.owner);
  } finally {
    await client.end();
  }
}

async function databaseOwner(dbName: string): Promise<string | undefined> {
  return env.admin(async (c) => {
    const { rows } = await c.query<{ owner: string }>('SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1', [dbName]);
    return rows[0]?.owner;
  });
}

/** Connects with the shared login; resolves 'ok' or the SQLSTATE. */
function sharedConnects(tenant: Tenant): Promise<string> {
  return withConnection(tenantClientConfig(tenant, rt.connections.tenant), async (c) => {
    await c.query('SELECT 1');
    return 'ok';
  }).catch((err: { code?: string }) => err.code ?? 'error');
}

async function appDml(tenant: Tenant, code: string): Promise<string[]> {
  const secret = await rt.secrets.read(tenant.id);
  expect(secret?.role).toBe(tenant.appRole);
  const creds = { ...rt.connections.tenant, user: tenant.appRole as string, password: secret?.current };
  return withConnection(tenantClientConfig(tenant, creds), async (c) => {
    await c.query('INSERT INTO currencies (code, name) VALUES ($1, $2)', [code, 'app']);
    const { rows } = await c.query<{ code: string }>('SELECT code FROM currencies ORDER BY code');
    return rows.map((r) => r.code);
  });
}

beforeAll(async () => {
  rt = await env.runtime();
  sharedRole = rt.connections.tenant.user;
  const provisioner = provisionerFor(rt);
  sharedMode = (await provisioner.create({ slug: 'shared-one', name: 'shared' }, { actor: 'test' })).tenant;
  legacy = await createLegacy('legacy-one');
  otherLegacy = await createLegacy('legacy-two');
});
afterAll(() => env.cleanup());

describe('isolateTenants', () => {
  it('converts a legacy and a shared-mode tenant online, leaving the shared role its other databases', async () => {
    expect(sharedMode.appRole).toBeNull();
    expect(legacy.ownerRole).toBeNull();
    expect(await sharedConnects(legacy)).toBe('ok');
    const listener = new pg.Client({ connectionString: rt.connections.metaUrl });
    await listener.connect();
    const notified: string[] = [];
    listener.on('notification', (n) => notified.push((JSON.parse(n.payload ?? '{}') as { slug: string }).slug));
    await listener.query(`LISTEN ${TENANT_STATUS_CHANNEL}`);
    const seen: string[] = [];
    try {
      const results = await isolateTenants(rt, ['legacy-one', 'shared-one'], {
        actor: 'test',
        graceMs: 0,
        onTenant: (r) => seen.push(r.tenant.slug),
      });
      expect(results.map((r) => [r.tenant.slug, r.outcome, r.error?.message])).toEqual([
        ['legacy-one', 'isolated', undefined],
        ['shared-one', 'isolated', undefined],
      ]);
      expect(seen.sort()).toEqual(['legacy-one', 'shared-one']);
      expect(results[0]?.reowned).toBeGreaterThan(20);
      expect(results[0]?.revokedFrom).toEqual([sharedRole]);
      await eventually('both conversions are NOTIFYed', () => notified.includes('legacy-one') && notified.includes('shared-one'));
    } finally {
      await listener.end();
    }
    legacy = await rt.registry.resolve('legacy-one');
    sharedMode = await rt.registry.resolve('shared-one');
    expect(legacy.ownerRole).toBe(`${env.prefix}legacy_one_owner`);
    expect(legacy.appRole).toBe(`${env.prefix}legacy_one_app`);
    expect(sharedMode.appRole).toBe(`${env.prefix}shared_one_app`);
    expect((await rt.registry.recentAudit(legacy.id, 1))[0]).toMatchObject({ action: ISOLATED_ACTION, actor: 'test' });

    // Everything in the legacy database (but the extension's objects) moved to the owner; the database too.
    expect(await databaseOwner(legacy.dbName)).toBe(legacy.ownerRole);
    expect(await ownersIn(legacy.dbName)).toEqual([legacy.ownerRole]);
    // The shared role's other database did not move (REASSIGN OWNED would have moved it).
    expect(await databaseOwner(otherLegacy.dbName)).toBe(sharedRole);
    // (`public` belongs to pg_database_owner on 15+, to the bootstrap superuser on 14.)
    expect((await ownersIn(otherLegacy.dbName)).filter((o) => o !== 'pg_database_owner' && o !== 'postgres')).toEqual([sharedRole]);
    expect(await sharedConnects(otherLegacy)).toBe('ok');

    // The shared login lost both converted databases; the app logins work, with the data kept.
    expect(await sharedConnects(legacy)).toBe('42501');
    expect(await sharedConnects(sharedMode)).toBe('42501');
    expect(await appDml(legacy, 'APP')).toEqual(['APP', 'LEG']);
    expect(await appDml(sharedMode, 'APQ')).toEqual(['APQ']);
  });

  it('is idempotent: a second run finds them already isolated', async () => {
    const results = await isolateTenants(rt, 'all', { actor: 'test', graceMs: 0 });
    const bySlug = Object.fromEntries(results.map((r) => [r.tenant.slug, r.outcome]));
    expect(bySlug).toEqual({ 'shared-one': 'already-isolated', 'legacy-one': 'already-isolated', 'legacy-two': 'isolated' });
  });

  it('finishes a run killed before the old login lost its access, ending its sessions', async () => {
    // What a run killed after recording the roles leaves: the shared role still granted.
    const dbName = sharedMode.dbName;
    const inDb = new pg.Client({ connectionString: urlOf(dbName) });
    await inDb.connect();
    try {
      await inDb.query(`SET ROLE ${inDb.escapeIdentifier(sharedMode.ownerRole as string)}`);
      await inDb.query(`GRANT CONNECT ON DATABASE ${inDb.escapeIdentifier(dbName)} TO ${inDb.escapeIdentifier(sharedRole)}`);
      await inDb.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${inDb.escapeIdentifier(sharedRole)}`);
    } finally {
      await inDb.end();
    }
    const held = new pg.Client(tenantClientConfig(sharedMode, rt.connections.tenant));
    held.on('error', () => undefined);
    await held.connect();
    const [result] = await isolateTenants(rt, ['shared-one'], { actor: 'test', graceMs: 50 });
    expect(result).toMatchObject({ outcome: 'isolated', revokedFrom: [sharedRole] });
    expect(
      await held.query('SELECT 1').then(
        () => 'ran',
        () => 'ended',
      ),
    ).toBe('ended');
    await held.end().catch(() => undefined);
    expect(await sharedConnects(sharedMode)).toBe('42501');
  });

  it('reports an unusable tenant as failed, and refuses an unknown one before doing anything', async () => {
    await rt.registry.changeStatus(otherLegacy.id, { from: ['active'], to: 'deleted', actor: 'test', action: 'delete' });
    const [result] = await isolateTenants(rt, ['legacy-two'], { actor: 'test', graceMs: 0 });
    expect(result).toMatchObject({ outcome: 'failed', error: { code: 'INVALID_STATE' } });
    await expect(isolateTenants(rt, ['shared-one', 'nobody-here'], { actor: 'test' })).rejects.toMatchObject({ code: 'TENANT_NOT_FOUND' });
  });
});
