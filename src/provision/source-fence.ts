/**
 * Keeping writers off a tenant's source database during a move, and what
 * becomes of the source afterwards. Fencing revokes CONNECT from the
 * tenant's login(s) and ends their sessions (the `moving` status already
 * turns requests away; this also stops a stale pool or a script);
 * unfencing grants it back on rollback. After the switch the source is kept
 * under `<db>_moved_<UTC timestamp>`, closed to every login.
 */
import type pg from 'pg';
import { ident, roleIdent } from '../pg/identifiers.js';
import { sqlStateOf } from '../errors.js';

export async function fenceSource(admin: pg.ClientBase, dbName: string, logins: readonly string[]): Promise<number> {
  const db = ident(dbName, 'database name');
  for (const login of logins) await admin.query(`REVOKE CONNECT ON DATABASE ${db} FROM ${roleIdent(login)}`);
  const { rowCount } = await admin.query(
    'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND usename = ANY($2) AND pid <> pg_backend_pid()',
    [dbName, logins],
  );
  return rowCount ?? 0;
}

export async function unfenceSource(admin: pg.ClientBase, dbName: string, logins: readonly string[]): Promise<void> {
  const db = ident(dbName, 'database name');
  for (const login of logins) await admin.query(`GRANT CONNECT ON DATABASE ${db} TO ${roleIdent(login)}`);
}

const SUFFIX = '_moved_';

/** `<db>_moved_<YYYYMMDDhhmmss>` (UTC), the database part shortened so the whole fits 63 bytes; validated by `ident` when used. */
export function keptSourceName(dbName: string, at: Date): string {
  const stamp = at.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const room = 63 - SUFFIX.length - stamp.length;
  return `${dbName.slice(0, room).replace(/_+$/, '')}${SUFFIX}${stamp}`;
}

/**
 * Renames the source to its kept name: nobody may connect any more (not
 * even the admin's other tools), remaining sessions are ended, then the
 * rename (which refuses while anyone is connected) is retried a few times.
 */
export async function keepSource(admin: pg.ClientBase, dbName: string, keptAs: string): Promise<void> {
  const db = ident(dbName, 'database name');
  await admin.query(`ALTER DATABASE ${db} ALLOW_CONNECTIONS false`);
  for (let attempt = 1; ; attempt += 1) {
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [dbName]);
    try {
      await admin.query(`ALTER DATABASE ${db} RENAME TO ${ident(keptAs, 'kept database name')}`);
      return;
    } catch (err) {
      // 55006: a session was still closing; it is gone a moment later.
      if (sqlStateOf(err) !== '55006' || attempt >= 20) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    }
  }
}
