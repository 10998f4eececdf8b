/**
 * Preparing the meta database at every start: one query on the meta pool
 * when it is already set up; the full path (create, restrict CONNECT,
 * migrate under the lock) when anything is missing, and two first runs at
 * once are still safe.
 */
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.js';
import { withConnection } from '../../src/pg/with-helpers.js';
import { withDatabase } from '../../src/connection-url.js';
import { META_STORAGE_TABLE } from '../../src/runtime/meta-database.js';
import { openRuntime, type Runtime } from '../../src/runtime/runtime.js';
import { createTestEnvironment, REPO_ROOT } from '../support/test-environment.js';

const env = createTestEnvironment();
const opened: Runtime[] = [];
let dir: string;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'metapus-meta-setup-'));
  await env.runtime();
});

afterAll(async () => {
  await Promise.all(opened.map((rt) => rt.close()));
  await env.cleanup();
  await fs.rm(dir, { recursive: true, force: true });
});

async function open(config: Config): Promise<Runtime> {
  const rt = await openRuntime(config);
  opened.push(rt);
  return rt;
}

/** A loopback address where nothing listens: any connection to it is refused. */
async function deadAddress(): Promise<string> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  const url = new URL(env.adminUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return url.toString();
}

/** Read straight from the database, as the admin: opening a runtime would change what it reads. */
function metaState(database: string): Promise<{ applied: string[]; open: boolean }> {
  return withConnection({ connectionString: withDatabase(env.adminUrl, database) }, async (client) => {
    const { rows } = await client.query<{ name: string }>(`SELECT name FROM ${META_STORAGE_TABLE} ORDER BY name`);
    const access = await client.query<{ open: boolean }>("SELECT has_database_privilege('public', current_database(), 'CONNECT') AS open");
    return { applied: rows.map((r) => r.name), open: access.rows[0]?.open === true };
  });
}

async function metaFilesWith(extra: Record<string, string>): Promise<string> {
  const target = await fs.mkdtemp(path.join(dir, 'meta-'));
  const source = path.join(REPO_ROOT, 'db', 'meta');
  for (const name of await fs.readdir(source)) await fs.copyFile(path.join(source, name), path.join(target, name));
  for (const [name, text] of Object.entries(extra)) await fs.writeFile(path.join(target, name), text);
  return target;
}

describe('meta database setup', () => {
  it('opens a meta database that is already set up without the admin connection', async () => {
    // The admin URL leads nowhere: only the one query on the meta pool can have run.
    const rt = await open(env.config({ POSTGRES_ADMIN_URL: await deadAddress() }));
    expect(await rt.registry.list()).toEqual([]);
  });

  it('takes the full path when a meta migration is pending, and applies it', async () => {
    const metaMigrationsDir = await metaFilesWith({ '00099_extra.sql': 'CREATE TABLE meta_setup_extra (id int);' });
    await expect(open({ ...env.config({ POSTGRES_ADMIN_URL: await deadAddress() }), metaMigrationsDir })).rejects.toMatchObject({
      code: 'DATABASE_UNAVAILABLE',
    });
    await open({ ...env.config(), metaMigrationsDir });
    expect((await metaState(env.metaDatabase)).applied.at(-1)).toBe('00099_extra');
  });

  it('takes the full path when PUBLIC can connect again, and revokes it', async () => {
    const database = `${env.prefix}meta_reopened`;
    await open(env.config({ META_DATABASE_URL: withDatabase(env.adminUrl, database) }));
    await env.admin((c) => c.query(`GRANT CONNECT ON DATABASE ${c.escapeIdentifier(database)} TO PUBLIC`));
    await open(env.config({ META_DATABASE_URL: withDatabase(env.adminUrl, database) }));
    expect((await metaState(database)).open).toBe(false);
  });

  it('lets two first runs at once both succeed, applying each meta migration once', async () => {
    const database = `${env.prefix}meta_twice`;
    const config = env.config({ META_DATABASE_URL: withDatabase(env.adminUrl, database) });
    await Promise.all([open(config), open(config)]);
    const files = (await fs.readdir(path.join(REPO_ROOT, 'db', 'meta'))).filter((f) => f.endsWith('.sql')).map((f) => f.slice(0, -4));
    expect(await metaState(database)).toEqual({ applied: files.sort(), open: false });
  });
});
