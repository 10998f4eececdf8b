/**
 * Copies a tenant database's rows into a fresh database of the same schema:
 * every table read in ONE snapshot of the source (REPEATABLE READ READ
 * ONLY), streamed `COPY ... TO STDOUT` -> `COPY ... FROM STDIN`
 * (pg-copy-streams, node:stream pipeline: constant memory, no pg_dump). The
 * text format with the same output settings on both sessions is what stays
 * readable across majors (15 <-> 18); binary output of a type may change.
 *
 * The target is written in one transaction: its tables emptied first (the
 * migrations may seed rows; the migration bookkeeping is never touched),
 * referenced tables copied first, triggers off (session_replication_role =
 * replica when the admin may set it, else each table's user triggers
 * disabled by its owner) so posting triggers do not run twice, secondary
 * indexes built after the rows are in (deferred-indexes.ts), sequences set
 * from the source, and each table's rows and checksum compared before
 * COMMIT: a mismatch leaves the target empty and fails the copy.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { MoveError, sqlStateOf } from '../errors.js';
import { columnList, listSequences, listTables, qualified, type CopiedTable } from './table-catalog.js';
import { tableChecksum } from './table-checksum.js';
import { dropSecondaryIndexes, rebuildIndexes } from './deferred-indexes.js';

/** Output settings both sessions share, so text rows (and their checksums) are byte-identical. */
const SESSION_SETTINGS = [
  "SET DateStyle = 'ISO, YMD'",
  "SET IntervalStyle = 'postgres'",
  "SET TimeZone = 'UTC'",
  'SET extra_float_digits = 3',
  "SET bytea_output = 'hex'",
  "SET client_encoding = 'UTF8'",
];

export async function copySessionSettings(client: pg.ClientBase): Promise<void> {
  for (const sql of SESSION_SETTINGS) await client.query(sql);
}

export interface TableCopied {
  table: string;
  rows: number;
  bytes: number;
  durationMs: number;
  checksum: string;
}

export type CopyEvent =
  | { type: 'tables'; count: number }
  | { type: 'table-start'; table: string; index: number; count: number }
  | { type: 'table-progress'; table: string; bytes: number }
  | ({ type: 'table-done' } & TableCopied);

export interface CopyOptions {
  /** Tables in `public` not copied (the migration bookkeeping). */
  skip: readonly string[];
  onEvent?: (event: CopyEvent) => void;
}

export interface CopyResult {
  tables: TableCopied[];
  rows: number;
  bytes: number;
  sequences: number;
}

/** Opens the source's snapshot: every later read on `source` sees the same moment. */
export async function beginSnapshot(source: pg.ClientBase): Promise<void> {
  await copySessionSettings(source);
  await source.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
}

/**
 * Copies everything; `source` is inside beginSnapshot's transaction, `target`
 * acts as the database's owner. Commits the target only when every table's
 * rows and checksum match.
 */
export async function copyTables(source: pg.ClientBase, target: pg.ClientBase, options: CopyOptions): Promise<CopyResult> {
  const tables = await listTables(source, options.skip);
  options.onEvent?.({ type: 'tables', count: tables.length });
  await copySessionSettings(target);
  await target.query('BEGIN');
  try {
    const restoreTriggers = await triggersOff(target, tables);
    if (tables.length > 0) await target.query(`TRUNCATE ${tables.map(qualified).join(', ')}`);
    const indexes = await dropSecondaryIndexes(target, tables.map(qualified));
    const copied: TableCopied[] = [];
    for (const [index, table] of tables.entries()) {
      options.onEvent?.({ type: 'table-start', table: qualified(table), index, count: tables.length });
      const done = await copyTable(source, target, table, options.onEvent);
      copied.push(done);
      options.onEvent?.({ type: 'table-done', ...done });
    }
    const sequences = await copySequences(source, target);
    await rebuildIndexes(target, indexes);
    await restoreTriggers();
    await target.query('COMMIT');
    return {
      tables: copied,
      rows: copied.reduce((n, t) => n + t.rows, 0),
      bytes: copied.reduce((n, t) => n + t.bytes, 0),
      sequences,
    };
  } catch (err) {
    await target.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

async function copyTable(
  source: pg.ClientBase,
  target: pg.ClientBase,
  table: CopiedTable,
  onEvent: CopyOptions['onEvent'],
): Promise<TableCopied> {
  const started = performance.now();
  const name = qualified(table);
  const columns = columnList(table);
  let bytes = 0;
  if (table.columns.length > 0) {
    const reader = source.query(copyStreams.to(`COPY ${name} (${columns}) TO STDOUT`));
    const writer = target.query(copyStreams.from(`COPY ${name} (${columns}) FROM STDIN`));
    let reported = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback: TransformCallback) {
        bytes += chunk.length;
        // A progress event per 4 MiB: enough for a live line, cheap for a large table.
        if (bytes - reported >= 4 << 20) {
          reported = bytes;
          onEvent?.({ type: 'table-progress', table: name, bytes });
        }
        callback(null, chunk);
      },
    });
    await pipeline(reader, counter, writer);
  }
  // Both sides at once: two servers (or two backends) hash in parallel.
  const [before, after] = await Promise.all([tableChecksum(source, table), tableChecksum(target, table)]);
  if (before.rows !== after.rows || before.sum !== after.sum) {
    throw new MoveError(`table ${name} differs after the copy: ${before.rows} rows in the source, ${after.rows} in the target`, {
      details: { table: name, sourceRows: before.rows, targetRows: after.rows },
    });
  }
  return { table: name, rows: after.rows, bytes, durationMs: performance.now() - started, checksum: after.sum };
}

/** Each sequence (identity columns' included) gets the source's value as the snapshot saw it. */
async function copySequences(source: pg.ClientBase, target: pg.ClientBase): Promise<number> {
  const sequences = await listSequences(source);
  for (const sequence of sequences) {
    const name = qualified(sequence);
    const { rows } = await source.query<{ last_value: string; is_called: boolean }>(`SELECT last_value, is_called FROM ${name}`);
    const row = rows[0];
    if (!row) continue;
    await target.query('SELECT setval($1::regclass, $2::bigint, $3)', [name, row.last_value, row.is_called]);
  }
  return sequences.length;
}

/** SQLSTATE 42501: the login may not set session_replication_role (not a superuser, no GRANT SET ON PARAMETER). */
const INSUFFICIENT_PRIVILEGE = '42501';

/**
 * Turns triggers (foreign keys' included) off for this session, as
 * pg_restore --disable-triggers does, when the admin login may: call it
 * before `SET ROLE <owner>` (the owner never may). Returns whether it could.
 */
export async function tryReplicaRole(client: pg.ClientBase): Promise<boolean> {
  try {
    await client.query('SET session_replication_role = replica');
    return true;
  } catch (err) {
    if (sqlStateOf(err) !== INSUFFICIENT_PRIVILEGE) throw err;
    return false;
  }
}

/** Triggers off for the copy; returns how to turn them back on (inside the same transaction). */
async function triggersOff(target: pg.ClientBase, tables: readonly CopiedTable[]): Promise<() => Promise<void>> {
  const { rows } = await target.query<{ session_replication_role: string }>('SHOW session_replication_role');
  if (rows[0]?.session_replication_role === 'replica') return () => Promise.resolve();
  // The owner may switch off its own tables' user triggers; foreign keys stay on (tables go in dependency order).
  for (const table of tables) await target.query(`ALTER TABLE ${qualified(table)} DISABLE TRIGGER USER`);
  return async () => {
    for (const table of tables) await target.query(`ALTER TABLE ${qualified(table)} ENABLE TRIGGER USER`);
  };
}
