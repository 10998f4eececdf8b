/**
 * The upgrade path to the server registry: a meta database set up before it
 * (meta migrations 00001-00002, tenants on two addresses) is migrated on the
 * first open; the configured server becomes `default`, every other address a
 * tenant lives on becomes a server of its own, every tenant is attached, and
 * the install keeps working (a new tenant goes on `default`).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withDatabase } from '../../src/connection-url.js';
import { withConnection } from '../../src/pg/with-helpers.js';
import { ensureMetaDatabase } from '../../src/runtime/meta-database.js';
import { createTestEnvironment, REPO_ROOT } from '../support/test-environment.js';
import { provisionerFor } from '../support/tenant-fixtures.js';

const env = createTestEnvironment();
let dir: string;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'metapus-server-upgrade-'));
});

afterAll(async () => {
  await env.cleanup();
  await fs.rm(dir, { recursive: true, force: true });
});

/** The meta migrations as they were before the server registry. */
async function metaFilesBeforeServers(): Promise<string> {
  const target = await fs.mkdtemp(path.join(dir, 'meta-'));
  const source = path.join(REPO_ROOT, 'db', 'meta');
  for (const name of await fs.readdir(source)) {
    if (name < '00003') await fs.copyFile(path.join(source, name), path.join(target, name));
  }
  return target;
}

function meta<T>(database: string, fn: (client: import('pg').Client) => Promise<T>): Promise<T> {
  return withConnection({ connectionString: withDatabase(env.adminUrl, database) }, fn);
}

async function insertOldTenants(database: string, rows: [slug: string, host: string, port: number][]): Promise<void> {
  await meta(database, async (client) => {
    for (const [slug, host, port] of rows) {
      await client.query(
        `INSERT INTO tenants (slug, display_name, db_name, db_host, db_port, status, schema_version)
         VALUES ($1, $1, $2, $3, $4, 'active', NULL)`,
        [slug, `${env.prefix}${slug.replace(/-/g, '_')}`, host, port],
      );
    }
  });
}

describe('upgrading a meta database to the server registry', () => {
  it('registers the configured server as default, other addresses as servers of their own, and attaches every tenant', async () => {
    const config = env.config();
    const { host, port } = { host: config.tenantDb.host ?? '127.0.0.1', port: config.tenantDb.port ?? 5432 };
    await ensureMetaDatabase(env.adminUrl, withDatabase(env.adminUrl, env.metaDatabase), await metaFilesBeforeServers());
    // One server spelled three ways (localhost, 127.0.0.1, LOCALHOST), and one other server.
    await insertOldTenants(env.metaDatabase, [
      ['old-one', 'localhost', port],
      ['old-two', '127.0.0.1', port],
      ['old-three', 'LOCALHOST', port],
      ['far-one', 'db.internal', 5433],
      ['far-two', 'DB.internal', 5433],
    ]);

    const rt = await env.runtime();
    expect(host === 'localhost' || host === '127.0.0.1').toBe(true);
    const servers = rt.servers.list().map((s) => ({ name: s.name, host: s.host, port: s.port, status: s.status }));
    expect(servers).toEqual([
      { name: 'default', host: '127.0.0.1', port, status: 'active' },
      // Registered for the old --host tenants, draining: placement does not send new tenants there unasked (00004).
      { name: 'server-2', host: 'db.internal', port: 5433, status: 'draining' },
    ]);
    const bySlug = Object.fromEntries((await rt.registry.list()).map((t) => [t.slug, t.serverName]));
    expect(bySlug).toEqual({ 'old-one': 'default', 'old-two': 'default', 'old-three': 'default', 'far-one': 'server-2', 'far-two': 'server-2' });

    // Every tenant row must name a server from now on (only a deleted one may outlive its removed server: 00004).
    await expect(
      meta(env.metaDatabase, (client) =>
        client.query(`INSERT INTO tenants (slug, display_name, db_name, db_host, db_port) VALUES ('nowhere', 'x', 'nowhere_db', 'h', 1)`),
      ),
    ).rejects.toMatchObject({ code: '23514' });

    // The install keeps working: a new tenant is created on the default server.
    const created = await provisionerFor(rt).create({ slug: 'after-upgrade', name: 'After' }, { actor: 'test' });
    expect(created.tenant.serverName).toBe('default');
    expect(created.tenant.status).toBe('active');
  });

  it('without the configured address (migrations run by hand), names the most used address default', async () => {
    const database = `${env.id}_meta_byhand`;
    const metaUrl = withDatabase(env.adminUrl, database);
    try {
      await ensureMetaDatabase(env.adminUrl, metaUrl, await metaFilesBeforeServers());
      await insertOldTenants(database, [
        ['a-one', 'db-a.internal', 5432],
        ['b-one', 'db-b.internal', 5432],
        ['b-two', 'db-b.internal', 5432],
      ]);
      await ensureMetaDatabase(env.adminUrl, metaUrl, path.join(REPO_ROOT, 'db', 'meta'));
      const rows = await meta(database, async (client) => {
        const servers = await client.query<{ name: string; host: string }>('SELECT name, host FROM servers ORDER BY name');
        const tenants = await client.query<{ slug: string; server_name: string }>('SELECT slug, server_name FROM tenants ORDER BY slug');
        return { servers: servers.rows, tenants: tenants.rows };
      });
      expect(rows.servers).toEqual([
        { name: 'default', host: 'db-b.internal' },
        { name: 'server-2', host: 'db-a.internal' },
      ]);
      expect(rows.tenants).toEqual([
        { slug: 'a-one', server_name: 'server-2' },
        { slug: 'b-one', server_name: 'default' },
        { slug: 'b-two', server_name: 'default' },
      ]);
    } finally {
      await env.admin((client) => client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(database)} WITH (FORCE)`));
    }
  });
});
