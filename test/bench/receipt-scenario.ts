/**
 * The write scenario of the server benchmark: "post a 10-line goods
 * receipt". One operation = two requests, as a client does it: POST the
 * receipt (201), then POST its /post (200); the operation's latency is the
 * pair's. Each tenant has one warehouse and ten items, written with plain
 * SQL before timing, with the same ids in every tenant (each tenant is its
 * own database), so every body differs only in its number.
 *
 * The raw lower bound runs the statements the API's document service runs
 * (reference locks FOR SHARE, header, lines by unnest, read back; then lock
 * the header FOR UPDATE, the lines' items, reference locks, the posting
 * function, read back), each half in one transaction with the same
 * statement timeout, on bare pg.Pools behind the same HTTP client: no
 * middleware, no token check, no pool manager, no input validation.
 */
import type http from 'node:http';
import pg from 'pg';
import { sendJson } from '../../src/server/http-errors.js';
import { tenantHeaders, type Send } from './load-generator.js';

export const RECEIPTS_PATH = '/api/v1/documents/goods-receipts';

export const WAREHOUSE_ID = '00000000-0000-4000-8000-00000000b000';
const UNIT_ID = '00000000-0000-4000-8000-00000000b0f0';
export const ITEM_IDS: readonly string[] = Array.from(
  { length: 10 },
  (_, i) => `00000000-0000-4000-8000-00000000b1${String(i).padStart(2, '0')}`,
);

/** The catalog rows the receipts reference (run as the tenant's owner). */
export const SEED_RECEIPT_CATALOGS = `
  INSERT INTO units (id, code, name, symbol) VALUES ('${UNIT_ID}', 'pcs', 'Pieces', 'pcs');
  INSERT INTO warehouses (id, code, name) VALUES ('${WAREHOUSE_ID}', 'MAIN', 'Main warehouse');
  INSERT INTO nomenclature (id, code, name, kind, unit_id)
    SELECT id::uuid, 'ITEM-' || ord, 'Item ' || ord, 'goods', '${UNIT_ID}'
    FROM unnest(ARRAY['${ITEM_IDS.join("','")}']) WITH ORDINALITY AS t(id, ord);`;

const QUANTITY = '2.500';
const PRICE = '10.40';

export function receiptBody(number: string): Record<string, unknown> {
  return { number, warehouseId: WAREHOUSE_ID, lines: ITEM_IDS.map((nomenclatureId) => ({ nomenclatureId, quantity: QUANTITY, price: PRICE })) };
}

let numbers = 0;

/** A unique document number (per process, so per tenant too). */
function nextNumber(): string {
  return `B-${process.pid}-${++numbers}`;
}

/** The operation through the API: create, then post. */
export function receiptOperation(headersOf: (tenantId: string | undefined) => Record<string, string>) {
  return async (send: Send, tenantId: string | undefined): Promise<true | string> => {
    const headers = tenantHeaders(tenantId, headersOf);
    const created = await send({ method: 'POST', path: RECEIPTS_PATH, headers, body: receiptBody(nextNumber()) });
    if (created.status !== 201) return `create: ${created.status} ${created.body.slice(0, 200)}`;
    const { id } = JSON.parse(created.body) as { id: string };
    const posted = await send({ method: 'POST', path: `${RECEIPTS_PATH}/${id}/post`, headers });
    return posted.status === 200 ? true : `post: ${posted.status} ${posted.body.slice(0, 200)}`;
  };
}

const TX = 'BEGIN; SET LOCAL statement_timeout = 5000';

const LOCK_WAREHOUSES = 'SELECT id FROM warehouses WHERE id = ANY($1::uuid[]) AND NOT deletion_mark ORDER BY id FOR SHARE';
const LOCK_ITEMS = 'SELECT id FROM nomenclature WHERE id = ANY($1::uuid[]) AND NOT deletion_mark ORDER BY id FOR SHARE';
const INSERT_HEADER = `INSERT INTO goods_receipts (number, date, counterparty_id, warehouse_id, currency_id, comment, total_amount, created_by)
  VALUES ($1, coalesce($2::timestamptz, now()), $3, $4, $5, $6, $7, (SELECT id FROM users WHERE id = $8::uuid)) RETURNING id`;
const INSERT_LINES = `INSERT INTO goods_receipt_lines (document_id, line_no, nomenclature_id, quantity, price, amount)
  SELECT $1, n, c0, c1, c2, c3 FROM unnest($2::int[], $3::uuid[], $4::numeric[], $5::numeric[], $6::numeric[]) AS t(n, c0, c1, c2, c3)`;
const READ = `SELECT h.id, h.number, h.date, h.counterparty_id, h.warehouse_id, h.currency_id, h.comment, h.total_amount,
    h.posted, h.posted_at, h.deletion_mark, h.version, h.created_at, h.updated_at, h.created_by,
    (SELECT coalesce(json_agg(json_build_object('lineNo', l.line_no, 'nomenclatureId', l.nomenclature_id,
       'quantity', l.quantity::text, 'price', l.price::text, 'amount', l.amount::text) ORDER BY l.line_no), '[]'::json)
     FROM goods_receipt_lines l WHERE l.document_id = h.id) AS lines
  FROM goods_receipts h WHERE h.id = $1`;
const LOCK_HEADER =
  'SELECT id, posted, deletion_mark, version, counterparty_id, warehouse_id, currency_id FROM goods_receipts WHERE id = $1 FOR UPDATE';
const LINE_ITEMS = 'SELECT line_no, nomenclature_id FROM goods_receipt_lines WHERE document_id = $1 ORDER BY line_no';
const POST = 'SELECT post_goods_receipt($1::uuid)';

async function inTransaction<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query(TX);
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

async function createRaw(
  pool: pg.Pool,
  body: { number: string; warehouseId: string; lines: { nomenclatureId: string; quantity: string; price: string }[] },
) {
  const amounts = body.lines.map((l) => (Math.round(Number(l.quantity) * Number(l.price) * 100) / 100).toFixed(2));
  const total = amounts.reduce((sum, a) => sum + Number(a), 0).toFixed(2);
  return inTransaction(pool, async (c) => {
    await c.query({ name: 'raw.lock.warehouses', text: LOCK_WAREHOUSES, values: [[body.warehouseId]] });
    await c.query({ name: 'raw.lock.items', text: LOCK_ITEMS, values: [[...new Set(body.lines.map((l) => l.nomenclatureId))].sort()] });
    const { rows } = await c.query<{ id: string }>({
      name: 'raw.insert.header',
      text: INSERT_HEADER,
      values: [body.number, null, null, body.warehouseId, null, null, total, null],
    });
    const id = (rows[0] as { id: string }).id;
    await c.query({
      name: 'raw.insert.lines',
      text: INSERT_LINES,
      values: [
        id,
        body.lines.map((_, i) => i + 1),
        body.lines.map((l) => l.nomenclatureId),
        body.lines.map((l) => l.quantity),
        body.lines.map((l) => l.price),
        amounts,
      ],
    });
    return (await c.query({ name: 'raw.read', text: READ, values: [id] })).rows[0] as Record<string, unknown>;
  });
}

async function postRaw(pool: pg.Pool, id: string) {
  return inTransaction(pool, async (c) => {
    const header = (await c.query<{ warehouse_id: string }>({ name: 'raw.lock.header', text: LOCK_HEADER, values: [id] })).rows[0];
    if (!header) return undefined;
    const items = (await c.query<{ nomenclature_id: string }>({ name: 'raw.line.items', text: LINE_ITEMS, values: [id] })).rows;
    await c.query({ name: 'raw.lock.warehouses', text: LOCK_WAREHOUSES, values: [[header.warehouse_id]] });
    await c.query({ name: 'raw.lock.items', text: LOCK_ITEMS, values: [[...new Set(items.map((r) => r.nomenclature_id))].sort()] });
    await c.query({ name: 'raw.post', text: POST, values: [id] });
    return (await c.query({ name: 'raw.read', text: READ, values: [id] })).rows[0] as Record<string, unknown>;
  });
}

async function readBody(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
}

/**
 * The raw bound's HTTP handler: the tenant's bare pool by X-Tenant-ID (made
 * on first use, `max` connections each), create or post, JSON out.
 */
export function rawReceiptHandler(poolFor: (tenantId: string) => pg.Pool): http.RequestListener {
  const post = new RegExp(`^${RECEIPTS_PATH}/([0-9a-f-]{36})/post$`);
  return (req, res) => {
    const tenantId = req.headers['x-tenant-id'];
    const url = req.url ?? '/';
    const fail = (err: unknown) => sendJson(res, 500, { code: 'INTERNAL', message: err instanceof Error ? err.message : String(err) });
    if (typeof tenantId !== 'string' || req.method !== 'POST') return sendJson(res, 400, { code: 'USAGE', message: 'POST with X-Tenant-ID' });
    const pool = poolFor(tenantId);
    if (url === RECEIPTS_PATH) {
      void readBody(req)
        .then((body) => createRaw(pool, body as Parameters<typeof createRaw>[1]))
        .then((row) => sendJson(res, 201, row), fail);
      return;
    }
    const id = post.exec(url)?.[1];
    if (!id) return sendJson(res, 404, { code: 'NOT_FOUND', message: 'no route' });
    req.resume();
    void postRaw(pool, id).then(
      (row) => (row ? sendJson(res, 200, row) : sendJson(res, 404, { code: 'NOT_FOUND', message: 'no receipt' })),
      fail,
    );
  };
}

/** Bare pools, one per tenant, made on first use. */
export function barePools(configFor: (tenantId: string) => pg.PoolConfig): { poolFor: (tenantId: string) => pg.Pool; end(): Promise<void> } {
  const pools = new Map<string, pg.Pool>();
  return {
    poolFor(tenantId) {
      let pool = pools.get(tenantId);
      if (!pool) {
        pool = new pg.Pool(configFor(tenantId));
        pool.on('error', () => undefined);
        pools.set(tenantId, pool);
      }
      return pool;
    },
    async end() {
      await Promise.all([...pools.values()].map((p) => p.end()));
    },
  };
}
