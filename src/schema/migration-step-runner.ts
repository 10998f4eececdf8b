/**
 * The one owner of a migration's transaction: BEGIN, the migration's SQL,
 * its bookkeeping row, COMMIT, and ROLLBACK on any failure, all in one call
 * on the pinned connection. A `-- migrate:no-transaction` file runs its SQL
 * and then writes its row, each on its own.
 *
 * It also keeps what the run needs to report: the steps done, the migration
 * in flight, and whether any migration began (see
 * DatabaseMigrateOutcome.migrationBegan).
 */
import type pg from 'pg';
import { MigrationError } from '../errors.js';
import type { MigrationFile } from './migration-files.js';
import { deleteAppliedRow, insertAppliedRow } from './migration-storage.js';
import type { MigrationDirection, MigrationEvent, MigrationStep } from './migration-types.js';

export class MigrationStepRunner {
  /** Steps finished (committed), in order. */
  readonly steps: MigrationStep[] = [];
  /** The migration running now; after a failure, the one that failed. */
  inFlight: MigrationFile | undefined;
  /** True once a migration's first statement was sent. */
  began = false;

  constructor(
    private readonly client: pg.ClientBase,
    private readonly table: string,
    private readonly direction: MigrationDirection,
    private readonly onEvent?: (event: MigrationEvent) => void,
  ) {}

  /** Applies (up) or reverts (down) one migration with its bookkeeping row; throws the database's error. */
  async run(file: MigrationFile): Promise<void> {
    const sql = this.direction === 'up' ? file.up : file.down;
    if (sql === undefined) throw new MigrationError(`migration ${file.name} is irreversible`, { migration: file.name });
    this.inFlight = file;
    this.began = true;
    this.onEvent?.({ type: this.direction === 'up' ? 'migrating' : 'reverting', name: file.name });
    const started = performance.now();
    let durationMs: number;
    if (file.transactional) await this.client.query('BEGIN');
    try {
      await this.client.query(sql);
      // The row records how long the migration's own SQL took.
      durationMs = performance.now() - started;
      if (this.direction === 'up') await insertAppliedRow(this.client, this.table, { name: file.name, checksum: file.checksum, durationMs });
      else await deleteAppliedRow(this.client, this.table, file.name);
      if (file.transactional) await this.client.query('COMMIT');
    } catch (err) {
      if (file.transactional) await this.client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
    this.finished({ name: file.name, durationMs });
  }

  private finished(step: MigrationStep): void {
    this.inFlight = undefined;
    this.steps.push(step);
    this.onEvent?.({ type: this.direction === 'up' ? 'migrated' : 'reverted', ...step });
  }
}
