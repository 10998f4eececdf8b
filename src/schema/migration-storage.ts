/**
 * The bookkeeping table inside a migrated database, as an UmzugStorage.
 * Each migration's row is written on the migration's own connection, inside
 * its transaction, so a migration and its row commit (or vanish) together.
 */
import type pg from 'pg';
import type { UmzugStorage } from 'umzug';
import { ident } from '../pg/identifiers.js';

export interface AppliedMigration {
  name: string;
  checksum: string;
  appliedAt: Date;
  durationMs: number;
}

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

/** Transaction state shared between the migration functions and the storage. */
export interface TransactionSlot {
  open: boolean;
}

export class PgMigrationStorage implements UmzugStorage {
  constructor(
    private readonly client: pg.ClientBase,
    private readonly table: string,
    private readonly slot: TransactionSlot,
    private readonly checksums: ReadonlyMap<string, string>,
    private readonly durations: ReadonlyMap<string, number>,
  ) {}

  async executed(): Promise<string[]> {
    return (await readAppliedMigrations(this.client, this.table)).map((m) => m.name);
  }

  async logMigration({ name }: { name: string }): Promise<void> {
    await this.finish(
      `INSERT INTO public.${ident(this.table)} (name, checksum, duration_ms) VALUES ($1, $2, $3)`,
      [name, this.checksums.get(name) ?? '', Math.round(this.durations.get(name) ?? 0)],
    );
  }

  async unlogMigration({ name }: { name: string }): Promise<void> {
    await this.finish(`DELETE FROM public.${ident(this.table)} WHERE name = $1`, [name]);
  }

  /** Writes the row and commits the migration's transaction (if it has one). */
  private async finish(sql: string, params: unknown[]): Promise<void> {
    try {
      await this.client.query(sql, params);
      if (this.slot.open) {
        this.slot.open = false;
        await this.client.query('COMMIT');
      }
    } catch (err) {
      if (this.slot.open) {
        this.slot.open = false;
        await this.client.query('ROLLBACK').catch(() => undefined);
      }
      throw err;
    }
  }
}
