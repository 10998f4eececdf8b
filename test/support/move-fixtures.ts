/**
 * Data for move and clone tests and the move bench, in the seed schema's
 * tables (db/migrations): nomenclature, goods receipts with lines, posted
 * (stock movements and balances written by the posting functions and the
 * register's triggers). No vitest imports: the bench uses it too.
 */
import type pg from 'pg';
import { listSequences, listTables, qualified } from '../../src/provision/table-catalog.js';
import { tableChecksum } from '../../src/provision/table-checksum.js';
import { copySessionSettings } from '../../src/provision/table-copy.js';

export interface StockSeed {
  items: number;
  receipts: number;
  linesPerReceipt: number;
  /** Bytes of description text per nomenclature item (to make rows heavier). */
  descriptionBytes?: number;
}

/** Seeds a tenant database (a connection acting as its owner); posts every receipt. Returns the movements written. */
export async function seedStock(client: pg.ClientBase, seed: StockSeed, tag = 'S'): Promise<number> {
  await client.query(`INSERT INTO units (code, name) VALUES ($1, 'pieces') ON CONFLICT DO NOTHING`, [`pcs-${tag}`]);
  await client.query(`INSERT INTO warehouses (code, name) VALUES ($1, 'Main') ON CONFLICT DO NOTHING`, [`main-${tag}`]);
  await client.query(
    `INSERT INTO nomenclature (code, name, unit_id, description)
     SELECT $1 || g, 'Item ' || g, (SELECT id FROM units WHERE code = $2), repeat(md5(g::text), ($3 / 32) + 1)
       FROM generate_series(1, $4::int) g`,
    [`${tag}-N`, `pcs-${tag}`, seed.descriptionBytes ?? 32, seed.items],
  );
  await client.query(
    `INSERT INTO goods_receipts (number, warehouse_id, comment)
     SELECT $1 || g, (SELECT id FROM warehouses WHERE code = $2), 'receipt ' || g FROM generate_series(1, $3::int) g`,
    [`${tag}-R`, `main-${tag}`, seed.receipts],
  );
  await client.query(
    `WITH items AS (SELECT array_agg(id ORDER BY code) AS ids, count(*)::int AS n FROM nomenclature WHERE code LIKE $1 || '%'),
          docs AS (SELECT id, row_number() OVER (ORDER BY number) AS k FROM goods_receipts WHERE number LIKE $2 || '%')
     INSERT INTO goods_receipt_lines (document_id, line_no, nomenclature_id, quantity, price, amount)
     SELECT d.id, l, items.ids[1 + ((d.k * 7 + l) % items.n)], l + 0.5, 10.25, (l + 0.5) * 10.25
       FROM docs d CROSS JOIN items CROSS JOIN generate_series(1, $3::int) l`,
    [`${tag}-N`, `${tag}-R`, seed.linesPerReceipt],
  );
  const { rows } = await client.query<{ n: string }>(
    `SELECT coalesce(sum(post_goods_receipt(id)), 0)::text AS n FROM goods_receipts WHERE number LIKE $1 || '%'`,
    [`${tag}-R`],
  );
  return Number(rows[0]?.n ?? 0);
}

/** Every copied table's rows and checksum, and every sequence's state: what a move must keep. */
export async function databaseContents(client: pg.ClientBase): Promise<Record<string, string>> {
  await copySessionSettings(client);
  const out: Record<string, string> = {};
  for (const table of await listTables(client, ['schema_migrations'])) {
    const sum = await tableChecksum(client, table);
    out[qualified(table)] = `${sum.rows}:${sum.sum}`;
  }
  for (const seq of await listSequences(client)) {
    const { rows } = await client.query<{ v: string }>(`SELECT last_value || ':' || is_called AS v FROM ${qualified(seq)}`);
    out[`seq ${qualified(seq)}`] = rows[0]?.v ?? '';
  }
  return out;
}
