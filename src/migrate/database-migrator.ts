/**
 * Applies SQL migrations to one database over one pinned connection, with
 * Umzug, under a session advisory lock taken on that same connection.
 * Used for the meta database and for every tenant database.
 *
 * It never throws for a failed migration: the outcome carries the error, the
 * versions before and after, and what was applied, so a fleet runner can
 * report every tenant.
 */
import type pg from 'pg';
import { Umzug, type RunnableMigration } from 'umzug';
import {
  ChecksumMismatchError,
  LockTimeoutError,
  MigrationError,
  MigrationMissingError,
  TenantToolkitError,
  messageOf,
  toToolkitError,
} from '../errors.js';
import { advisoryKey } from '../core/identifiers.js';
import type { MigrationFile } from './migration-files.js';
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
  /** How long to wait for the advisory lock. */
  lockWaitMs?: number;
  /** statement_timeout for each migration statement (0: none). */
  statementTimeoutMs?: number;
  /** lock_timeout for the DDL inside migrations (0: none). */
  lockTimeoutMs?: number;
  onEvent?: (event: MigrationEvent) => void;
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
  status: 'migrated' | 'up-to-date' | 'locked' | 'failed';
  from: string | null;
  to: string | null;
  /** Applied (up) or reverted (down) in this run, in order. */
  steps: MigrationStep[];
  /** What a dry run would do, in order. */
  planned: string[];
  /** Bookkeeping rows as they are after the run. */
  applied: AppliedMigration[];
  error?: TenantToolkitError;
}

export const DEFAULT_LOCK_LABEL = 'metapus-tenant:migrate';

export async function migrateDatabase(
  client: pg.ClientBase,
  files: readonly MigrationFile[],
  options: DatabaseMigrateOptions = {},
): Promise<DatabaseMigrateOutcome> {
  const direction = options.direction ?? 'up';
  const table = options.storageTable ?? 'schema_migrations';
  const before = await readAppliedMigrations(client, table);
  const from = before.at(-1)?.name ?? null;
  const base = { from, to: from, steps: [] as MigrationStep[], planned: [] as string[], applied: before };

  if (options.dryRun) {
    try {
      checkHistory(before, files);
      return { ...base, status: 'up-to-date', planned: plan(direction, before, files, options.to) };
    } catch (err) {
      return { ...base, status: 'failed', error: toToolkitError(err) };
    }
  }

  const key = advisoryKey(options.lockLabel ?? DEFAULT_LOCK_LABEL);
  try {
    if (!(await takeLock(client, key, options))) return { ...base, status: 'locked' };
  } catch (err) {
    return { ...base, status: 'failed', error: toToolkitError(err) };
  }

  const slot: TransactionSlot = { open: false };
  const steps: MigrationStep[] = [];
  let error: TenantToolkitError | undefined;
  try {
    await ensureStorageTable(client, table);
    // Re-read under the lock: another migrator may have finished meanwhile.
    const current = await readAppliedMigrations(client, table);
    checkHistory(current, files);
    const names = plan(direction, current, files, options.to);
    if (names.length > 0) {
      await setSessionTimeouts(client, options);
      const durations = new Map<string, number>();
      const checksums = new Map(files.map((f) => [f.name, f.checksum]));
      const runnable = files.map((file) => toRunnable(client, file, slot, durations));
      const umzug = new Umzug({
        migrations: runnable,
        storage: new PgMigrationStorage(client, table, slot, checksums, durations),
        logger: undefined,
      });
      umzug.on(direction === 'up' ? 'migrating' : 'reverting', ({ name }) =>
        options.onEvent?.({ type: direction === 'up' ? 'migrating' : 'reverting', name }),
      );
      umzug.on(direction === 'up' ? 'migrated' : 'reverted', ({ name }) => {
        const durationMs = durations.get(name) ?? 0;
        steps.push({ name, durationMs });
        options.onEvent?.({ type: direction === 'up' ? 'migrated' : 'reverted', name, durationMs });
      });
      try {
        if (direction === 'up') await umzug.up({ migrations: names });
        else await umzug.down({ migrations: names });
      } catch (err) {
        error = wrapMigrationFailure(err, direction);
      }
    }
  } catch (err) {
    error = toToolkitError(err);
  } finally {
    if (slot.open) {
      slot.open = false;
      await client.query('ROLLBACK').catch(() => undefined);
    }
    await client.query('RESET statement_timeout; RESET lock_timeout').catch(() => undefined);
    await client.query('SELECT pg_advisory_unlock($1)', [key]).catch(() => undefined);
  }

  const after = await readAppliedMigrations(client, table).catch(() => before);
  const to = after.at(-1)?.name ?? null;
  const status = error ? 'failed' : steps.length > 0 ? 'migrated' : 'up-to-date';
  return { status, from, to, steps, planned: [], applied: after, ...(error ? { error } : {}) };
}

/** Names to run, in run order. */
function plan(
  direction: MigrationDirection,
  applied: readonly AppliedMigration[],
  files: readonly MigrationFile[],
  to: string | undefined,
): string[] {
  const done = new Set(applied.map((m) => m.name));
  if (direction === 'up') {
    if (to !== undefined && !files.some((f) => f.name === to)) throw unknownMigration(to);
    const pending: string[] = [];
    for (const file of files) {
      if (!done.has(file.name)) pending.push(file.name);
      if (file.name === to) break;
    }
    return pending;
  }
  const executed = applied.map((m) => m.name);
  if (to === undefined) return executed.slice(-1);
  if (to === '0') return executed.reverse();
  const index = executed.indexOf(to);
  if (index < 0) throw unknownMigration(to, 'is not applied');
  const revert = executed.slice(index + 1).reverse();
  for (const name of revert) {
    const file = files.find((f) => f.name === name);
    if (file && file.down === undefined) {
      throw new MigrationError(`migration ${name} is irreversible (it has no "-- migrate:down" part)`, { migration: name });
    }
  }
  return revert;
}

function unknownMigration(name: string, why = 'does not exist'): TenantToolkitError {
  return new TenantToolkitError('MIGRATION_NOT_FOUND', `migration "${name}" ${why}`, {
    hint: 'use a file name without .sql, e.g. 00003_catalogs',
  });
}

/** Applied history must match the files: nothing changed, nothing removed. */
function checkHistory(applied: readonly AppliedMigration[], files: readonly MigrationFile[]): void {
  const byName = new Map(files.map((f) => [f.name, f]));
  for (const row of applied) {
    const file = byName.get(row.name);
    if (!file) throw new MigrationMissingError(row.name);
    if (file.checksum !== row.checksum) throw new ChecksumMismatchError(row.name);
  }
}

function toRunnable(
  client: pg.ClientBase,
  file: MigrationFile,
  slot: TransactionSlot,
  durations: Map<string, number>,
): RunnableMigration<unknown> {
  const run = async (sql: string) => {
    const started = performance.now();
    if (file.transactional) {
      await client.query('BEGIN');
      slot.open = true;
    }
    try {
      await client.query(sql);
    } catch (err) {
      if (slot.open) {
        slot.open = false;
        await client.query('ROLLBACK').catch(() => undefined);
      }
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

function wrapMigrationFailure(err: unknown, direction: MigrationDirection): TenantToolkitError {
  // Umzug wraps the original error; report the migration and the database's message.
  const migration = (err as { migration?: { name?: string } }).migration?.name;
  const cause = (err as { cause?: unknown }).cause ?? err;
  if (cause instanceof TenantToolkitError) return cause;
  const where = migration ? `migration ${migration}` : 'migration';
  const verb = direction === 'up' ? 'failed' : 'failed to revert';
  return new MigrationError(`${where} ${verb}: ${messageOf(cause)}`, {
    cause,
    ...(migration ? { migration } : {}),
  });
}

async function takeLock(client: pg.ClientBase, key: string, options: DatabaseMigrateOptions): Promise<boolean> {
  if (options.ifLocked === 'skip') {
    const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [key]);
    return rows[0]?.ok === true;
  }
  const waitMs = options.lockWaitMs ?? 5 * 60_000;
  await client.query(`SET lock_timeout = ${Math.max(0, Math.round(waitMs))}`);
  try {
    await client.query('SELECT pg_advisory_lock($1)', [key]);
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === '55P03') {
      throw new LockTimeoutError('the migration lock of this database', { cause: err });
    }
    throw err;
  } finally {
    await client.query('RESET lock_timeout').catch(() => undefined);
  }
}

async function setSessionTimeouts(client: pg.ClientBase, options: DatabaseMigrateOptions): Promise<void> {
  const statement = Math.max(0, Math.round(options.statementTimeoutMs ?? 0));
  const lock = Math.max(0, Math.round(options.lockTimeoutMs ?? 0));
  await client.query(`SET statement_timeout = ${statement}; SET lock_timeout = ${lock}`);
}
