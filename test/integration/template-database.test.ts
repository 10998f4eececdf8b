/**
 * The template rules against a real server: something planted in the
 * template (as a superuser) is caught by the object fingerprint, the clone
 * dropped and the template rebuilt, so no tenant inherits it; a session held
 * open on the template does not make create fail; a template stamped in the
 * old format is rebuilt.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Provisioner } from '../../src/provision/provisioner.js';
import { parseTemplateStamp } from '../../src/provision/template-database.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import type { Tenant } from '../../src/tenants/tenant.js';
import { provisionerFor } from '../support/tenant-fixtures.js';
import { createTestEnvironment } from '../support/test-environment.js';

const env = createTestEnvironment();
let rt: Runtime;
let provisioner: Provisioner;
let template: string;

beforeAll(async () => {
  rt = await env.runtime();
  provisioner = provisionerFor(rt);
  template = provisioner.template.name;
  const first = await provisioner.create({ slug: 'tpl-first', name: 'first' }, { actor: 'test' });
  expect(first.via).toBe('migrations');
});
afterAll(() => env.cleanup());

function urlOf(database: string): string {
  const url = new URL(env.adminUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/** As a superuser would: let connections in again, then run sql inside the template. */
async function inTemplate(sql: string): Promise<void> {
  await env.admin((c) => c.query(`ALTER DATABASE ${c.escapeIdentifier(template)} ALLOW_CONNECTIONS true`));
  const client = new pg.Client({ connectionString: urlOf(template) });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function inTenant<T>(tenant: Tenant, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: urlOf(tenant.dbName) });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

async function templateComment(): Promise<string | null> {
  return env.admin(async (c) => {
    const { rows } = await c.query<{ comment: string | null }>(
      "SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = $1",
      [template],
    );
    return rows[0]?.comment ?? null;
  });
}

describe('the template', () => {
  it('is owned by the admin login, its objects by the template owner; PUBLIC cannot connect, nobody can once built', async () => {
    const info = await env.admin(async (c) => {
      const { rows } = await c.query<{ owner: string; allow: boolean; istemplate: boolean; acl: string | null }>(
        'SELECT pg_get_userbyid(datdba) AS owner, datallowconn AS allow, datistemplate AS istemplate, datacl::text AS acl FROM pg_database WHERE datname = $1',
        [template],
      );
      return { ...rows[0], me: (await c.query<{ u: string }>('SELECT current_user AS u')).rows[0]?.u };
    });
    expect(info.owner).toBe(info.me);
    expect(info.allow).toBe(false);
    expect(info.istemplate).toBe(true);
    expect(info.acl ?? '').not.toMatch(/(^|[{,])=/);
    expect(info.acl ?? '').not.toContain(rt.connections.tenant.user);
    expect(parseTemplateStamp(await templateComment())).toBeDefined();
    await env.admin((c) => c.query(`ALTER DATABASE ${c.escapeIdentifier(template)} ALLOW_CONNECTIONS true`));
    const owners = await new Promise<string[]>((resolve, reject) => {
      const client = new pg.Client({ connectionString: urlOf(template) });
      client
        .connect()
        .then(() =>
          client.query<{ owner: string }>(
            "SELECT DISTINCT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relnamespace = 'public'::regnamespace",
          ),
        )
        .then((r) => resolve(r.rows.map((x) => x.owner)), reject)
        .finally(() => void client.end());
    });
    expect(owners).toEqual([`${env.prefix}template_owner`]);
    await env.admin((c) => c.query(`ALTER DATABASE ${c.escapeIdentifier(template)} ALLOW_CONNECTIONS false`));
    const clone = await provisioner.create({ slug: 'tpl-clone', name: 'clone' }, { actor: 'test' });
    expect(clone.via).toBe('template');
    expect(clone.templateWarning).toBeUndefined();
  });

  const plants: [string, string, string][] = [
    ['a row', "INSERT INTO currencies (code, name) VALUES ('XPL', 'planted')", "SELECT code FROM currencies WHERE code = 'XPL'"],
    [
      'a function',
      'CREATE FUNCTION public.planted() RETURNS int LANGUAGE sql SECURITY DEFINER AS $$ SELECT 42 $$',
      "SELECT proname FROM pg_proc WHERE proname = 'planted'",
    ],
    [
      'a row and a function',
      "INSERT INTO units (code, name) VALUES ('PLT', 'planted'); CREATE FUNCTION public.planted2() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$",
      "SELECT 'unit' AS what FROM units WHERE code = 'PLT' UNION ALL SELECT proname FROM pg_proc WHERE proname = 'planted2'",
    ],
    [
      'a replaced function body',
      'CREATE OR REPLACE FUNCTION set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END; $$',
      "SELECT proname FROM pg_proc WHERE proname = 'set_updated_at' AND prosrc NOT LIKE '%now()%'",
    ],
    [
      'a grant',
      'GRANT ALL ON TABLE currencies TO PUBLIC',
      "SELECT 1 AS granted FROM pg_class WHERE relname = 'currencies' AND relacl::text ~ '[{,]=[a-zA-Z]'",
    ],
  ];
  it.each(plants)(
    'planted %s is caught: the next tenant does not inherit it and the template is rebuilt without it',
    async (what, plant, probe) => {
      await inTemplate(plant);
      const slug = `tpl-${what.replace(/[^a-z]+/g, '-').replace(/-$/, '')}`.slice(0, 40);
      const result = await provisioner.create({ slug, name: what }, { actor: 'test' });
      expect(result.tenant.status).toBe('active');
      expect(result.via).toBe('migrations');
      expect(result.templateWarning).toMatch(/changed after it was built/);
      expect(await inTenant(result.tenant, probe)).toEqual([]);
      // Rebuilt: current again, and without the plant.
      expect(parseTemplateStamp(await templateComment())).toBeDefined();
      const next = await provisioner.create({ slug: `${slug.slice(0, 36)}-nx`, name: 'next' }, { actor: 'test' });
      expect(next.via).toBe('template');
      expect(await inTenant(next.tenant, probe)).toEqual([]);
    },
  );

  it('held open by a session, makes create fall back to the migrations instead of failing, and leaves the session alone', async () => {
    await env.admin((c) => c.query(`ALTER DATABASE ${c.escapeIdentifier(template)} ALLOW_CONNECTIONS true`));
    const holder = new pg.Client({ connectionString: urlOf(template) });
    await holder.connect();
    try {
      const result = await provisioner.create({ slug: 'tpl-busy', name: 'busy' }, { actor: 'test' });
      expect(result.tenant.status).toBe('active');
      expect(result.via).toBe('migrations');
      expect(result.templateWarning).toMatch(/in use by another session/);
      expect((await holder.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
    } finally {
      await holder.end();
    }
    const after = await provisioner.create({ slug: 'tpl-after-busy', name: 'after' }, { actor: 'test' });
    expect(after.via).toBe('template');
  });

  it('stamped in the old comment format is stale and rebuilt', async () => {
    await env.admin((c) => c.query(`COMMENT ON DATABASE ${c.escapeIdentifier(template)} IS 'metapus-tenant template ${'0'.repeat(64)}'`));
    const result = await provisioner.create({ slug: 'tpl-legacy', name: 'legacy' }, { actor: 'test' });
    expect(result.via).toBe('migrations');
    expect(parseTemplateStamp(await templateComment())).toBeDefined();
    expect((await provisioner.create({ slug: 'tpl-legacy-next', name: 'next' }, { actor: 'test' })).via).toBe('template');
  });
});
