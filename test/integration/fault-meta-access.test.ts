/**
 * CONNECT on the meta database is revoked from PUBLIC: a role the toolkit
 * does not use cannot connect (so it can neither read tenant coordinates nor
 * send forged status NOTIFYs), while the meta URL's role keeps access.
 */
import crypto from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withDatabase } from '../../src/connection-url.js';
import { restrictMetaDatabase } from '../../src/runtime/meta-database.js';
import { createTestEnvironment } from '../support/test-environment.js';

const env = createTestEnvironment();
const stranger = `${env.id}_stranger`;
const metaRole = `${env.id}_meta_role`;
const password = crypto.randomBytes(12).toString('hex');

beforeAll(async () => {
  await env.runtime();
  await env.admin(async (client) => {
    for (const role of [stranger, metaRole]) {
      await client.query(`CREATE ROLE ${client.escapeIdentifier(role)} LOGIN PASSWORD ${client.escapeLiteral(password)}`);
    }
  });
});
afterAll(async () => {
  await env.cleanup();
  await env.admin(async (client) => {
    for (const role of [stranger, metaRole]) await client.query(`DROP ROLE IF EXISTS ${client.escapeIdentifier(role)}`);
  });
});

async function connectAs(role: string, database: string): Promise<void> {
  const url = new URL(withDatabase(env.adminUrl, database));
  url.username = role;
  url.password = password;
  const client = new pg.Client({ connectionString: url.toString() });
  try {
    await client.connect();
  } finally {
    await client.end().catch(() => undefined);
  }
}

describe('meta database access', () => {
  it('a role the toolkit does not use cannot connect to the meta database', async () => {
    await expect(connectAs(stranger, env.metaDatabase)).rejects.toMatchObject({ code: '42501' });
    const open = await env.admin((c) =>
      c.query<{ open: boolean }>("SELECT has_database_privilege('public', $1, 'CONNECT') AS open", [env.metaDatabase]),
    );
    expect(open.rows[0]?.open).toBe(false);
  });

  it("the meta URL's role is granted CONNECT before PUBLIC loses it", async () => {
    const name = `${env.prefix}meta_copy`;
    await env.admin((c) => c.query(`CREATE DATABASE ${c.escapeIdentifier(name)}`));
    await connectAs(stranger, name);
    await restrictMetaDatabase(env.adminUrl, name, metaRole);
    await expect(connectAs(metaRole, name)).resolves.toBeUndefined();
    await expect(connectAs(stranger, name)).rejects.toMatchObject({ code: '42501' });
    // Running it again (every start does) changes nothing and does not fail.
    await restrictMetaDatabase(env.adminUrl, name, metaRole);
    await expect(connectAs(metaRole, name)).resolves.toBeUndefined();
  });
});
