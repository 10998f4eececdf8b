/**
 * The per-database migration lock: a session advisory lock taken on the
 * migrating connection itself (so it dies with the connection), waited for
 * under lock_timeout or skipped; and the run's session timeouts.
 */
import type pg from 'pg';
import { LockTimeoutError, isLockNotAvailable } from '../errors.js';
import type { DatabaseMigrateOptions } from './migration-types.js';

/** The advisory lock label when the caller names none. */
export const DEFAULT_LOCK_LABEL = 'metapus-tenant:migrate';

/** How long a migrator waits for another one's lock by default. */
export const DEFAULT_LOCK_WAIT_MS = 5 * 60_000;

type LockOptions = Pick<DatabaseMigrateOptions, 'ifLocked' | 'lockWaitMs'>;

/** True when the lock was taken; false when it is held elsewhere and ifLocked is `skip`. */
export async function takeLock(client: pg.ClientBase, key: string, options: LockOptions): Promise<boolean> {
  if (options.ifLocked === 'skip') {
    const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [key]);
    return rows[0]?.ok === true;
  }
  const waitMs = options.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS;
  // lock_timeout bounds the wait for an advisory lock as for any other lock.
  await client.query(`SET lock_timeout = ${Math.max(0, Math.round(waitMs))}`);
  try {
    await client.query('SELECT pg_advisory_lock($1)', [key]);
    return true;
  } catch (err) {
    if (isLockNotAvailable(err)) {
      throw new LockTimeoutError('the migration lock of this database', { cause: err });
    }
    throw err;
  } finally {
    await client.query('RESET lock_timeout').catch(() => undefined);
  }
}

/** Best effort: a broken connection has lost its session lock anyway. */
export async function releaseLock(client: pg.ClientBase, key: string): Promise<void> {
  await client.query('SELECT pg_advisory_unlock($1)', [key]).catch(() => undefined);
}

export async function setSessionTimeouts(
  client: pg.ClientBase,
  options: Pick<DatabaseMigrateOptions, 'statementTimeoutMs' | 'lockTimeoutMs'>,
): Promise<void> {
  const statement = Math.max(0, Math.round(options.statementTimeoutMs ?? 0));
  const lock = Math.max(0, Math.round(options.lockTimeoutMs ?? 0));
  await client.query(`SET statement_timeout = ${statement}; SET lock_timeout = ${lock}`);
}

/** Best effort, like releaseLock. */
export async function resetSessionTimeouts(client: pg.ClientBase): Promise<void> {
  await client.query('RESET statement_timeout; RESET lock_timeout').catch(() => undefined);
}
