/**
 * Applies SQL migrations to one database over one pinned connection, with
 * Umzug, under a session advisory lock taken on that same connection.
 * Used for the meta database and for every tenant database.
 *
 * It never throws: the outcome carries the error, the versions before and
 * after, and what was applied, so a fleet runner can report every tenant.
 * `afterRun` runs while the lock is still held, so the caller's bookkeeping
 * (the meta database) can never be overtaken by another migrator's.
 *
 * The connection is the caller's, but while it is pinned here it carries an
 * 'error' listener: a socket that dies between two queries (e.g. during
 * afterRun) then fails this outcome as DATABASE_UNAVAILABLE instead of
 * crashing the process. Callers end (or release) it as broken afterwards.
 */
import type pg from 'pg';
import { Umzug, type RunnableMigration } from 'umzug';
import { DatabaseUnavailableError, MigrationError, TenantToolkitError, isConnectionError, messageOf, toToolkitError } from '../errors.js';
import { advisoryKey } from '../pg/identifiers.js';
import type { MigrationFile } from './migration-files.js';
import { setSessionTimeouts, takeLock } from './migration-lock.js';
import { checkHistory, plan } from './migration-plan.js';
import {
  ensureStorageTable,
  PgMigrationStorage,
  readAppliedMigrations,
  type AppliedMigration,
  type TransactionSlot,
} from './migration-storage.js';

export type MigrationDirection = 'up' | 'down';

export interface DatabaseMigrateOptions {
  direction?: MigrationDirection;
  /** up: apply up to and including this migration. down: revert everything after it (`0`: revert all). */
  to?: string;
  dryRun?: boolean;
  /** Bookkeeping table in the migrated database. */
  storageTable?: string;
  /** Advisory lock label; one lock per database. */
  lockLabel?: string;
  /** What to do when another migrator holds the lock. */
  ifLocked?: 'wait' | 'skip';
  /** How long to wait for the advisory lock (0: forever). Default 5 minutes. */
  lockWaitMs?: number;
  /** statement_timeout for each migration statement (0: none). */
  statementTimeoutMs?: number;
  /** lock_timeout for the DDL inside migrations (0: none). */
  lockTimeoutMs?: number;
  onEvent?: (event: MigrationEvent) => void;
  /**
   * Runs after the migrations, while the lock is still held, whenever the
   * resulting state could be read. A throw fails the outcome.
   */
  afterRun?: (outcome: DatabaseMigrateOutcome) => Promise<void>;
}

export interface MigrationEvent {
  type: 'migrating' | 'migrated' | 'reverting' | 'reverted';
  name: string;
  durationMs?: number;
}

export interface MigrationStep {
  name: string;
  durationMs: number;
}

export interface DatabaseMigrateOutcome {
  /** `pending`: a dry run found work to do (see `planned`). `locked`: skipped, another migrator holds the lock. */
  status: 'migrated' | 'up-to-date' | 'pending' | 'locked' | 'failed';
  from: string | null;
  to: string | null;
  /** Applied (up) or reverted (down) in this run, in order. */
  steps: MigrationStep[];
  /** What a dry run would do, in order. */
  planned: string[];
  /** Bookkeeping rows as they are after the run. */
  applied: AppliedMigration[];
  /** False when the state after the run could not be read (e.g. the connection broke); `applied` is then stale. */
  stateKnown: boolean;
  /** The migration that was running when the run failed (its changes were rolled back, unless no-transaction). */
  failedMigration?: string;
  /**
   * True once the first statement of a migration (its BEGIN, or for a
   * no-transaction file its SQL) was sent in this run. A failed outcome with
   * `migrationBegan: false` changed no schema: only connecting, reading the
   * bookkeeping, taking the lock and creating the (empty) bookkeeping table
   * had happened, and all of that is safe to repeat.
   */
  migrationBegan: boolean;
  error?: TenantToolkitError;
}

export const DEFAULT_LOCK_LABEL = 'metapus-tenant:migrate';
export { DEFAULT_LOCK_WAIT_MS } from './migration-lock.js';

export async function migrateDatabase(
  client: pg.ClientBase,
  files: readonly MigrationFile[],
  options: DatabaseMigrateOptions = {},
): Promise<DatabaseMigrateOutcome> {
  // Pinned for the whole run: a socket error between queries must not become an uncaught 'error' event.
  let lost: unknown;
  const onError = (err: unknown) => {
    lost ??= err;
  };
  client.on('error', onError);
  try {
    return await migratePinned(client, files, options, () => lost);
  } finally {
    client.off('error', onError);
  }
}

async function migratePinned(
  client: pg.ClientBase,
  files: readonly MigrationFile[],
  options: DatabaseMigrateOptions,
  lostConnection: () => unknown,
): Promise<DatabaseMigrateOutcome> {
  const direction = options.direction ?? 'up';
  const table = options.storageTable ?? 'schema_migrations';
  let before: AppliedMigration[];
  try {
    before = await readAppliedMigrations(client, table);
  } catch (err) {
    return {
      status: 'failed',
      from: null,
      to: null,
      steps: [],
      planned: [],
      applied: [],
      stateKnown: false,
      migrationBegan: false,
      error: connectionFailure(err, lostConnection()),
    };
  }
  const from = before.at(-1)?.name ?? null;
  const base = { from, to: from, steps: [] as MigrationStep[], planned: [] as string[], applied: before, stateKnown: true, migrationBegan: false };

  if (options.dryRun) {
    try {
      checkHistory(before, files, direction);
      const planned = plan(direction, before, files, options.to);
      // `to` is where the run would leave the database.
      return { ...base, status: planned.length > 0 ? 'pending' : 'up-to-date', planned, to: plannedVersion(direction, before, planned) };
    } catch (err) {
      return { ...base, status: 'failed', error: connectionFailure(err, lostConnection()) };
    }
  }
  const key = advisoryKey(options.lockLabel ?? DEFAULT_LOCK_LABEL);
  return migrateLocked(client, files, options, { direction, table, key, base, from, lostConnection });
}

interface LockedRun {
  direction: MigrationDirection;
  table: string;
  key: string;
  base: Omit<DatabaseMigrateOutcome, 'status'>;
  from: string | null;
  /** The socket error seen on the connection, if any. */
  lostConnection: () => unknown;
}

async function migrateLocked(
  client: pg.ClientBase,
  files: readonly MigrationFile[],
  options: DatabaseMigrateOptions,
  { direction, table, key, base, from, lostConnection }: LockedRun,
): Promise<DatabaseMigrateOutcome> {
  try {
    if (!(await takeLock(client, key, options))) return { ...base, status: 'locked' };
  } catch (err) {
    return { ...base, status: 'failed', error: connectionFailure(err, lostConnection()) };
  }

  const slot: TransactionSlot = { open: false };
  const steps: MigrationStep[] = [];
  let error: TenantToolkitError | undefined;
  let inFlight: string | undefined;
  let failedMigration: string | undefined;
  let began = false;
  let outcome: DatabaseMigrateOutcome = { ...base, status: 'failed', stateKnown: false };
  try {
    try {
      await ensureStorageTable(client, table);
      // Re-read under the lock: another migrator may have finished meanwhile.
      const current = await readAppliedMigrations(client, table);
      checkHistory(current, files, direction);
      const names = plan(direction, current, files, options.to);
      if (names.length > 0) {
        await setSessionTimeouts(client, options);
        const umzug = buildUmzug(client, files, table, slot, direction, {
          started: (name) => {
            inFlight = name;
            began = true;
            options.onEvent?.({ type: direction === 'up' ? 'migrating' : 'reverting', name });
          },
          finished: (step) => {
            inFlight = undefined;
            steps.push(step);
            options.onEvent?.({ type: direction === 'up' ? 'migrated' : 'reverted', ...step });
          },
        });
        try {
          if (direction === 'up') await umzug.up({ migrations: names });
          else await umzug.down({ migrations: names });
        } catch (err) {
          failedMigration = inFlight;
          error = wrapMigrationFailure(err, direction, inFlight, files, lostConnection());
        }
        await closeSlot(client, slot);
        await client.query('RESET statement_timeout; RESET lock_timeout');
      }
    } catch (err) {
      error ??= connectionFailure(err, lostConnection());
      await closeSlot(client, slot);
    }
    // The state after the run, read on the same connection before the lock is released.
    const after = await readAppliedMigrations(client, table);
    outcome = {
      status: error ? 'failed' : steps.length > 0 ? 'migrated' : 'up-to-date',
      from,
      to: after.at(-1)?.name ?? null,
      steps,
      planned: [],
      applied: after,
      stateKnown: true,
      migrationBegan: began,
      ...(failedMigration ? { failedMigration } : {}),
      ...(error ? { error } : {}),
    };
    if (options.afterRun) {
      try {
        await options.afterRun(outcome);
      } catch (err) {
        // The database changed as reported; only the caller's bookkeeping failed. A rerun repairs it.
        if (!outcome.error) outcome = { ...outcome, status: 'failed', error: connectionFailure(err, lostConnection()) };
      }
    }
  } catch (err) {
    outcome = {
      ...outcome,
      status: 'failed',
      steps,
      migrationBegan: began,
      ...(failedMigration ? { failedMigration } : {}),
      error: error ?? connectionFailure(err, lostConnection()),
    };
  } finally {
    await closeSlot(client, slot);
    await client.query('RESET statement_timeout; RESET lock_timeout').catch(() => undefined);
    await client.query('SELECT pg_advisory_unlock($1)', [key]).catch(() => undefined);
  }
  return outcome;
}

function buildUmzug(
  client: pg.ClientBase,
  files: readonly MigrationFile[],
  table: string,
  slot: TransactionSlot,
  direction: MigrationDirection,
  on: { started: (name: string) => void; finished: (step: MigrationStep) => void },
): Umzug<object> {
  const durations = new Map<string, number>();
  const checksums = new Map(files.map((f) => [f.name, f.checksum]));
  const umzug = new Umzug({
    migrations: files.map((file) => toRunnable(client, file, slot, durations)),
    storage: new PgMigrationStorage(client, table, slot, checksums, durations),
    logger: undefined,
  });
  umzug.on(direction === 'up' ? 'migrating' : 'reverting', ({ name }) => on.started(name));
  umzug.on(direction === 'up' ? 'migrated' : 'reverted', ({ name }) => on.finished({ name, durationMs: durations.get(name) ?? 0 }));
  return umzug;
}

function toRunnable(
  client: pg.ClientBase,
  file: MigrationFile,
  slot: TransactionSlot,
  durations: Map<string, number>,
): RunnableMigration<object> {
  const run = async (sql: string) => {
    const started = performance.now();
    // The transaction stays open until the storage writes the bookkeeping row and commits.
    if (file.transactional) {
      await client.query('BEGIN');
      slot.open = true;
    }
    try {
      await client.query(sql);
    } catch (err) {
      await closeSlot(client, slot);
      throw err;
    }
    durations.set(file.name, performance.now() - started);
  };
  return {
    name: file.name,
    path: file.path,
    up: () => run(file.up),
    down: () => {
      if (file.down === undefined) {
        throw new MigrationError(`migration ${file.name} is irreversible`, { migration: file.name });
      }
      return run(file.down);
    },
  };
}

async function closeSlot(client: pg.ClientBase, slot: TransactionSlot): Promise<void> {
  if (!slot.open) return;
  slot.open = false;
  await client.query('ROLLBACK').catch(() => undefined);
}

/** The version a dry run would leave the database at: the last planned (up), or what stays applied (down). */
function plannedVersion(direction: MigrationDirection, applied: readonly AppliedMigration[], planned: readonly string[]): string | null {
  if (direction === 'up') return planned.at(-1) ?? applied.at(-1)?.name ?? null;
  const reverted = new Set(planned);
  return applied.filter((m) => !reverted.has(m.name)).at(-1)?.name ?? null;
}

/** Anything thrown on the pinned connection; a lost socket is DATABASE_UNAVAILABLE whatever the query saw. */
function connectionFailure(err: unknown, lost: unknown): TenantToolkitError {
  if (lost !== undefined && !(err instanceof TenantToolkitError && err.code !== 'INTERNAL')) {
    return new DatabaseUnavailableError(`connection lost: ${messageOf(lost)}`, { cause: err, hint: UNAVAILABLE_HINT });
  }
  const known = toToolkitError(err);
  if (known.code === 'DATABASE_UNAVAILABLE' && !known.hint) {
    return new DatabaseUnavailableError(known.message, { cause: err, hint: UNAVAILABLE_HINT, details: known.details });
  }
  return known;
}

const UNAVAILABLE_HINT = 'check that the database server is up and reachable, then run the migration again';

function wrapMigrationFailure(
  err: unknown,
  direction: MigrationDirection,
  inFlight: string | undefined,
  files: readonly MigrationFile[],
  lost: unknown,
): TenantToolkitError {
  // Umzug wraps the original error; report the migration and the database's message.
  const migration = (err as { migration?: { name?: string } }).migration?.name ?? inFlight;
  const cause = (err as { cause?: unknown }).cause ?? err;
  if (cause instanceof TenantToolkitError) return cause;
  if (lost !== undefined || isConnectionError(cause)) {
    // Not the migration's fault: the connection went away while it ran.
    const transactional = files.find((f) => f.name === migration)?.transactional !== false;
    const where = migration ? ` while migration ${migration} ran` : ' during the migration';
    return new DatabaseUnavailableError(
      `connection lost${where} (${direction === 'up' ? 'applying' : 'reverting'}): ${messageOf(lost ?? cause)}`,
      {
        cause,
        hint: transactional
          ? 'its transaction was rolled back; check that the database server is up, then run the migration again'
          : 'it runs without a transaction and may be half done: check the database before running it again',
        ...(migration ? { details: { migration } } : {}),
      },
    );
  }
  const where = migration ? `migration ${migration}` : 'migration';
  const verb = direction === 'up' ? 'failed' : 'failed to revert';
  const detail = (cause as { detail?: unknown }).detail;
  const hint = (cause as { hint?: unknown }).hint;
  return new MigrationError(`${where} ${verb}: ${messageOf(cause)}${typeof detail === 'string' ? ` (${detail})` : ''}`, {
    cause,
    ...(typeof hint === 'string' ? { hint } : {}),
    ...(migration ? { migration, details: { migration } } : {}),
  });
}
