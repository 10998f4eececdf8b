/**
 * Applies SQL migrations to one database over one pinned connection, with
 * Umzug, under a session advisory lock taken on that same connection.
 * Used for the meta database and for every tenant database.
 *
 * A run, in named steps: take the lock; read the bookkeeping once under it,
 * check the history and plan; run the planned list (each migration and its
 * bookkeeping row in one transaction, owned by MigrationStepRunner); read
 * the bookkeeping once more for the outcome; call `afterRun` while the lock
 * is still held, so the caller's bookkeeping (the meta database) can never be
 * overtaken by another migrator's; release the lock. A dry run reads once,
 * without the lock, and plans.
 *
 * It never throws: the outcome carries the error, the versions before and
 * after, and what was applied, so a fleet runner can report every tenant.
 *
 * The connection is the caller's, but while it is pinned here it carries an
 * 'error' listener: a socket that dies between two queries (e.g. during
 * afterRun) then fails this outcome as DATABASE_UNAVAILABLE instead of
 * crashing the process. Callers end (or release) it as broken afterwards.
 */
import type pg from 'pg';
import type { TenantToolkitError } from '../errors.js';
import { advisoryKey } from '../pg/identifiers.js';
import { connectionFailure, migrationFailure, watchConnection, type LostConnection } from './migration-failure.js';
import type { MigrationFile } from './migration-files.js';
import { DEFAULT_LOCK_LABEL, releaseLock, resetSessionTimeouts, setSessionTimeouts, takeLock } from './migration-lock.js';
import { checkHistory, plan, plannedVersion } from './migration-plan.js';
import { MigrationStepRunner } from './migration-step-runner.js';
import { ensureStorageTable, readAppliedMigrations } from './migration-storage.js';
import type { AppliedMigration, DatabaseMigrateOptions, DatabaseMigrateOutcome, MigrationDirection } from './migration-types.js';
import { runPlanned } from './umzug-runner.js';

export type { DatabaseMigrateOptions, DatabaseMigrateOutcome, MigrationDirection, MigrationEvent, MigrationStep } from './migration-types.js';
export { DEFAULT_LOCK_LABEL, DEFAULT_LOCK_WAIT_MS } from './migration-lock.js';

/** What one run works with besides the caller's options. */
interface Run {
  client: pg.ClientBase;
  files: readonly MigrationFile[];
  options: DatabaseMigrateOptions;
  direction: MigrationDirection;
  table: string;
  lost: LostConnection;
}

/** What happened under the lock before the state was read back. */
interface Attempt {
  /** The bookkeeping as read under the lock (empty when that read failed). */
  before: AppliedMigration[];
  runner: MigrationStepRunner;
  error?: TenantToolkitError;
}

export async function migrateDatabase(
  client: pg.ClientBase,
  files: readonly MigrationFile[],
  options: DatabaseMigrateOptions = {},
): Promise<DatabaseMigrateOutcome> {
  // Pinned for the whole run: a socket error between queries must not become an uncaught 'error' event.
  const watch = watchConnection(client);
  const run: Run = {
    client,
    files,
    options,
    direction: options.direction ?? 'up',
    table: options.storageTable ?? 'schema_migrations',
    lost: watch.lost,
  };
  try {
    return await (options.dryRun ? dryRun(run) : lockedRun(run));
  } finally {
    watch.stop();
  }
}

/** The state as read, with nothing done. */
function stateOutcome(status: DatabaseMigrateOutcome['status'], applied: AppliedMigration[]): DatabaseMigrateOutcome {
  const at = applied.at(-1)?.name ?? null;
  return { status, from: at, to: at, steps: [], planned: [], applied, stateKnown: true, migrationBegan: false };
}

function unknownState(error: TenantToolkitError): DatabaseMigrateOutcome {
  return { status: 'failed', from: null, to: null, steps: [], planned: [], applied: [], stateKnown: false, migrationBegan: false, error };
}

/** Reads the bookkeeping once, without the lock, and plans; changes nothing. */
async function dryRun(run: Run): Promise<DatabaseMigrateOutcome> {
  const { client, files, options, direction, table, lost } = run;
  let applied: AppliedMigration[];
  try {
    applied = await readAppliedMigrations(client, table);
  } catch (err) {
    return unknownState(connectionFailure(err, lost()));
  }
  try {
    checkHistory(applied, files, direction);
    const planned = plan(direction, applied, files, options.to);
    // `to` is where the run would leave the database.
    return { ...stateOutcome(planned.length > 0 ? 'pending' : 'up-to-date', applied), planned, to: plannedVersion(direction, applied, planned) };
  } catch (err) {
    return { ...stateOutcome('failed', applied), error: connectionFailure(err, lost()) };
  }
}

async function lockedRun(run: Run): Promise<DatabaseMigrateOutcome> {
  const key = advisoryKey(run.options.lockLabel ?? DEFAULT_LOCK_LABEL);
  try {
    if (!(await takeLock(run.client, key, run.options))) return await unlockedReport(run, 'locked');
  } catch (err) {
    return await unlockedReport(run, 'failed', connectionFailure(err, run.lost()));
  }
  try {
    const attempt = await migrateUnderLock(run);
    const outcome = await readOutcome(run, attempt);
    return outcome.stateKnown ? await afterRun(run, outcome) : outcome;
  } finally {
    await resetSessionTimeouts(run.client);
    await releaseLock(run.client, key);
  }
}

/** Without the lock nothing ran; the state is read only to report where the database is. */
async function unlockedReport(run: Run, status: 'locked' | 'failed', error?: TenantToolkitError): Promise<DatabaseMigrateOutcome> {
  try {
    return { ...stateOutcome(status, await readAppliedMigrations(run.client, run.table)), ...(error ? { error } : {}) };
  } catch (err) {
    return unknownState(error ?? connectionFailure(err, run.lost()));
  }
}

/** Reads the bookkeeping under the lock, checks the history, plans, and runs the plan. Never throws. */
async function migrateUnderLock(run: Run): Promise<Attempt> {
  const { client, files, options, direction, table, lost } = run;
  const runner = new MigrationStepRunner(client, table, direction, options.onEvent);
  let before: AppliedMigration[] = [];
  let planned: string[];
  try {
    await ensureStorageTable(client, table);
    // The one reading the plan is made from: taken under the lock, so no other migrator can change it meanwhile.
    before = await readAppliedMigrations(client, table);
    checkHistory(before, files, direction);
    planned = plan(direction, before, files, options.to);
  } catch (err) {
    return { before, runner, error: connectionFailure(err, lost()) };
  }
  if (planned.length === 0) return { before, runner };
  try {
    await setSessionTimeouts(client, options);
    await runPlanned(
      runner,
      direction,
      files,
      planned,
      before.map((m) => m.name),
    );
    return { before, runner };
  } catch (err) {
    const error = runner.inFlight ? migrationFailure(err, direction, runner.inFlight, lost()) : connectionFailure(err, lost());
    return { before, runner, error };
  } finally {
    await resetSessionTimeouts(client);
  }
}

/** The outcome, from the bookkeeping read back on the same connection before the lock is released. */
async function readOutcome(run: Run, { before, runner, error }: Attempt): Promise<DatabaseMigrateOutcome> {
  const from = before.at(-1)?.name ?? null;
  const done = {
    from,
    steps: runner.steps,
    planned: [],
    migrationBegan: runner.began,
    ...(error && runner.inFlight ? { failedMigration: runner.inFlight.name } : {}),
  };
  try {
    const after = await readAppliedMigrations(run.client, run.table);
    const status = error ? 'failed' : runner.steps.length > 0 ? 'migrated' : 'up-to-date';
    return { status, ...done, to: after.at(-1)?.name ?? null, applied: after, stateKnown: true, ...(error ? { error } : {}) };
  } catch (err) {
    return { status: 'failed', ...done, to: from, applied: before, stateKnown: false, error: error ?? connectionFailure(err, run.lost()) };
  }
}

/** The caller's bookkeeping, still under the lock. */
async function afterRun(run: Run, outcome: DatabaseMigrateOutcome): Promise<DatabaseMigrateOutcome> {
  if (!run.options.afterRun) return outcome;
  try {
    await run.options.afterRun(outcome);
    return outcome;
  } catch (err) {
    // The database changed as reported; only the caller's bookkeeping failed. A rerun repairs it.
    return outcome.error ? outcome : { ...outcome, status: 'failed', error: connectionFailure(err, run.lost()) };
  }
}
