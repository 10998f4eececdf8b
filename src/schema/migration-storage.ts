/**
 * The bookkeeping table inside a migrated database: one row per applied
 * migration. Its rows are written by MigrationStepRunner on the migration's
 * own connection, inside the migration's transaction, so a migration and its
 * row commit (or vanish) together.
 */
import type pg from 'pg';
import { ident } from '../pg/identifiers.js';
import type { AppliedMigration } from './migration-types.js';

export type { AppliedMigration } from './migration-types.js';

export async function storageTableExists(client: pg.ClientBase, table: string): Promise<boolean> {
  const { rows } = await client.query<{ exists: boolean }>('SELECT to_regclass($1) IS NOT NULL AS exists', [
    `public.${ident(table, 'storage table')}`,
  ]);
  return rows[0]?.exists === true;
}

export async function ensureStorageTable(client: pg.ClientBase, table: string): Promise<void> {
  await client.query(
    `CREATE TABLE IF NOT EXISTS public.${ident(table, 'storage table')} (
       name text PRIMARY KEY,
       checksum text NOT NULL,
       applied_at timestamptz NOT NULL DEFAULT now(),
       duration_ms integer NOT NULL DEFAULT 0
     )`,
  );
}

export async function readAppliedMigrations(client: pg.ClientBase, table: string): Promise<AppliedMigration[]> {
  if (!(await storageTableExists(client, table))) return [];
  const { rows } = await client.query<{ name: string; checksum: string; applied_at: Date; duration_ms: number }>(
    `SELECT name, checksum, applied_at, duration_ms FROM public.${ident(table, 'storage table')} ORDER BY name`,
  );
  return rows.map((r) => ({ name: r.name, checksum: r.checksum, appliedAt: r.applied_at, durationMs: r.duration_ms }));
}

export async function insertAppliedRow(
  client: pg.ClientBase,
  table: string,
  row: { name: string; checksum: string; durationMs: number },
): Promise<void> {
  await client.query(`INSERT INTO public.${ident(table, 'storage table')} (name, checksum, duration_ms) VALUES ($1, $2, $3)`, [
    row.name,
    row.checksum,
    Math.round(row.durationMs),
  ]);
}

export async function deleteAppliedRow(client: pg.ClientBase, table: string, name: string): Promise<void> {
  await client.query(`DELETE FROM public.${ident(table, 'storage table')} WHERE name = $1`, [name]);
}
