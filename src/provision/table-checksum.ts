/**
 * A table's row count and an order-independent checksum of its rows, in one
 * pass and constant memory: the sum of the first 64 bits of each row's md5
 * (as numeric: no overflow). Rows are hashed in their text form, which is
 * the same on PostgreSQL 15 and 18 once both sessions use the same output
 * settings (copySessionSettings); the columns are the copied ones, in the
 * same order on both sides.
 */
import type pg from 'pg';
import { columnList, qualified, type CopiedTable } from './table-catalog.js';

export interface TableChecksum {
  rows: number;
  sum: string;
}

export async function tableChecksum(client: pg.ClientBase, table: CopiedTable): Promise<TableChecksum> {
  const columns = table.columns.length > 0 ? columnList(table) : 'NULL::text';
  const { rows } = await client.query<{ n: string; sum: string }>(
    `SELECT count(*)::text AS n, coalesce(sum(('x' || left(md5(r::text), 16))::bit(64)::bigint::numeric), 0)::text AS sum
       FROM (SELECT ${columns} FROM ${qualified(table)}) AS r`,
  );
  return { rows: Number(rows[0]?.n ?? 0), sum: rows[0]?.sum ?? '0' };
}
