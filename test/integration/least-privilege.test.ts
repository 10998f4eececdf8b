/**
 * The privilege model against a real server: isolated tenants A and B, each
 * with a NOLOGIN owner and its own app login; what A's app credentials can
 * and cannot do; and shared mode (TENANT_DB_USER) with the same owner split.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { databaseOf } from '../../src/connection-url.js';
import { openRuntime, type Runtime } from '../../src/runtime/runtime.js';
import type { Tenant } from '../../src/tenants/tenant.js';
import { tenantClientConfig } from '../../src/pg/connection-settings.js';
import { provisionerFor } from '../support/tenant-fixtures.js';
import { createTestEnvironment } from '../support/test-environment.js';
import { migrationsWith } from '../support/migrations-dir.js';
import { runCli } from '../support/run-cli.js';
import { withConnection } from '../../src/pg/with-helpers.js';

const env = createTestEnvironment();
let rt: Runtime;
let shared: Runtime;
let a: Tenant;
let b: Tenant;
let passwordOfA: string;

/** A's app login, to any database on the server. */
function asAppOfA(database: string): pg.ClientConfig {
  return {
    ...tenantClientConfig(
      { ...a, dbName: database },
      { user: a.appRole as string, password: passwordOfA, host: a.dbHost, port: a.dbPort, sslMode: undefined },
    ),
    connectionTimeoutMillis: 10_000,
  };
}

async function withApp<T>(database: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(asAppOfA(database));
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function connectError(database: string): Promise<{ code?: string; message: string }> {
  return withApp(database, () => Promise.resolve({ message: 'connected' })).catch((err: { code?: string; message: string }) => err);
}

async function queryError(client: pg.Client, sql: string): Promise<string | undefined> {
  return client.query(sql).then(
    () => undefined,
    (err: { code?: string }) => err.code,
  );
}

beforeAll(async () => {
  rt = await openRuntime(parseConfig(env.isolatedEnv));
  shared = await env.runtime();
  const provisioner = provisionerFor(rt);
  a = (await provisioner.create({ slug: 'tenant-a', name: 'A' }, { actor: 'test' })).tenant;
  b = (await provisioner.create({ slug: 'tenant-b', name: 'B' }, { actor: 'test' })).tenant;
  passwordOfA = (await rt.secrets.read(a.id))?.current as string;
});
afterAll(async () => {
  await rt.close();
  await env.cleanup();
});

describe('isolated tenants', () => {
  it('get a NOLOGIN owner owning the database and every object, and a LOGIN app role with a SCRAM verifier', async () => {
    expect(a.ownerRole).toBe(`${env.prefix}tenant_a_owner`);
    expect(a.appRole).toBe(`${env.prefix}tenant_a_app`);
    expect(passwordOfA).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await env.admin(async (c) => {
      const { rows } = await c.query<{ rolname: string; rolcanlogin: boolean; verifier: string | null }>(
        'SELECT rolname, rolcanlogin, rolpassword AS verifier FROM pg_authid WHERE rolname = ANY($1) ORDER BY rolname',
        [[a.ownerRole, a.appRole]],
      );
      expect(rows.map((r) => [r.rolname, r.rolcanlogin])).toEqual([
        [a.appRole, true],
        [a.ownerRole, false],
      ]);
      expect(rows[0]?.verifier).toMatch(/^SCRAM-SHA-256\$/);
      const owner = await c.query<{ owner: string }>('SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1', [a.dbName]);
      expect(owner.rows[0]?.owner).toBe(a.ownerRole);
    });
    // Inside A's database (made by migrations) and B's (a template clone, re-owned): every object that is not an extension's belongs to the owner.
    for (const t of [a, b]) {
      const url = new URL(env.adminUrl);
      url.pathname = `/${t.dbName}`;
      const admin = new pg.Client({ connectionString: url.toString() });
      await admin.connect();
      try {
        const { rows } = await admin.query<{ owner: string }>(
          `SELECT DISTINCT pg_get_userbyid(owner) AS owner FROM (
             SELECT c.relowner AS owner, c.oid, 'pg_class'::regclass AS cat FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'
             UNION ALL SELECT p.proowner, p.oid, 'pg_proc'::regclass FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'
             UNION ALL SELECT nspowner, oid, 'pg_namespace'::regclass FROM pg_namespace WHERE nspname = 'public'
           ) o WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = o.cat AND d.objid = o.oid AND d.deptype = 'e')`,
        );
        expect(rows, t.slug).toEqual([{ owner: t.ownerRole }]);
      } finally {
        await admin.end();
      }
    }
  });

  it("A's app role does DML in its own database, and reads (only reads) the migration bookkeeping", async () => {
    await withApp(a.dbName, async (c) => {
      await c.query("INSERT INTO currencies (code, name) VALUES ('EUR', 'Euro')");
      await c.query("UPDATE currencies SET name = 'Euro!' WHERE code = 'EUR'");
      expect((await c.query('SELECT name FROM currencies')).rows).toEqual([{ name: 'Euro!' }]);
      await c.query("DELETE FROM currencies WHERE code = 'EUR'");
      expect((await c.query('SELECT count(*)::int AS n FROM schema_migrations')).rows[0]).toMatchObject({ n: expect.any(Number) });
      expect(await queryError(c, "INSERT INTO schema_migrations (name, checksum) VALUES ('x', 'y')")).toBe('42501');
      expect(await queryError(c, 'DELETE FROM schema_migrations')).toBe('42501');
    });
  });

  it("A's app role cannot CREATE (also TEMP), ALTER or DROP anything, nor DROP its own database", async () => {
    await withApp(a.dbName, async (c) => {
      expect(await queryError(c, 'CREATE TABLE planted (id int)')).toBe('42501');
      expect(await queryError(c, 'CREATE TEMP TABLE planted (id int)')).toBe('42501');
      expect(await queryError(c, 'CREATE SCHEMA planted')).toBe('42501');
      expect(await queryError(c, 'CREATE FUNCTION public.planted() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$')).toBe('42501');
      expect(await queryError(c, 'ALTER TABLE currencies ADD COLUMN planted int')).toBe('42501');
      expect(await queryError(c, 'DROP TABLE currencies')).toBe('42501');
      expect(await queryError(c, 'TRUNCATE currencies')).toBe('42501');
    });
    // DROP DATABASE is run from another database; `postgres` lets PUBLIC in by default.
    const adminDb = databaseOf(env.adminUrl);
    const dropped = await withApp(adminDb, (c) => queryError(c, `DROP DATABASE ${c.escapeIdentifier(a.dbName)}`)).catch(
      (err: { code?: string }) => `connect:${err.code}`,
    );
    expect(['42501', 'connect:42501']).toContain(dropped);
    expect(await env.databases()).toContain(a.dbName);
  });

  it("A's app credentials cannot connect to B's database, the template or the meta database", async () => {
    const templateDb = `${env.prefix}template`;
    expect(await env.databases()).toContain(templateDb);
    expect(await connectError(b.dbName)).toMatchObject({ code: '42501' });
    expect(await connectError(env.metaDatabase)).toMatchObject({ code: '42501' });
    // The template refuses every connection once built; and A's role has no CONNECT on it either.
    expect((await connectError(templateDb)).message).not.toBe('connected');
    await env.admin(async (c) => {
      const { rows } = await c.query<{ db: string; ok: boolean }>(
        `SELECT datname AS db, has_database_privilege($1, datname, 'CONNECT') AS ok FROM pg_database
         WHERE datname = ANY($2) ORDER BY 1`,
        [a.appRole, [a.dbName, b.dbName, templateDb, env.metaDatabase]],
      );
      expect(Object.fromEntries(rows.map((r) => [r.db, r.ok]))).toEqual({
        [a.dbName]: true,
        [b.dbName]: false,
        [templateDb]: false,
        [env.metaDatabase]: false,
      });
    });
  });

  it('a later migration keeps the app role right through default privileges', async () => {
    // What a fleet migration does: a new table, created as the owner.
    await env.admin(async (c) => {
      const url = new URL(env.adminUrl);
      url.pathname = `/${a.dbName}`;
      const inA = new pg.Client({ connectionString: url.toString() });
      await inA.connect();
      try {
        await inA.query(`SET ROLE ${c.escapeIdentifier(a.ownerRole as string)}`);
        await inA.query('CREATE TABLE later_table (id serial PRIMARY KEY, note text)');
      } finally {
        await inA.end();
      }
    });
    await withApp(a.dbName, async (c) => {
      await c.query("INSERT INTO later_table (note) VALUES ('ok')");
      expect((await c.query('SELECT note FROM later_table')).rows).toEqual([{ note: 'ok' }]);
      expect(await queryError(c, 'ALTER TABLE later_table ADD COLUMN x int')).toBe('42501');
    });
  });

  it('delete --drop-database drops the database and both roles, and the secret', async () => {
    const provisioner = provisionerFor(rt);
    const gone = (await provisioner.create({ slug: 'tenant-gone', name: 'Gone' }, { actor: 'test' })).tenant;
    const result = await provisioner.delete(gone.id, { actor: 'test', dropDatabase: true });
    expect(result.droppedDatabase).toBe(true);
    expect(result.droppedRoles.sort()).toEqual([gone.appRole, gone.ownerRole].sort());
    expect(await rt.secrets.read(gone.id)).toBeUndefined();
    const left = await env.admin(
      async (c) => (await c.query('SELECT rolname FROM pg_roles WHERE rolname = ANY($1)', [[gone.appRole, gone.ownerRole]])).rowCount,
    );
    expect(left).toBe(0);
  });
});

describe('isolated tenants, removed', () => {
  it('a failed create drops the database, both roles and the secret', async () => {
    const dir = await migrationsWith({ '00099_boom.sql': '-- migrate:up\nSELECT 1 / 0;\n-- migrate:down\nSELECT 1;\n' });
    const failing = provisionerFor(rt, { migrationsDir: dir });
    await expect(failing.create({ slug: 'tenant-doomed', name: 'Doomed' }, { actor: 'test' })).rejects.toMatchObject({ exitCode: 1 });
    const roles = [`${env.prefix}tenant_doomed_owner`, `${env.prefix}tenant_doomed_app`];
    expect(await env.admin(async (c) => (await c.query('SELECT 1 FROM pg_roles WHERE rolname = ANY($1)', [roles])).rowCount)).toBe(0);
    expect(await env.databases()).not.toContain(`${env.prefix}tenant_doomed`);
    const { rows } = await rt.metaPool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM tenant_secrets s WHERE NOT EXISTS (SELECT 1 FROM tenants t WHERE t.id = s.tenant_id)',
    );
    expect(rows[0]?.n).toBe(0);
    expect(await rt.registry.getBySlug('tenant-doomed')).toBeUndefined();
  });

  it('a delete that keeps the database takes LOGIN from the app role', async () => {
    const provisioner = provisionerFor(rt);
    const kept = (await provisioner.create({ slug: 'tenant-kept', name: 'Kept' }, { actor: 'test' })).tenant;
    const password = (await rt.secrets.read(kept.id))?.current as string;
    const login = () =>
      withConnection(
        tenantClientConfig(kept, { user: kept.appRole as string, password, host: kept.dbHost, port: kept.dbPort, sslMode: undefined }),
        () => Promise.resolve('ok'),
      ).catch((err: { code?: string }) => err.code);
    expect(await login()).toBe('ok');
    const result = await provisioner.delete(kept.id, { actor: 'test' });
    expect(result).toMatchObject({ droppedDatabase: false, databaseExists: true, droppedRoles: [] });
    expect(await login()).toBe('28000');
  });
});

describe('tenant create (CLI) in isolated mode', () => {
  it('prints the roles, never the password', async () => {
    const result = await runCli(['create', '--slug', 'tenant-cli', '--name', 'CLI', '--json'], env.isolatedEnv);
    expect(result.code, result.stderr).toBe(0);
    const body = JSON.parse(result.stdout) as { id: string; ownerRole: string; appRole: string };
    expect(body).toMatchObject({ ownerRole: `${env.prefix}tenant_cli_owner`, appRole: `${env.prefix}tenant_cli_app` });
    const password = (await rt.secrets.read(body.id))?.current as string;
    expect(password).toHaveLength(43);
    const plain = await runCli(['delete', 'tenant-cli', '--yes', '--drop-database'], env.isolatedEnv);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toContain(`${env.prefix}tenant_cli_app`);
    for (const text of [result.stdout, result.stderr, plain.stdout, plain.stderr]) expect(text).not.toContain(password);
  });
});

describe('isolated mode without the secret key', () => {
  it('refuses a create with exit 2 naming the key variable, before anything is made', async () => {
    const { TENANT_SECRET_KEY: _key, ...noKey } = env.isolatedEnv;
    const keyless = await openRuntime(parseConfig(noKey));
    try {
      const before = await env.databases();
      const error = await provisionerFor(keyless)
        .create({ slug: 'tenant-nokey', name: 'No key' }, { actor: 'test' })
        .catch((err: unknown) => err);
      expect(error).toMatchObject({ code: 'SECRET_KEY', exitCode: 2 });
      expect((error as Error).message).toContain('TENANT_SECRET_KEY');
      expect(await env.databases()).toEqual(before);
      expect(await rt.registry.getBySlug('tenant-nokey')).toBeUndefined();
    } finally {
      await keyless.close();
    }
  });
});

describe('shared mode (TENANT_DB_USER set)', () => {
  it('keeps the owner split: the database belongs to the owner role, the shared role only does DML', async () => {
    const { tenant } = await provisionerFor(shared).create({ slug: 'tenant-shared', name: 'Shared' }, { actor: 'test' });
    expect(tenant.ownerRole).toBe(`${env.prefix}tenant_shared_owner`);
    expect(tenant.appRole).toBeNull();
    const owner = await env.admin(async (c) => {
      const { rows } = await c.query<{ owner: string }>('SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1', [
        tenant.dbName,
      ]);
      return rows[0]?.owner;
    });
    expect(owner).toBe(tenant.ownerRole);
    const client = new pg.Client(tenantClientConfig(tenant, shared.connections.tenant));
    await client.connect();
    try {
      await client.query("INSERT INTO currencies (code, name) VALUES ('USD', 'Dollar')");
      expect(await queryError(client, 'CREATE TABLE planted (id int)')).toBe('42501');
      expect(await queryError(client, 'ALTER TABLE currencies ADD COLUMN planted int')).toBe('42501');
    } finally {
      await client.end();
    }
    expect(await rt.secrets.read(tenant.id)).toBeUndefined();
  });
});
