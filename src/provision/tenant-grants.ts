/**
 * What the app role of a tenant database may do, and nothing more: CONNECT
 * to that one database (PUBLIC gets nothing on it, not even TEMPORARY),
 * USAGE on its schemas (CREATE on none), SELECT/INSERT/UPDATE/DELETE on its
 * tables, USAGE/SELECT on its sequences, EXECUTE on its routines, and only
 * SELECT on the migration bookkeeping. Default privileges of the owner role
 * keep this true for what later migrations create.
 *
 * Runs inside the tenant database on a connection acting as the owner role
 * (admin login + SET ROLE), in one transaction: all of it or none of it.
 */
import type pg from 'pg';
import { ident, quoteIdent, roleIdent } from '../pg/identifiers.js';
import { withTransaction } from '../pg/with-helpers.js';

export interface TenantGrantTarget {
  dbName: string;
  /** The role owning the database and its objects (the connection acts as it). */
  owner: string;
  /** The role the application logs in with: the tenant's own, or the shared role. */
  app: string;
  /** The migration bookkeeping table in `public`; the app may only read it. */
  storageTable: string;
}

/** Schemas the tenant's objects live in (every schema but the system ones). */
export async function tenantSchemas(client: pg.ClientBase): Promise<string[]> {
  const { rows } = await client.query<{ nspname: string }>(
    `SELECT nspname FROM pg_namespace
     WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' ORDER BY nspname`,
  );
  return rows.map((r) => r.nspname);
}

/** Grants the app role its DML rights, in one transaction; the caller's connection is in the tenant database, acting as the owner. */
export async function grantTenantAccess(client: pg.ClientBase, target: TenantGrantTarget): Promise<void> {
  await withTransaction(client, () => grantTenantAccessStatements(client, target));
}

/** The statements of grantTenantAccess, inside the caller's transaction (which must act as the owner). */
export async function grantTenantAccessStatements(client: pg.ClientBase, target: TenantGrantTarget): Promise<void> {
  const db = ident(target.dbName, 'database name');
  const owner = ident(target.owner, 'owner role name');
  const app = roleIdent(target.app);
  const storage = `public.${ident(target.storageTable, 'storage table')}`;
  await client.query(`REVOKE ALL ON DATABASE ${db} FROM PUBLIC`);
  await client.query(`GRANT CONNECT ON DATABASE ${db} TO ${app}`);
  await client.query('REVOKE ALL ON SCHEMA public FROM PUBLIC');
  for (const schema of await tenantSchemas(client)) {
    const s = quoteIdent(schema);
    await client.query(`GRANT USAGE ON SCHEMA ${s} TO ${app}`);
    await client.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${s} TO ${app}`);
    await client.query(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${s} TO ${app}`);
    await client.query(`GRANT EXECUTE ON ALL ROUTINES IN SCHEMA ${s} TO ${app}`);
  }
  const { rows } = await client.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [storage]);
  if (rows[0]?.present) await client.query(`REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON ${storage} FROM ${app}`);
  await client.query(`ALTER DEFAULT PRIVILEGES FOR ROLE ${owner} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${app}`);
  await client.query(`ALTER DEFAULT PRIVILEGES FOR ROLE ${owner} GRANT USAGE, SELECT ON SEQUENCES TO ${app}`);
  await client.query(`ALTER DEFAULT PRIVILEGES FOR ROLE ${owner} GRANT EXECUTE ON FUNCTIONS TO ${app}`);
  await client.query(`ALTER DEFAULT PRIVILEGES FOR ROLE ${owner} GRANT USAGE ON SCHEMAS TO ${app}`);
}

/**
 * Takes every privilege of `role` in this database away (objects, default
 * privileges, the database itself): what `isolateTenants` does to the shared
 * role once the tenant's own app role serves it.
 */
export async function revokeTenantAccess(client: pg.ClientBase, target: { dbName: string; owner: string; role: string }): Promise<void> {
  const db = ident(target.dbName, 'database name');
  const owner = ident(target.owner, 'owner role name');
  const role = roleIdent(target.role);
  await withTransaction(client, async () => {
    for (const schema of await tenantSchemas(client)) {
      const s = quoteIdent(schema);
      await client.query(`REVOKE ALL ON ALL TABLES IN SCHEMA ${s} FROM ${role}`);
      await client.query(`REVOKE ALL ON ALL SEQUENCES IN SCHEMA ${s} FROM ${role}`);
      await client.query(`REVOKE ALL ON ALL ROUTINES IN SCHEMA ${s} FROM ${role}`);
      await client.query(`REVOKE ALL ON SCHEMA ${s} FROM ${role}`);
    }
    await client.query(`ALTER DEFAULT PRIVILEGES FOR ROLE ${owner} REVOKE ALL ON TABLES FROM ${role}`);
    await client.query(`ALTER DEFAULT PRIVILEGES FOR ROLE ${owner} REVOKE ALL ON SEQUENCES FROM ${role}`);
    await client.query(`ALTER DEFAULT PRIVILEGES FOR ROLE ${owner} REVOKE ALL ON FUNCTIONS FROM ${role}`);
    await client.query(`ALTER DEFAULT PRIVILEGES FOR ROLE ${owner} REVOKE ALL ON SCHEMAS FROM ${role}`);
    await client.query(`REVOKE ALL ON DATABASE ${db} FROM ${role}`);
  });
}
