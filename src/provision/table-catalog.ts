/**
 * What a tenant database holds that a move or clone copies: its ordinary
 * tables (leaf partitions included: a partitioned parent has no rows of its
 * own) with the columns COPY may write (generated columns are recomputed by
 * the target), in foreign-key dependency order, and its sequences. Read from
 * the catalog of whichever side, so both sides agree on names and columns.
 */
import type pg from 'pg';
import { quoteIdent } from '../pg/identifiers.js';

export interface CopiedTable {
  schema: string;
  name: string;
  /** Columns COPY reads and writes, in attnum order (no dropped or generated ones). */
  columns: string[];
  /** Tables (qualified, quoted) this one references by a foreign key. */
  references: string[];
}

export interface CopiedSequence {
  schema: string;
  name: string;
}

/** `"schema"."table"`. */
export function qualified(item: { schema: string; name: string }): string {
  return `${quoteIdent(item.schema)}.${quoteIdent(item.name)}`;
}

export function columnList(table: CopiedTable): string {
  return table.columns.map(quoteIdent).join(', ');
}

const USER_SCHEMAS = `n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'`;

/** The tables to copy, referenced tables first; `skip` names tables in `public` left out (the migration bookkeeping). */
export async function listTables(client: pg.ClientBase, skip: readonly string[]): Promise<CopiedTable[]> {
  const { rows } = await client.query<{ schema: string; name: string; columns: string[]; ref_schemas: string[]; ref_names: string[] }>(
    `SELECT n.nspname AS schema, c.relname AS name,
            array(SELECT a.attname FROM pg_attribute a
                   WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
                   ORDER BY a.attnum)::text[] AS columns,
            array(SELECT rn.nspname FROM pg_constraint k JOIN pg_class rc ON rc.oid = k.confrelid JOIN pg_namespace rn ON rn.oid = rc.relnamespace
                   WHERE k.conrelid = c.oid AND k.contype = 'f' AND k.confrelid <> c.oid ORDER BY k.oid)::text[] AS ref_schemas,
            array(SELECT rc.relname FROM pg_constraint k JOIN pg_class rc ON rc.oid = k.confrelid
                   WHERE k.conrelid = c.oid AND k.contype = 'f' AND k.confrelid <> c.oid ORDER BY k.oid)::text[] AS ref_names
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r' AND ${USER_SCHEMAS}
        AND NOT (n.nspname = 'public' AND c.relname = ANY($1))
      ORDER BY n.nspname, c.relname`,
    [skip],
  );
  const tables = rows.map((r) => ({
    schema: r.schema,
    name: r.name,
    columns: r.columns,
    references: [...new Set(r.ref_names.map((name, i) => qualified({ schema: r.ref_schemas[i] as string, name })))],
  }));
  return dependencyOrder(tables);
}

/**
 * Referenced tables before the tables referencing them (Kahn's algorithm,
 * names as the tie-break so the order is stable). A cycle keeps its tables
 * in name order at the end: the copy then relies on triggers being off.
 */
export function dependencyOrder(tables: readonly CopiedTable[]): CopiedTable[] {
  const byName = new Map(tables.map((t) => [qualified(t), t]));
  const done = new Set<string>();
  const ordered: CopiedTable[] = [];
  let progressed = true;
  while (progressed) {
    progressed = false;
    for (const [key, table] of byName) {
      if (done.has(key)) continue;
      if (table.references.every((ref) => done.has(ref) || !byName.has(ref))) {
        done.add(key);
        ordered.push(table);
        progressed = true;
      }
    }
  }
  for (const [key, table] of byName) if (!done.has(key)) ordered.push(table);
  return ordered;
}

export async function listSequences(client: pg.ClientBase): Promise<CopiedSequence[]> {
  const { rows } = await client.query<CopiedSequence>(
    `SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'S' AND ${USER_SCHEMAS} ORDER BY 1, 2`,
  );
  return rows;
}
