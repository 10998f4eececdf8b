/**
 * The shapes shared by the per-database migration engine (options, events,
 * outcome, bookkeeping rows), in a module of their own so the engine's parts
 * (plan, lock, steps, storage) and its entry point never import each other
 * in a circle.
 */
import type { TenantToolkitError } from '../errors.js';

export type MigrationDirection = 'up' | 'down';

/** One row of the bookkeeping table inside a migrated database. */
export interface AppliedMigration {
  name: string;
  checksum: string;
  appliedAt: Date;
  durationMs: number;
}

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
