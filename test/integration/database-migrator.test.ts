/**
 * migrateDatabase on one real tenant database, watching the statements it
 * sends: each migration's transaction is opened and closed by one owner
 * (BEGIN, the migration, its bookkeeping row, COMMIT, or ROLLBACK), and the
 * bookkeeping is read once under the lock and once after.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminUrlFor } from '../../src/pg/admin-connection.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { migrateDatabase } from '../../src/schema/database-migrator.js';
import { loadMigrationFiles, type MigrationFile } from '../../src/schema/migration-files.js';
import type { DatabaseMigrateOptions } from '../../src/schema/migration-types.js';
import { TENANT_STORAGE_TABLE } from '../../src/migrate/tenant-migrator.js';
import type { Tenant } from '../../src/tenants/tenant.js';
import { appliedInDb, tableExists } from '../support/fleet-fixtures.js';
import { migrationsWith } from '../support/migrations-dir.js';
import { createTenants } from '../support/tenant-fixtures.js';
import { createTestEnvironment } from '../support/test-environment.js';

const env = createTestEnvironment();
let rt: Runtime;
let tenant: Tenant;
let files: MigrationFile[];
const LATEST = '00006_posting';
const GADGETS_UP = 'CREATE TABLE gadgets (id int)';
const GADGETS_DOWN = 'DROP TABLE gadgets';

beforeAll(async () => {
  rt = await env.runtime();
  [tenant] = (await createTenants(rt, 1, 'owner')) as [Tenant];
  files = await loadMigrationFiles(
    await migrationsWith({ '00007_gadgets.sql': `-- migrate:up\n${GADGETS_UP};\n-- migrate:down\n${GADGETS_DOWN};\n` }),
  );
});
afterAll(() => env.cleanup());

/** Runs migrateDatabase on a fresh connection to the tenant, returning the outcome and every statement sent. */
async function watched(using: readonly MigrationFile[], options: DatabaseMigrateOptions = {}) {
  // Migrations run as the tenant's owner role: the admin login, then SET ROLE (the app role has no DDL).
  const client = new pg.Client({
    connectionString: adminUrlFor(rt.connections.adminUrl, { host: tenant.dbHost, port: tenant.dbPort }, tenant.dbName),
  });
  await client.connect();
  await client.query(`SET ROLE ${client.escapeIdentifier(tenant.ownerRole as string)}`);
  const sent: string[] = [];
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    const first = args[0];
    sent.push((typeof first === 'string' ? first : (first as { text: string }).text).replace(/\s+/g, ' ').trim());
    return query(...args);
  };
  try {
    const outcome = await migrateDatabase(client, using, { storageTable: TENANT_STORAGE_TABLE, ...options });
    return { outcome, sent };
  } finally {
    await client.end();
  }
}

const readsBookkeeping = (sql: string) => /^SELECT name, checksum, applied_at, duration_ms FROM public\."?schema_migrations"?/.test(sql);
/** The statements from the migration's first one to its last, in order. */
function around(sent: string[], sql: string): string[] {
  const at = sent.findIndex((s) => s.startsWith(sql));
  expect(at, `${sql} was sent`).toBeGreaterThan(0);
  return sent.slice(at - 1, at + 3).map((s) => s.split(' ').slice(0, 3).join(' ').replace(/;$/, ''));
}

describe('migrateDatabase', () => {
  it('applies and reverts with one transaction per migration, its bookkeeping row inside, reading the bookkeeping twice', async () => {
    const up = await watched(files);
    expect(up.outcome).toMatchObject({
      status: 'migrated',
      from: LATEST,
      to: '00007_gadgets',
      steps: [expect.objectContaining({ name: '00007_gadgets' })],
    });
    expect(around(up.sent, GADGETS_UP)).toEqual(['BEGIN', 'CREATE TABLE gadgets', 'INSERT INTO public."schema_migrations"', 'COMMIT']);
    // Once under the lock (the plan is made from it), once after (the outcome).
    expect(up.sent.filter(readsBookkeeping)).toHaveLength(2);

    const down = await watched(files, { direction: 'down', to: LATEST });
    expect(down.outcome).toMatchObject({ status: 'migrated', from: '00007_gadgets', to: LATEST });
    expect(around(down.sent, GADGETS_DOWN)).toEqual(['BEGIN', 'DROP TABLE gadgets', 'DELETE FROM public."schema_migrations"', 'COMMIT']);
    expect(down.sent.filter(readsBookkeeping)).toHaveLength(2);
    expect(await tableExists(tenant, rt.connections.tenant, 'gadgets')).toBe(false);

    // Nothing to do: the same two readings, no transaction.
    const idle = await watched(files.slice(0, -1));
    expect(idle.outcome).toMatchObject({ status: 'up-to-date', from: LATEST, to: LATEST, migrationBegan: false });
    expect(idle.sent.filter(readsBookkeeping)).toHaveLength(2);
    expect(idle.sent).not.toContain('BEGIN');
  });

  it('rolls a failed migration back with no bookkeeping row, and a dry run reads once without the lock', async () => {
    const failing = await loadMigrationFiles(await migrationsWith({ '00007_broken.sql': 'CREATE TABLE broken (id int);\nSELECT 1 / 0;\n' }));
    const failed = await watched(failing);
    expect(failed.outcome).toMatchObject({ status: 'failed', failedMigration: '00007_broken', migrationBegan: true, to: LATEST });
    expect(failed.outcome.error).toMatchObject({ code: 'MIGRATION_FAILED', message: expect.stringContaining('division by zero') });
    expect(around(failed.sent, 'CREATE TABLE broken').slice(0, 3)).toEqual(['BEGIN', 'CREATE TABLE broken', 'ROLLBACK']);
    expect(failed.sent.some((s) => s.startsWith('INSERT INTO'))).toBe(false);
    expect(await tableExists(tenant, rt.connections.tenant, 'broken')).toBe(false);
    expect((await appliedInDb(tenant, rt.connections.tenant)).at(-1)).toBe(LATEST);

    const dry = await watched(files, { dryRun: true });
    expect(dry.outcome).toMatchObject({ status: 'pending', planned: ['00007_gadgets'], to: '00007_gadgets' });
    expect(dry.sent.filter(readsBookkeeping)).toHaveLength(1);
    expect(dry.sent.some((s) => s.includes('pg_advisory_lock'))).toBe(false);
  });
});
