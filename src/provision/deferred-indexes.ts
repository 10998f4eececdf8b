/**
 * Secondary indexes of the copied tables are dropped before the copy and
 * built again after it, in the same target transaction, as pg_restore does:
 * one sorted build per index is much cheaper than maintaining it row by row
 * (random uuid keys outgrow the cache). Indexes behind a constraint
 * (primary keys, unique constraints, exclusion) stay: foreign keys and
 * ON CONFLICT need them. Definitions come from pg_get_indexdef, so each is
 * rebuilt exactly as the migrations made it.
 */
import type pg from 'pg';

/** Drops the tables' secondary indexes; returns the statements that build them again. */
export async function dropSecondaryIndexes(target: pg.ClientBase, tables: readonly string[]): Promise<string[]> {
  if (tables.length === 0) return [];
  const { rows } = await target.query<{ name: string; def: string }>(
    `SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def
       FROM pg_index i
      WHERE i.indrelid = ANY($1::regclass[])
        AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
      ORDER BY 1`,
    [tables],
  );
  // The names are regclass output: already quoted and qualified where needed.
  for (const row of rows) await target.query(`DROP INDEX ${row.name}`);
  return rows.map((r) => r.def);
}

export async function rebuildIndexes(target: pg.ClientBase, definitions: readonly string[]): Promise<void> {
  // A bigger sort memory for the builds, for this transaction only.
  await target.query("SET LOCAL maintenance_work_mem = '256MB'");
  for (const definition of definitions) await target.query(definition);
}
