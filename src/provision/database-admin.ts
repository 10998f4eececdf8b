/**
 * CREATE / DROP DATABASE and grants, over the admin connection. These
 * statements cannot run inside a transaction; every identifier is validated
 * and quoted, every value is a parameter.
 */
import type pg from 'pg';
import { ident, roleIdent } from '../pg/identifiers.js';

export async function databaseExists(admin: pg.ClientBase, name: string): Promise<boolean> {
  const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  return (rowCount ?? 0) > 0;
}

export async function createDatabase(admin: pg.ClientBase, name: string, options: { owner: string; template?: string }): Promise<void> {
  const template = options.template ? ` TEMPLATE ${ident(options.template, 'template database')}` : '';
  await admin.query(`CREATE DATABASE ${ident(name, 'database name')} OWNER ${roleIdent(options.owner)}${template}`);
}

/** Legacy shape (a database owned and served by one role): only that role may connect; PUBLIC gets nothing. */
export async function restrictConnect(admin: pg.ClientBase, name: string, role: string): Promise<void> {
  const db = ident(name, 'database name');
  await admin.query(`REVOKE ALL ON DATABASE ${db} FROM PUBLIC`);
  await admin.query(`GRANT CONNECT, TEMPORARY ON DATABASE ${db} TO ${roleIdent(role)}`);
}

/** PUBLIC gets nothing on the database (no CONNECT, no TEMPORARY); who may connect is granted separately. */
export async function revokePublic(admin: pg.ClientBase, name: string): Promise<void> {
  await admin.query(`REVOKE ALL ON DATABASE ${ident(name, 'database name')} FROM PUBLIC`);
}

/** Drops a database, disconnecting its sessions first (PostgreSQL 13+). */
export async function dropDatabase(admin: pg.ClientBase, name: string): Promise<void> {
  if (await isTemplate(admin, name)) await admin.query(`ALTER DATABASE ${ident(name, 'database name')} WITH IS_TEMPLATE false`);
  await admin.query(`DROP DATABASE IF EXISTS ${ident(name, 'database name')} WITH (FORCE)`);
}

async function isTemplate(admin: pg.ClientBase, name: string): Promise<boolean> {
  const { rows } = await admin.query<{ datistemplate: boolean }>('SELECT datistemplate FROM pg_database WHERE datname = $1', [name]);
  return rows[0]?.datistemplate === true;
}

export async function getDatabaseComment(admin: pg.ClientBase, name: string): Promise<string | null> {
  const { rows } = await admin.query<{ comment: string | null }>(
    "SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = $1",
    [name],
  );
  return rows[0]?.comment ?? null;
}

export async function setDatabaseComment(admin: pg.ClientBase, name: string, comment: string): Promise<void> {
  await admin.query(`COMMENT ON DATABASE ${ident(name, 'database name')} IS ${admin.escapeLiteral(comment)}`);
}

/** Session advisory lock on the admin connection; released in `finally`. */
export async function withAdminLock<T>(admin: pg.ClientBase, key: string, fn: () => Promise<T>): Promise<T> {
  await admin.query('SELECT pg_advisory_lock($1)', [key]);
  try {
    return await fn();
  } finally {
    await admin.query('SELECT pg_advisory_unlock($1)', [key]).catch(() => undefined);
  }
}

/**
 * Session advisory lock if it is free, without waiting: runs fn under it
 * (released in `finally`), or reports that someone else holds it.
 */
export async function withTryLock<T>(
  admin: pg.ClientBase,
  key: string,
  fn: () => Promise<T>,
): Promise<{ locked: true; value: T } | { locked: false }> {
  const { rows } = await admin.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [key]);
  if (!rows[0]?.ok) return { locked: false };
  try {
    return { locked: true, value: await fn() };
  } finally {
    await admin.query('SELECT pg_advisory_unlock($1)', [key]).catch(() => undefined);
  }
}
