/**
 * The cluster-wide roles of tenant databases: each tenant's NOLOGIN owner,
 * its app login (isolated mode), and the template's owner. Made and dropped
 * over the admin connection; names are validated then quoted, and a password
 * only ever reaches SQL as a SCRAM verifier computed here, never as text.
 */
import type pg from 'pg';
import { ident, roleIdent } from '../pg/identifiers.js';
import { ProvisionError } from '../errors.js';

export async function roleExists(admin: pg.ClientBase, role: string): Promise<boolean> {
  const { rowCount } = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
  return (rowCount ?? 0) > 0;
}

/** The roles of these names that exist. */
export async function existingRoles(admin: pg.ClientBase, roles: readonly string[]): Promise<string[]> {
  const { rows } = await admin.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE rolname = ANY($1) ORDER BY rolname', [roles]);
  return rows.map((r) => r.rolname);
}

/**
 * A NOLOGIN owner role, with the admin made a member of it: a non-superuser
 * admin (CREATEROLE, PostgreSQL 16+) can then `SET ROLE` to it and create
 * databases owned by it. Refuses a role that already exists: it belongs to
 * something else (or to an abandoned create `tenant repair` cleans up).
 */
export async function createOwnerRole(admin: pg.ClientBase, role: string): Promise<void> {
  await refuseExisting(admin, role);
  await admin.query(`CREATE ROLE ${ident(role, 'owner role name')} NOLOGIN NOINHERIT`);
  await admin.query(`GRANT ${ident(role, 'owner role name')} TO CURRENT_USER`);
}

/** Creates the owner role unless it exists (the template owner, shared by every build); the admin is always made a member. */
export async function ensureOwnerRole(admin: pg.ClientBase, role: string): Promise<void> {
  if (!(await roleExists(admin, role))) {
    await admin.query(`CREATE ROLE ${ident(role, 'owner role name')} NOLOGIN NOINHERIT`).catch(async (err: unknown) => {
      // A concurrent build (another server's) may have made it first.
      if (!(await roleExists(admin, role))) throw err;
    });
  }
  const { rowCount } = await admin.query('SELECT 1 WHERE pg_has_role(current_user, $1, $2)', [role, 'USAGE']);
  if (!rowCount) await admin.query(`GRANT ${ident(role, 'owner role name')} TO CURRENT_USER`);
}

/**
 * A login role whose password is the given SCRAM-SHA-256 verifier (computed
 * client-side: PostgreSQL stores a verifier as is, so the plaintext never
 * reaches the server or its logs). Only LOGIN: no CREATEDB, CREATEROLE,
 * INHERIT of anything, REPLICATION or BYPASSRLS.
 */
export async function createAppRole(admin: pg.ClientBase, role: string, scramVerifier: string): Promise<void> {
  if (!scramVerifier.startsWith('SCRAM-SHA-256$')) throw new ProvisionError('an app role password must be given as a SCRAM-SHA-256 verifier');
  await refuseExisting(admin, role);
  await admin.query(
    `CREATE ROLE ${ident(role, 'app role name')} LOGIN NOINHERIT NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD ${admin.escapeLiteral(scramVerifier)}`,
  );
}

/**
 * Drops roles that exist, skipping any protected one (the shared tenant role,
 * the admin): a tenant's roles are derived from its database name, so even a
 * row that never recorded them can be cleaned. The database they own must be
 * gone first (DROP ROLE refuses a role that still owns something).
 */
export async function dropRoles(
  admin: pg.ClientBase,
  roles: readonly (string | null | undefined)[],
  protectedRoles: readonly string[],
): Promise<string[]> {
  const wanted = [...new Set(roles.filter((r): r is string => !!r && !protectedRoles.includes(r)))];
  if (wanted.length === 0) return [];
  const present = await existingRoles(admin, wanted);
  for (const role of present) await admin.query(`DROP ROLE IF EXISTS ${roleIdent(role)}`);
  return present;
}

/** Takes LOGIN away (a deleted tenant's app role whose database is kept). */
export async function disableLogin(admin: pg.ClientBase, role: string): Promise<boolean> {
  if (!(await roleExists(admin, role))) return false;
  await admin.query(`ALTER ROLE ${ident(role, 'app role name')} NOLOGIN`);
  return true;
}

async function refuseExisting(admin: pg.ClientBase, role: string): Promise<void> {
  if (await roleExists(admin, role)) {
    throw new ProvisionError(`role "${role}" already exists but belongs to no tenant`, {
      hint: 'inspect it, then drop it or run `tenant repair --drop-orphans`',
    });
  }
}
