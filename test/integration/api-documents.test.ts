/**
 * The document routes and the stock report against real PostgreSQL, through
 * the in-process app (static test auth: these tests are about documents, not
 * login). Catalog rows are made with plain SQL in each tenant's database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getTxManager, withTenant } from '../../src/context/tenant-context.js';
import type { TenantServices } from '../../src/pools/tenant-services.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import type { Tenant } from '../../src/tenants/tenant.js';
import { createApp } from '../../src/reference/app.js';
import { startHttpServer, type TestHttpServer } from '../support/http-server.js';
import { STATIC_USER_ID, roleHeaders, staticAuth } from '../support/static-auth.js';
import { createTenants, openServices } from '../support/tenant-fixtures.js';
import { createTestEnvironment } from '../support/test-environment.js';

const env = createTestEnvironment();
let rt: Runtime;
let services: TenantServices;
let server: TestHttpServer | undefined;
let base: string;
let tenantA: Tenant;
let tenantB: Tenant;

const RECEIPTS = '/api/v1/documents/goods-receipts';
const ISSUES = '/api/v1/documents/goods-issues';
const COUNTS = '/api/v1/documents/inventory-counts';
const REPORT = '/api/v1/reports/stock-balances';
const MISSING = '00000000-0000-4000-8000-000000000001';

type Role = 'admin' | 'clerk' | 'viewer';

interface Catalog {
  warehouse: string;
  warehouse2: string;
  warehouse3: string;
  supplier: string;
  currency: string;
  items: string[];
  service: string;
}
const catalogs = new Map<string, Catalog>();
const cat = (tenant: Tenant) => catalogs.get(tenant.id) as Catalog;

async function api(tenant: Tenant, role: Role, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const all: Record<string, string> = { ...roleHeaders(tenant.id, role), ...headers };
  if (body !== undefined) all['content-type'] = 'application/json';
  const response = await fetch(`${base}${path}`, { method, headers: all, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, any> };
}

async function sql<R = Record<string, any>>(tenant: Tenant, text: string, values: unknown[] = []): Promise<R[]> {
  const { rows } = await withTenant(services.pools, tenant.id, () => getTxManager().query(text, values));
  return rows as R[];
}

async function seed(tenant: Tenant): Promise<Catalog> {
  const id = async (text: string, values: unknown[]) =>
    ((await sql<{ id: string }>(tenant, `${text} RETURNING id`, values))[0] as { id: string }).id;
  const unit = await id("INSERT INTO units (code, name) VALUES ('pcs', 'Pieces')", []);
  const items: string[] = [];
  for (const code of ['A', 'B', 'C']) {
    items.push(await id("INSERT INTO nomenclature (code, name, kind, unit_id) VALUES ($1, $2, 'goods', $3)", [code, `Item ${code}`, unit]));
  }
  return {
    warehouse: await id("INSERT INTO warehouses (code, name) VALUES ('W1', 'Main')", []),
    warehouse2: await id("INSERT INTO warehouses (code, name) VALUES ('W2', 'Second')", []),
    warehouse3: await id("INSERT INTO warehouses (code, name) VALUES ('W3', 'Third')", []),
    supplier: await id("INSERT INTO counterparties (code, name, kind) VALUES ('S1', 'Supplier', 'supplier')", []),
    currency: await id("INSERT INTO currencies (code, name) VALUES ('EUR', 'Euro')", []),
    items,
    service: await id("INSERT INTO nomenclature (code, name, kind, unit_id) VALUES ('SVC', 'Delivery', 'service', $1)", [unit]),
  };
}

/** Balances of a warehouse as {itemId: quantity}. */
async function balances(tenant: Tenant, warehouse: string): Promise<Record<string, string>> {
  const rows = await sql<{ nomenclature_id: string; quantity: string }>(
    tenant,
    'SELECT nomenclature_id, quantity::text AS quantity FROM stock_balances WHERE warehouse_id = $1 AND quantity <> 0',
    [warehouse],
  );
  return Object.fromEntries(rows.map((r) => [r.nomenclature_id, r.quantity]));
}

async function movementCount(tenant: Tenant): Promise<number> {
  return Number((await sql<{ n: string }>(tenant, 'SELECT count(*) AS n FROM stock_movements'))[0]?.n);
}

let numbers = 0;
const nextNumber = (prefix: string) => `${prefix}-${++numbers}`;

async function receipt(
  tenant: Tenant,
  warehouse: string,
  lines: { item: string; quantity: string; price: string }[],
  extra: Record<string, unknown> = {},
) {
  const created = await api(tenant, 'clerk', 'POST', RECEIPTS, {
    number: nextNumber('R'),
    warehouseId: warehouse,
    lines: lines.map((l) => ({ nomenclatureId: l.item, quantity: l.quantity, price: l.price })),
    ...extra,
  });
  expect(created.status).toBe(201);
  return created.body;
}

beforeAll(async () => {
  rt = await env.runtime();
  [tenantA, tenantB] = (await createTenants(rt, 2, 'docs')) as [Tenant, Tenant];
  services = await openServices(rt);
  const app = createApp({ auth: staticAuth(), pools: services.pools, metaPool: rt.metaPool });
  server = await startHttpServer(app);
  base = server.base;
  for (const tenant of [tenantA, tenantB]) catalogs.set(tenant.id, await seed(tenant));
});
afterAll(async () => {
  await server?.stop();
  await services?.close({ deadlineMs: 1_000 });
  await env.cleanup();
});

describe('documents API', () => {
  it('creates a receipt of 3 items, posts it, and the balances follow', async () => {
    const c = cat(tenantA);
    const [a, b, cItem] = c.items as [string, string, string];
    const created = await api(tenantA, 'clerk', 'POST', RECEIPTS, {
      number: 'R-100',
      date: '2026-02-01T10:00:00Z',
      warehouseId: c.warehouse,
      counterpartyId: c.supplier,
      currencyId: c.currency,
      comment: 'first delivery',
      lines: [
        { nomenclatureId: a, quantity: '10', price: '2.50' },
        { nomenclatureId: b, quantity: 1.5, price: '8.23' },
        { nomenclatureId: cItem, quantity: '4', price: '1', amount: '3.99' },
      ],
    });
    expect(created.status).toBe(201);
    const doc = created.body;
    expect(created.headers.get('location')).toBe(`${RECEIPTS}/${doc.id}`);
    expect(created.headers.get('etag')).toBe('"1"');
    expect(doc).toMatchObject({
      number: 'R-100',
      date: '2026-02-01T10:00:00.000Z',
      warehouseId: c.warehouse,
      counterpartyId: c.supplier,
      currencyId: c.currency,
      comment: 'first delivery',
      posted: false,
      postedAt: null,
      deletionMark: false,
      version: 1,
      // The static test user is not a users row.
      createdBy: null,
      // 25.00 + 12.35 (1.5 × 8.23 = 12.345, half-up) + 3.99 as given
      totalAmount: '41.34',
    });
    expect(doc.lines).toEqual([
      { lineNo: 1, nomenclatureId: a, quantity: '10.000', price: '2.50', amount: '25.00' },
      { lineNo: 2, nomenclatureId: b, quantity: '1.500', price: '8.23', amount: '12.35' },
      { lineNo: 3, nomenclatureId: cItem, quantity: '4.000', price: '1.00', amount: '3.99' },
    ]);

    const read = await api(tenantA, 'viewer', 'GET', `${RECEIPTS}/${doc.id}`);
    expect(read).toMatchObject({ status: 200, body: doc });
    expect(read.headers.get('etag')).toBe('"1"');

    // A clerk writes documents but may not post them.
    expect(await api(tenantA, 'clerk', 'POST', `${RECEIPTS}/${doc.id}/post`)).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
    expect(await balances(tenantA, c.warehouse)).toEqual({});

    const posted = await api(tenantA, 'admin', 'POST', `${RECEIPTS}/${doc.id}/post`, { version: 1 });
    expect(posted.status).toBe(200);
    expect(posted.body).toMatchObject({ posted: true, totalAmount: '41.34' });
    expect(typeof posted.body.postedAt).toBe('string');
    expect(posted.body.version).toBeGreaterThan(1);
    expect(await balances(tenantA, c.warehouse)).toEqual({ [a]: '10.000', [b]: '1.500', [cItem]: '4.000' });

    const report = await api(tenantA, 'viewer', 'GET', `${REPORT}?warehouse=${c.warehouse}`);
    expect(report.status).toBe(200);
    expect(report.body).toEqual({
      at: null,
      nextCursor: null,
      items: [
        {
          warehouseId: c.warehouse,
          warehouseCode: 'W1',
          warehouseName: 'Main',
          nomenclatureId: a,
          nomenclatureCode: 'A',
          nomenclatureName: 'Item A',
          quantity: '10.000',
          amount: '25.00',
        },
        {
          warehouseId: c.warehouse,
          warehouseCode: 'W1',
          warehouseName: 'Main',
          nomenclatureId: b,
          nomenclatureCode: 'B',
          nomenclatureName: 'Item B',
          quantity: '1.500',
          amount: '12.35',
        },
        {
          warehouseId: c.warehouse,
          warehouseCode: 'W1',
          warehouseName: 'Main',
          nomenclatureId: cItem,
          nomenclatureCode: 'C',
          nomenclatureName: 'Item C',
          quantity: '4.000',
          amount: '3.99',
        },
      ],
    });
    const one = await api(tenantA, 'viewer', 'GET', `${REPORT}?warehouse=${c.warehouse}&nomenclature=${b}`);
    expect(one.body.items.map((i: { nomenclatureCode: string }) => i.nomenclatureCode)).toEqual(['B']);
  });

  it('refuses an issue beyond stock with the lines short, and writes nothing', async () => {
    const c = cat(tenantA);
    const [a, b, cItem] = c.items as [string, string, string];
    const created = await api(tenantA, 'clerk', 'POST', ISSUES, {
      number: 'I-1',
      warehouseId: c.warehouse,
      lines: [
        { nomenclatureId: a, quantity: '3', price: '5' },
        { nomenclatureId: b, quantity: '2', price: '9' },
        { nomenclatureId: cItem, quantity: '1', price: '2' },
        { nomenclatureId: a, quantity: '8', price: '5' },
      ],
    });
    expect(created.status).toBe(201);
    const before = {
      balances: await balances(tenantA, c.warehouse),
      movements: await movementCount(tenantA),
      doc: (await api(tenantA, 'viewer', 'GET', `${ISSUES}/${created.body.id}`)).body,
    };

    const refused = await api(tenantA, 'admin', 'POST', `${ISSUES}/${created.body.id}/post`);
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('INSUFFICIENT_STOCK');
    // A: 3 + 8 asked, 10 on hand; B: 2 asked, 1.5 on hand; C is fine.
    expect(refused.body.lines).toEqual([
      { lineNo: 1, nomenclatureId: a, requested: '11.000', available: '10.000' },
      { lineNo: 2, nomenclatureId: b, requested: '2.000', available: '1.500' },
    ]);
    expect(await balances(tenantA, c.warehouse)).toEqual(before.balances);
    expect(await movementCount(tenantA)).toBe(before.movements);
    expect((await api(tenantA, 'viewer', 'GET', `${ISSUES}/${created.body.id}`)).body).toEqual(before.doc);
    expect(before.doc).toMatchObject({ posted: false, version: 1 });
  });

  it('posts an issue within stock and unposting puts the balances back', async () => {
    const c = cat(tenantA);
    const [a] = c.items as [string];
    const before = await balances(tenantA, c.warehouse);
    const created = await api(tenantA, 'clerk', 'POST', ISSUES, {
      number: 'I-2',
      warehouseId: c.warehouse,
      lines: [{ nomenclatureId: a, quantity: '4', price: '7' }],
    });
    const posted = await api(tenantA, 'admin', 'POST', `${ISSUES}/${created.body.id}/post`);
    expect(posted).toMatchObject({ status: 200, body: { posted: true } });
    expect((await balances(tenantA, c.warehouse))[a]).toBe('6.000');
    // Credited at average cost (25.00 / 10 × 4), not at the sale price.
    const [movement] = await sql(tenantA, 'SELECT quantity::text, amount::text FROM stock_movements WHERE recorder_id = $1', [created.body.id]);
    expect(movement).toEqual({ quantity: '-4.000', amount: '-10.00' });

    const unposted = await api(tenantA, 'admin', 'POST', `${ISSUES}/${created.body.id}/unpost`, undefined, {
      'if-match': `"${posted.body.version}"`,
    });
    expect(unposted).toMatchObject({ status: 200, body: { posted: false, postedAt: null } });
    expect(await balances(tenantA, c.warehouse)).toEqual(before);
    // Unposting again is a no-op that keeps the version.
    const again = await api(tenantA, 'admin', 'POST', `${ISSUES}/${created.body.id}/unpost`);
    expect(again).toMatchObject({ status: 200, body: { posted: false, version: unposted.body.version } });
  });

  it('posts an inventory count: book quantities from the balance, the differences to the register', async () => {
    const c = cat(tenantA);
    const [a, b, cItem] = c.items as [string, string, string];
    const duplicate = await api(tenantA, 'clerk', 'POST', COUNTS, {
      number: 'C-0',
      warehouseId: c.warehouse,
      lines: [
        { nomenclatureId: a, quantityActual: '1' },
        { nomenclatureId: a, quantityActual: '2' },
      ],
    });
    expect(duplicate.status).toBe(400);
    expect(Object.keys(duplicate.body.fields)).toEqual(['lines[1].nomenclatureId']);

    const created = await api(tenantA, 'clerk', 'POST', COUNTS, {
      number: 'C-1',
      warehouseId: c.warehouse,
      counterpartyId: c.supplier,
      lines: [
        { nomenclatureId: a, quantityActual: '7' },
        { nomenclatureId: b, quantityActual: '1.5' },
        { nomenclatureId: cItem, quantityActual: '6' },
      ],
    });
    // Counts have no counterparty.
    expect(created.status).toBe(400);
    expect(created.body.fields).toEqual({ counterpartyId: 'unknown field' });

    const count = await api(tenantA, 'clerk', 'POST', COUNTS, {
      number: 'C-1',
      warehouseId: c.warehouse,
      lines: [
        { nomenclatureId: a, quantityActual: '7' },
        { nomenclatureId: b, quantityActual: '1.5' },
        { nomenclatureId: cItem, quantityActual: '6' },
      ],
    });
    expect(count.status).toBe(201);
    expect(count.body.lines[0]).toEqual({ lineNo: 1, nomenclatureId: a, quantityActual: '7.000', quantityBook: '0.000', difference: '7.000' });
    const posted = await api(tenantA, 'admin', 'POST', `${COUNTS}/${count.body.id}/post`);
    expect(posted.status).toBe(200);
    expect(posted.body.lines).toEqual([
      { lineNo: 1, nomenclatureId: a, quantityActual: '7.000', quantityBook: '10.000', difference: '-3.000' },
      { lineNo: 2, nomenclatureId: b, quantityActual: '1.500', quantityBook: '1.500', difference: '0.000' },
      { lineNo: 3, nomenclatureId: cItem, quantityActual: '6.000', quantityBook: '4.000', difference: '2.000' },
    ]);
    expect(await balances(tenantA, c.warehouse)).toEqual({ [a]: '7.000', [b]: '1.500', [cItem]: '6.000' });
    // Only lines with a difference move stock.
    const moved = await sql(tenantA, 'SELECT line_no, quantity::text FROM stock_movements WHERE recorder_id = $1 ORDER BY line_no', [
      count.body.id,
    ]);
    expect(moved).toEqual([
      { line_no: 1, quantity: '-3.000' },
      { line_no: 3, quantity: '2.000' },
    ]);
    // Re-posting computes the book without its own movements: nothing changes.
    const reposted = await api(tenantA, 'admin', 'POST', `${COUNTS}/${count.body.id}/post`);
    expect(reposted.body.lines).toEqual(posted.body.lines);
    expect(await balances(tenantA, c.warehouse)).toEqual({ [a]: '7.000', [b]: '1.500', [cItem]: '6.000' });
  });

  it('lets only one of two concurrent issues take the last stock', async () => {
    const c = cat(tenantA);
    const item = c.items[2] as string;
    const stocked = await receipt(tenantA, c.warehouse3, [{ item, quantity: '5', price: '1' }]);
    expect((await api(tenantA, 'admin', 'POST', `${RECEIPTS}/${stocked.id}/post`)).status).toBe(200);
    const issues = await Promise.all(
      [1, 2].map((n) =>
        api(tenantA, 'clerk', 'POST', ISSUES, {
          number: `I-race-${n}`,
          warehouseId: c.warehouse3,
          lines: [{ nomenclatureId: item, quantity: '3', price: '1' }],
        }),
      ),
    );
    const posts = await Promise.all(issues.map((issue) => api(tenantA, 'admin', 'POST', `${ISSUES}/${issue.body.id}/post`)));
    expect(posts.map((p) => p.status).sort()).toEqual([200, 409]);
    const refused = posts.find((p) => p.status === 409);
    expect(refused?.body.lines).toEqual([{ lineNo: 1, nomenclatureId: item, requested: '3.000', available: '2.000' }]);
    expect((await balances(tenantA, c.warehouse3))[item]).toBe('2.000');
  });

  it('reports balances at a past date from the movements', async () => {
    const c = cat(tenantA);
    const [a, b] = c.items as [string, string];
    const first = await receipt(tenantA, c.warehouse2, [{ item: a, quantity: '5', price: '2' }], { date: '2026-01-10T00:00:00Z' });
    const second = await receipt(
      tenantA,
      c.warehouse2,
      [
        { item: a, quantity: '1', price: '2' },
        { item: b, quantity: '2', price: '3' },
      ],
      { date: '2026-03-10T00:00:00Z' },
    );
    for (const doc of [first, second]) expect((await api(tenantA, 'admin', 'POST', `${RECEIPTS}/${doc.id}/post`)).status).toBe(200);

    const at = await api(tenantA, 'viewer', 'GET', `${REPORT}?warehouse=${c.warehouse2}&at=2026-02-01`);
    expect(at.status).toBe(200);
    expect(at.body).toMatchObject({ at: '2026-02-01T00:00:00.000Z', nextCursor: null });
    expect(at.body.items).toEqual([expect.objectContaining({ nomenclatureId: a, quantity: '5.000', amount: '10.00' })]);
    // The boundary is inclusive.
    const onDay = await api(tenantA, 'viewer', 'GET', `${REPORT}?warehouse=${c.warehouse2}&at=2026-03-10T00:00:00Z`);
    expect(onDay.body.items.map((i: { quantity: string }) => i.quantity)).toEqual(['6.000', '2.000']);
    const before = await api(tenantA, 'viewer', 'GET', `${REPORT}?warehouse=${c.warehouse2}&at=2025-12-31`);
    expect(before.body.items).toEqual([]);
    const now = await api(tenantA, 'viewer', 'GET', `${REPORT}?warehouse=${c.warehouse2}`);
    expect(now.body.items.map((i: { quantity: string }) => i.quantity)).toEqual(['6.000', '2.000']);

    // Paging by cursor over the whole report.
    const all = await api(tenantA, 'viewer', 'GET', `${REPORT}?limit=500`);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await api(tenantA, 'viewer', 'GET', `${REPORT}?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items.map((i: { warehouseCode: string; nomenclatureCode: string }) => `${i.warehouseCode}/${i.nomenclatureCode}`));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(
      all.body.items.map((i: { warehouseCode: string; nomenclatureCode: string }) => `${i.warehouseCode}/${i.nomenclatureCode}`),
    );
    expect(seen.length).toBeGreaterThan(2);

    const bad = await api(tenantA, 'viewer', 'GET', `${REPORT}?warehouse=nope&at=yesterday&limit=0&cursor=xyz`);
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.body.fields).sort()).toEqual(['at', 'cursor', 'limit', 'warehouse']);
  });

  it('checks versions: stale → 409, missing → 400, If-Match works', async () => {
    const c = cat(tenantA);
    const doc = await receipt(tenantA, c.warehouse3, [{ item: c.items[0] as string, quantity: '1', price: '1' }]);
    const path = `${RECEIPTS}/${doc.id}`;
    expect(await api(tenantA, 'clerk', 'PATCH', path, { comment: 'x' })).toMatchObject({
      status: 400,
      body: { code: 'VALIDATION_FAILED', fields: { version: expect.any(String) } },
    });
    const changed = await api(tenantA, 'clerk', 'PATCH', path, { comment: 'edited', version: 1 });
    expect(changed).toMatchObject({ status: 200, body: { comment: 'edited', version: 2 } });
    expect(changed.headers.get('etag')).toBe('"2"');
    expect(await api(tenantA, 'clerk', 'PATCH', path, { comment: 'late', version: 1 })).toMatchObject({
      status: 409,
      body: { code: 'STALE_VERSION' },
    });
    expect(await api(tenantA, 'clerk', 'PATCH', path, { comment: 'late' }, { 'if-match': '"1"' })).toMatchObject({
      status: 409,
      body: { code: 'STALE_VERSION' },
    });
    const viaHeader = await api(tenantA, 'clerk', 'PATCH', path, { comment: 'header' }, { 'if-match': '"2"' });
    expect(viaHeader).toMatchObject({ status: 200, body: { comment: 'header', version: 3 } });
    expect(await api(tenantA, 'admin', 'POST', `${path}/post`, { version: 2 })).toMatchObject({ status: 409, body: { code: 'STALE_VERSION' } });
    expect(await api(tenantA, 'clerk', 'DELETE', path, undefined, { 'if-match': '2' })).toMatchObject({
      status: 409,
      body: { code: 'STALE_VERSION' },
    });
    expect(await api(tenantA, 'clerk', 'PATCH', path, { comment: 'x' }, { 'if-match': 'abc' })).toMatchObject({
      status: 400,
      body: { fields: { 'If-Match': expect.any(String) } },
    });
    expect(await api(tenantA, 'clerk', 'PATCH', path, { comment: 'x', version: 3 }, { 'if-match': '2' })).toMatchObject({
      status: 400,
      body: { fields: { version: expect.any(String) } },
    });
    expect((await api(tenantA, 'viewer', 'GET', path)).body).toMatchObject({ comment: 'header', version: 3, posted: false });

    // Lines replaced: total recomputed, version bumped once.
    const relined = await api(tenantA, 'clerk', 'PATCH', path, {
      version: 3,
      lines: [{ nomenclatureId: c.items[1], quantity: '2', price: '0.13' }],
    });
    expect(relined).toMatchObject({
      status: 200,
      body: { version: 4, totalAmount: '0.26', lines: [{ lineNo: 1, nomenclatureId: c.items[1], amount: '0.26' }] },
    });
  });

  it('refuses to edit or delete a posted document, except PATCH ?repost=true', async () => {
    const c = cat(tenantA);
    const [a] = c.items as [string];
    const doc = await receipt(tenantA, c.warehouse3, [{ item: a, quantity: '3', price: '1' }]);
    const path = `${RECEIPTS}/${doc.id}`;
    const posted = await api(tenantA, 'admin', 'POST', `${path}/post`);
    const version = posted.body.version as number;
    const stock = Number((await balances(tenantA, c.warehouse3))[a]);

    expect(await api(tenantA, 'admin', 'PATCH', path, { comment: 'no', version })).toMatchObject({
      status: 409,
      body: { code: 'DOCUMENT_POSTED' },
    });
    expect(await api(tenantA, 'admin', 'DELETE', path)).toMatchObject({ status: 409, body: { code: 'DOCUMENT_POSTED' } });
    // repost needs documents.post as well as documents.write.
    expect(await api(tenantA, 'clerk', 'PATCH', `${path}?repost=true`, { comment: 'no', version })).toMatchObject({
      status: 403,
      body: { code: 'FORBIDDEN' },
    });

    const reposted = await api(tenantA, 'admin', 'PATCH', `${path}?repost=true`, {
      version,
      lines: [{ nomenclatureId: a, quantity: '5', price: '1' }],
    });
    expect(reposted).toMatchObject({ status: 200, body: { posted: true, totalAmount: '5.00', lines: [{ quantity: '5.000' }] } });
    expect(Number((await balances(tenantA, c.warehouse3))[a])).toBe(stock + 2);

    // Unposted, it can be marked for deletion (idempotently) and restored.
    await api(tenantA, 'admin', 'POST', `${path}/unpost`);
    const deleted = await api(tenantA, 'clerk', 'DELETE', path);
    expect(deleted).toMatchObject({ status: 200, body: { deletionMark: true } });
    expect(await api(tenantA, 'clerk', 'DELETE', path)).toMatchObject({
      status: 200,
      body: { deletionMark: true, version: deleted.body.version },
    });
    expect(await api(tenantA, 'admin', 'POST', `${path}/post`)).toMatchObject({ status: 409, body: { code: 'CONFLICT' } });
    // Its number is free while it is marked: restoring it then is a conflict on the number.
    const taker = await api(tenantA, 'clerk', 'POST', RECEIPTS, {
      number: doc.number,
      warehouseId: c.warehouse3,
      lines: [{ nomenclatureId: a, quantity: '1', price: '1' }],
    });
    expect(taker.status).toBe(201);
    const clash = await api(tenantA, 'clerk', 'PATCH', path, { deletionMark: false }, { 'if-match': `W/"${deleted.body.version}"` });
    expect(clash).toMatchObject({ status: 409, body: { code: 'CONFLICT', message: expect.stringContaining('number') } });
    await api(tenantA, 'clerk', 'DELETE', `${RECEIPTS}/${taker.body.id}`);
    const restored = await api(tenantA, 'clerk', 'PATCH', path, { deletionMark: false, version: deleted.body.version });
    expect(restored).toMatchObject({ status: 200, body: { deletionMark: false, version: deleted.body.version + 1 } });
  });

  it('answers 403 to a viewer writing, 422 for unknown references, 400 naming bad fields, 409 for a duplicate number', async () => {
    const c = cat(tenantA);
    const body = { number: 'V-1', warehouseId: c.warehouse, lines: [{ nomenclatureId: c.items[0], quantity: '1', price: '1' }] };
    expect(await api(tenantA, 'viewer', 'POST', RECEIPTS, body)).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
    expect(await api(tenantA, 'viewer', 'GET', RECEIPTS)).toMatchObject({ status: 200 });

    const unknown = await api(tenantA, 'clerk', 'POST', RECEIPTS, {
      ...body,
      warehouseId: MISSING,
      lines: [body.lines[0], { nomenclatureId: MISSING, quantity: '1', price: '1' }],
    });
    expect(unknown.status).toBe(422);
    expect(unknown.body.code).toBe('UNKNOWN_REFERENCE');
    expect(Object.keys(unknown.body.fields).sort()).toEqual(['lines[1].nomenclatureId', 'warehouseId']);
    // A deletion-marked item is no better than a missing one.
    await sql(tenantA, "UPDATE nomenclature SET deletion_mark = true WHERE code = 'SVC'");
    const marked = await api(tenantA, 'clerk', 'POST', RECEIPTS, { ...body, lines: [{ nomenclatureId: c.service, quantity: '1', price: '1' }] });
    expect(marked).toMatchObject({ status: 422, body: { fields: { 'lines[0].nomenclatureId': expect.any(String) } } });

    const invalid = await api(tenantA, 'clerk', 'POST', RECEIPTS, {
      number: 'x'.repeat(65),
      date: 'tomorrow',
      warehouseId: 'w1',
      colour: 'red',
      lines: [
        { nomenclatureId: c.items[0], quantity: '0', price: '-1' },
        { nomenclatureId: c.items[0], quantity: '1.2345', price: '1', extra: true },
        { nomenclatureId: c.items[0], quantity: '999999999999999', price: '99999999999999.99' },
      ],
    });
    expect(invalid.status).toBe(400);
    expect(Object.keys(invalid.body.fields).sort()).toEqual(
      [
        'colour',
        'date',
        'lines[0].price',
        'lines[0].quantity',
        'lines[1].extra',
        'lines[1].quantity',
        'lines[2].amount',
        'number',
        'warehouseId',
      ].sort(),
    );
    expect(await api(tenantA, 'clerk', 'POST', RECEIPTS, { ...body, lines: [] })).toMatchObject({
      status: 400,
      body: { fields: { lines: expect.any(String) } },
    });

    expect((await api(tenantA, 'clerk', 'POST', RECEIPTS, body)).status).toBe(201);
    const duplicate = await api(tenantA, 'clerk', 'POST', RECEIPTS, body);
    expect(duplicate).toMatchObject({ status: 409, body: { code: 'CONFLICT' } });
    expect(duplicate.body.message).toMatch(/number/);

    expect(await api(tenantA, 'viewer', 'GET', `${RECEIPTS}/${MISSING}`)).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    expect(await api(tenantA, 'viewer', 'GET', `${RECEIPTS}/not-a-uuid`)).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    expect(await api(tenantA, 'admin', 'POST', `${RECEIPTS}/${MISSING}/post`)).toMatchObject({ status: 404 });
  });

  it('lists documents newest first, paged by cursor, with q and include=deleted', async () => {
    const c = cat(tenantB);
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const doc = await receipt(tenantB, c.warehouse, [{ item: c.items[0] as string, quantity: '1', price: '1' }], {
        date: `2026-05-0${i + 1}T12:00:00Z`,
        comment: i === 3 ? 'Special 50%_off' : null,
      });
      ids.push(doc.id as string);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await api(tenantB, 'viewer', 'GET', `${RECEIPTS}?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      expect(page.body.items[0]?.lines).toBeUndefined();
      seen.push(...page.body.items.map((d: { id: string }) => d.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());

    const q = await api(tenantB, 'viewer', 'GET', `${RECEIPTS}?q=${encodeURIComponent('50%_OFF')}`);
    expect(q.body.items.map((d: { id: string }) => d.id)).toEqual([ids[3]]);
    expect((await api(tenantB, 'viewer', 'GET', `${RECEIPTS}?q=${encodeURIComponent('5_%')}`)).body.items).toEqual([]);

    await api(tenantB, 'clerk', 'DELETE', `${RECEIPTS}/${ids[0]}`);
    const live = await api(tenantB, 'viewer', 'GET', `${RECEIPTS}?limit=500`);
    expect(live.body.items.map((d: { id: string }) => d.id)).not.toContain(ids[0]);
    const withDeleted = await api(tenantB, 'viewer', 'GET', `${RECEIPTS}?include=deleted&limit=500`);
    expect(withDeleted.body.items.map((d: { id: string }) => d.id)).toContain(ids[0]);

    const bad = await api(
      tenantB,
      'viewer',
      'GET',
      `${RECEIPTS}?limit=501&cursor=${Buffer.from('["x","y"]').toString('base64url')}&include=all`,
    );
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.body.fields).sort()).toEqual(['cursor', 'include', 'limit']);
  });

  it('keeps two tenants apart: documents and balances', async () => {
    const a = await receipt(tenantA, cat(tenantA).warehouse, [{ item: cat(tenantA).items[0] as string, quantity: '1', price: '1' }]);
    expect(await api(tenantB, 'admin', 'GET', `${RECEIPTS}/${a.id}`)).toMatchObject({ status: 404 });
    expect(await api(tenantB, 'admin', 'POST', `${RECEIPTS}/${a.id}/post`)).toMatchObject({ status: 404 });
    const listB = await api(tenantB, 'admin', 'GET', `${RECEIPTS}?include=deleted&limit=500`);
    expect(listB.body.items.map((d: { id: string }) => d.id)).not.toContain(a.id);
    // In tenant B the static user is a users row: documents record who entered them.
    await sql(tenantB, "INSERT INTO users (id, email, password_hash) VALUES ($1, 'clerk@example.test', 'x')", [STATIC_USER_ID]);
    const mine = await receipt(tenantB, cat(tenantB).warehouse, [{ item: cat(tenantB).items[0] as string, quantity: '1', price: '1' }]);
    expect(mine.createdBy).toBe(STATIC_USER_ID);
    // Tenant A's warehouse is unknown in tenant B.
    const cross = await api(tenantB, 'clerk', 'POST', RECEIPTS, {
      number: 'X-1',
      warehouseId: cat(tenantA).warehouse,
      lines: [{ nomenclatureId: cat(tenantA).items[0], quantity: '1', price: '1' }],
    });
    expect(cross).toMatchObject({ status: 422 });
    // Tenant B posted nothing: its report is empty, tenant A's is not.
    expect((await api(tenantB, 'viewer', 'GET', REPORT)).body.items).toEqual([]);
    expect((await api(tenantA, 'viewer', 'GET', REPORT)).body.items.length).toBeGreaterThan(0);
  });
});
