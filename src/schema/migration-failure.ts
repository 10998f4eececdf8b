/**
 * How a failure on the migrating connection is reported: a socket that died
 * (seen by the connection watcher or by the query) is DATABASE_UNAVAILABLE
 * with a hint saying whether anything can be half done; a migration's own
 * SQL error is MIGRATION_FAILED naming the file.
 */
import type pg from 'pg';
import { DatabaseUnavailableError, MigrationError, TenantToolkitError, isConnectionError, messageOf, toToolkitError } from '../errors.js';
import type { MigrationFile } from './migration-files.js';
import type { MigrationDirection } from './migration-types.js';

/** The first socket error a pinned connection reported, if any. */
export type LostConnection = () => unknown;

/**
 * Listens for 'error' on a pinned connection: a socket that dies between two
 * queries must fail the run, not crash the process with an unhandled event.
 */
export function watchConnection(client: pg.ClientBase): { lost: LostConnection; stop: () => void } {
  let lost: unknown;
  const onError = (err: unknown) => {
    lost ??= err;
  };
  client.on('error', onError);
  return { lost: () => lost, stop: () => client.off('error', onError) };
}

const UNAVAILABLE_HINT = 'check that the database server is up and reachable, then run the migration again';

/** Anything thrown on the pinned connection; a lost socket is DATABASE_UNAVAILABLE whatever the query saw. */
export function connectionFailure(err: unknown, lost: unknown): TenantToolkitError {
  if (lost !== undefined && !(err instanceof TenantToolkitError && err.code !== 'INTERNAL')) {
    return new DatabaseUnavailableError(`connection lost: ${messageOf(lost)}`, { cause: err, hint: UNAVAILABLE_HINT });
  }
  const known = toToolkitError(err);
  if (known.code === 'DATABASE_UNAVAILABLE' && !known.hint) {
    return new DatabaseUnavailableError(known.message, { cause: err, hint: UNAVAILABLE_HINT, details: known.details });
  }
  return known;
}

/** A failure while migration `migration` ran (Umzug wraps the original error; report the database's message). */
export function migrationFailure(
  err: unknown,
  direction: MigrationDirection,
  migration: MigrationFile | undefined,
  lost: unknown,
): TenantToolkitError {
  const cause = (err as { cause?: unknown }).cause ?? err;
  if (cause instanceof TenantToolkitError) return cause;
  const name = migration?.name;
  if (lost !== undefined || isConnectionError(cause)) {
    // Not the migration's fault: the connection went away while it ran.
    const where = name ? ` while migration ${name} ran` : ' during the migration';
    return new DatabaseUnavailableError(
      `connection lost${where} (${direction === 'up' ? 'applying' : 'reverting'}): ${messageOf(lost ?? cause)}`,
      {
        cause,
        hint:
          migration?.transactional !== false
            ? 'its transaction was rolled back; check that the database server is up, then run the migration again'
            : 'it runs without a transaction and may be half done: check the database before running it again',
        ...(name ? { details: { migration: name } } : {}),
      },
    );
  }
  const where = name ? `migration ${name}` : 'migration';
  const verb = direction === 'up' ? 'failed' : 'failed to revert';
  const detail = (cause as { detail?: unknown }).detail;
  const hint = (cause as { hint?: unknown }).hint;
  return new MigrationError(`${where} ${verb}: ${messageOf(cause)}${typeof detail === 'string' ? ` (${detail})` : ''}`, {
    cause,
    ...(typeof hint === 'string' ? { hint } : {}),
    ...(name ? { migration: name, details: { migration: name } } : {}),
  });
}
