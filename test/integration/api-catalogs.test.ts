/**
 * The catalog API end to end: the in-process app (static test auth: the token
 * names the role) on real tenant databases. Posted documents are written with
 * plain SQL and the posting functions, so the in-use rule is tested without
 * the documents module.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withTenant } from '../../src/context/tenant-context.js';
import { lockReferences } from '../../src/erp/catalogs/catalog-references.js';
import type { TenantToolkitError } from '../../src/errors.js';
import type { TenantServices } from '../../src/pools/tenant-services.js';
import { createApp } from '../../src/reference/app.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import type { Tenant } from '../../src/tenants/tenant.js';
import { eventually } from '../support/eventually.js';
import { startHttpServer, type TestHttpServer } from '../support/http-server.js';
import { roleHeaders, staticAuth } from '../support/static-auth.js';
import { createTenants, openServices } from '../support/tenant-fixtures.js';
import { createTestEnvironment } from '../support/test-environment.js';

const env = createTestEnvironment();
let rt: Runtime;
let tenants: Tenant[];
let services: TenantServices;
let server: TestHttpServer | undefined;
let base: string;
const serverErrors: TenantToolkitError[] = [];

const CATALOGS = '/api/v1/catalogs';
const t = (i: number) => tenants[i] as Tenant;

type Role = 'admin' | 'clerk' | 'viewer';
type Body = Record<string, any>;

async function api(
  tenant: Tenant,
  method: string,
  urlPath: string,
  body?: unknown,
  options: { role?: Role | null; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = options.role === null ? { 'x-tenant-id': tenant.id } : roleHeaders(tenant.id, options.role ?? 'admin');
  if (body !== undefined) headers['content-type'] = 'application/json';
  Object.assign(headers, options.headers);
  const response = await fetch(`${base}${urlPath}`, {
    method,
    headers,
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Body };
}

/** Creates a row (201 expected) and returns it. */
async function create(tenant: Tenant, catalog: string, body: Body): Promise<Body> {
  const created = await api(tenant, 'POST', `${CATALOGS}/${catalog}`, body);
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body;
}

async function sql<T extends Record<string, unknown>>(tenant: Tenant, text: string, values: unknown[] = []): Promise<T[]> {
  return withTenant(services.pools, tenant.id, async (scope) => (await scope.pool.query<T>(text, values)).rows);
}

/** Every page of a list, following nextCursor. */
async function allPages(tenant: Tenant, catalog: string, query: string): Promise<{ pages: number; codes: string[] }> {
  const codes: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page = await api(tenant, 'GET', `${CATALOGS}/${catalog}?${query}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(page.status).toBe(200);
    pages++;
    codes.push(...page.body.items.map((r: Body) => r.code as string));
    cursor = page.body.nextCursor as string | null;
  } while (cursor !== null && pages < 50);
  return { pages, codes };
}

beforeAll(async () => {
  rt = await env.runtime();
  tenants = await createTenants(rt, 2, 'cat');
  services = await openServices(rt, { limits: { maxPools: 4, maxConnsPerPool: 4, acquireTimeoutMs: 30_000 } });
  const app = createApp({
    auth: staticAuth(),
    pools: services.pools,
    metaPool: rt.metaPool,
    listener: services.listener,
    cache: services.cache,
    onServerError: (err) => serverErrors.push(err),
  });
  server = await startHttpServer(app);
  base = server.base;
});
afterAll(async () => {
  await server?.stop();
  await services?.close({ deadlineMs: 1_000 });
  await env.cleanup();
});

describe('catalog API', () => {
  it('creates, reads, changes, marks for deletion and restores a row of every catalog', async () => {
    const tenant = t(0);
    const unit = await create(tenant, 'units', { code: 'pcs', name: 'Piece' });
    const cases: { catalog: string; body: Body; defaults: Body; patch: Body }[] = [
      {
        catalog: 'currencies',
        body: { code: 'EUR', name: ' Euro ', symbol: '€' },
        defaults: { name: 'Euro', decimalPlaces: 2, isBase: false },
        patch: { decimalPlaces: 3, symbol: null },
      },
      { catalog: 'units', body: { code: 'kg', name: 'Kilogram', symbol: 'kg' }, defaults: {}, patch: { name: 'Kilogramme' } },
      {
        catalog: 'warehouses',
        body: { code: 'W1', name: 'Main', address: '1 Dock Road' },
        defaults: { isActive: true },
        patch: { isActive: false, address: null },
      },
      {
        catalog: 'counterparties',
        body: { code: 'C1', name: 'Acme', kind: 'supplier', email: 'buyer@acme.test' },
        defaults: { taxId: null, phone: null },
        patch: { phone: '+1 555 0100', kind: 'both' },
      },
      {
        catalog: 'nomenclature',
        body: { code: 'I1', name: 'Bolt', unitId: unit.id, barcode: '4006381333931' },
        defaults: { kind: 'goods', article: null, description: null },
        patch: { description: 'M8 x 40', unitId: null },
      },
    ];
    for (const { catalog, body, defaults, patch } of cases) {
      const path = `${CATALOGS}/${catalog}`;
      const created = await api(tenant, 'POST', path, body);
      expect(created.status, `${catalog}: ${JSON.stringify(created.body)}`).toBe(201);
      expect(created.body).toMatchObject({ ...body, ...defaults, deletionMark: false, version: 1 });
      expect(created.headers.get('location')).toBe(`${path}/${created.body.id}`);
      expect(created.headers.get('etag')).toBe('"1"');

      const read = await api(tenant, 'GET', `${path}/${created.body.id}`);
      expect(read).toMatchObject({ status: 200, body: created.body });
      expect(read.headers.get('etag')).toBe('"1"');

      const changed = await api(tenant, 'PATCH', `${path}/${created.body.id}`, { ...patch, version: 1 });
      expect(changed.status, `${catalog}: ${JSON.stringify(changed.body)}`).toBe(200);
      // Only the fields sent change.
      expect(changed.body).toEqual({ ...created.body, ...patch, version: 2, updatedAt: expect.any(String) });
      expect(changed.headers.get('etag')).toBe('"2"');

      const deleted = await api(tenant, 'DELETE', `${path}/${created.body.id}`);
      expect(deleted).toMatchObject({ status: 200, body: { id: created.body.id, deletionMark: true, version: 3 } });
      // Idempotent: marking again changes nothing.
      expect(await api(tenant, 'DELETE', `${path}/${created.body.id}`)).toMatchObject({ status: 200, body: { deletionMark: true, version: 3 } });
      expect(await api(tenant, 'GET', `${path}/${created.body.id}`)).toMatchObject({ status: 200, body: { deletionMark: true } });
      const live = await api(tenant, 'GET', path);
      expect(live.body.items.map((r: Body) => r.id as string)).not.toContain(created.body.id);
      const all = await api(tenant, 'GET', `${path}?include=deleted`);
      expect(all.body.items.map((r: Body) => r.id as string)).toContain(created.body.id);

      const restored = await api(tenant, 'PATCH', `${path}/${created.body.id}`, { deletionMark: false }, { headers: { 'if-match': '"3"' } });
      expect(restored).toMatchObject({ status: 200, body: { deletionMark: false, version: 4 } });
      expect((await api(tenant, 'GET', path)).body.items.map((r: Body) => r.id as string)).toContain(created.body.id);
    }
    expect(serverErrors).toEqual([]);
  });

  it('pages through more rows than the limit with a cursor, in code order, each row once', async () => {
    const tenant = t(1);
    const codes = Array.from({ length: 23 }, (_, i) => `P-${String(i).padStart(2, '0')}`);
    for (const code of [...codes].reverse()) await create(tenant, 'warehouses', { code, name: `Store ${code}` });
    const paged = await allPages(tenant, 'warehouses', 'limit=5');
    expect(paged).toEqual({ pages: 5, codes });
    const first = await api(tenant, 'GET', `${CATALOGS}/warehouses?limit=5`);
    expect(first.body.items).toHaveLength(5);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const exact = await api(tenant, 'GET', `${CATALOGS}/warehouses?limit=23`);
    expect(exact.body).toMatchObject({ nextCursor: null });
    expect(exact.body.items).toHaveLength(23);
    // The default page is 50 rows.
    expect((await api(tenant, 'GET', `${CATALOGS}/warehouses`)).body.items).toHaveLength(23);

    // Rows marked for deletion: skipped by default, in their place with include=deleted.
    const gone = exact.body.items[7] as Body;
    expect((await api(tenant, 'DELETE', `${CATALOGS}/warehouses/${gone.id}`)).status).toBe(200);
    // A new live row may take the freed code.
    const again = await create(tenant, 'warehouses', { code: gone.code, name: 'Reused code' });
    expect((await allPages(tenant, 'warehouses', 'limit=4')).codes).toEqual(codes);
    const withDeleted = await allPages(tenant, 'warehouses', 'limit=4&include=deleted');
    expect(withDeleted.codes).toEqual([...codes.slice(0, 8), gone.code, ...codes.slice(8)]);
    const ids = (await api(tenant, 'GET', `${CATALOGS}/warehouses?limit=500&include=deleted`)).body.items.map((r: Body) => r.id as string);
    expect(ids).toContain(again.id);
    expect(ids).toContain(gone.id);
  });

  it('searches code and name case-insensitively, taking % and _ literally', async () => {
    const tenant = t(1);
    await create(tenant, 'nomenclature', { code: 'SHIRT-1', name: 'Shirt, 100% cotton' });
    await create(tenant, 'nomenclature', { code: 'SHIRT-2', name: 'Shirt, 1000 threads' });
    await create(tenant, 'nomenclature', { code: 'CAP_RED', name: 'Red cap' });
    await create(tenant, 'nomenclature', { code: 'CAPXRED', name: 'Red cap, other' });
    const search = async (q: string): Promise<string[]> =>
      ((await api(tenant, 'GET', `${CATALOGS}/nomenclature?q=${encodeURIComponent(q)}`)).body.items as Body[]).map((r) => r.code as string);
    expect(await search('shirt')).toEqual(['SHIRT-1', 'SHIRT-2']);
    expect(await search('COTTON')).toEqual(['SHIRT-1']);
    expect(await search('100%')).toEqual(['SHIRT-1']);
    expect(await search('%')).toEqual(['SHIRT-1']);
    expect(await search('cap_')).toEqual(['CAP_RED']);
    expect(await search('nothing like this')).toEqual([]);
    // Paging and search together.
    // (In the database's collation order, which may ignore the underscore.)
    const paged = await allPages(tenant, 'nomenclature', 'limit=1&q=red');
    expect(paged.pages).toBe(2);
    expect(paged.codes.sort()).toEqual(['CAPXRED', 'CAP_RED']);
  });

  it('answers 400 naming every bad list parameter', async () => {
    const tenant = t(0);
    const path = `${CATALOGS}/units`;
    for (const [query, field] of [
      ['limit=0', 'limit'],
      ['limit=501', 'limit'],
      ['limit=ten', 'limit'],
      ['cursor=not-a-cursor', 'cursor'],
      [`cursor=${Buffer.from('["a","b"]').toString('base64url')}`, 'cursor'],
      ['cursor=%2B%2B', 'cursor'],
      ['include=everything', 'include'],
      [`q=${'x'.repeat(201)}`, 'q'],
    ] as const) {
      const answer = await api(tenant, 'GET', `${path}?${query}`);
      expect(answer.status, query).toBe(400);
      expect(answer.body).toMatchObject({ code: 'VALIDATION_FAILED' });
      expect(Object.keys(answer.body.fields), query).toEqual([field]);
    }
    const several = await api(tenant, 'GET', `${path}?limit=-1&include=x`);
    expect(Object.keys(several.body.fields).sort()).toEqual(['include', 'limit']);
  });

  it('answers 400 naming every bad field: types, lengths, patterns, NUL, unknown fields, nulls', async () => {
    const tenant = t(0);
    const bad = await api(tenant, 'POST', `${CATALOGS}/currencies`, {
      code: 'usd',
      name: 'x'.repeat(201),
      symbol: 12,
      decimalPlaces: 9,
      isBase: 'yes',
      colour: 'red',
    });
    expect(bad).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
    expect(Object.keys(bad.body.fields).sort()).toEqual(['code', 'colour', 'decimalPlaces', 'isBase', 'name', 'symbol']);
    expect(bad.body.fields.colour).toBe('unknown field');

    const missing = await api(tenant, 'POST', `${CATALOGS}/counterparties`, { kind: 'friend', email: 'no-at-sign' });
    expect(missing.body.fields).toEqual({
      code: 'required',
      name: 'required',
      kind: expect.stringContaining('customer'),
      email: expect.any(String),
    });

    const nul = await api(tenant, 'POST', `${CATALOGS}/units`, { code: 'u1', name: 'bad\u0000name' });
    expect(nul).toMatchObject({ status: 400, body: { fields: { name: expect.stringContaining('NUL') } } });

    expect((await api(tenant, 'POST', `${CATALOGS}/units`, [])).body.fields).toEqual({ body: 'must be a JSON object' });
    expect(await api(tenant, 'POST', `${CATALOGS}/units`, '{"code":')).toMatchObject({ status: 400, body: { code: 'USAGE' } });
    // Server-side fields are not input.
    const bookkeeping = await api(tenant, 'POST', `${CATALOGS}/units`, {
      code: 'u2',
      name: 'U',
      id: randomUUID(),
      version: 7,
      deletionMark: true,
    });
    expect(Object.keys(bookkeeping.body.fields).sort()).toEqual(['deletionMark', 'id', 'version']);

    const unit = await create(tenant, 'units', { code: 'box', name: 'Box' });
    const nulls = await api(tenant, 'PATCH', `${CATALOGS}/units/${unit.id}`, { name: null, symbol: null, version: 1 });
    expect(nulls).toMatchObject({ status: 400, body: { fields: { name: 'must not be null' } } });
    expect(Object.keys(nulls.body.fields)).toEqual(['name']);
    const types = await api(tenant, 'PATCH', `${CATALOGS}/units/${unit.id}`, { code: '', version: '1' });
    expect(Object.keys(types.body.fields).sort()).toEqual(['code', 'version']);
    // Nothing was written by the refused requests.
    expect((await api(tenant, 'GET', `${CATALOGS}/units/${unit.id}`)).body).toMatchObject({ name: 'Box', version: 1 });
    expect(serverErrors).toEqual([]);
  });

  it('needs the version on PATCH (body or If-Match) and refuses a stale one with 409 STALE_VERSION', async () => {
    const tenant = t(0);
    const path = `${CATALOGS}/warehouses`;
    const row = await create(tenant, 'warehouses', { code: 'V1', name: 'Versioned' });
    const item = `${path}/${row.id}`;
    const none = await api(tenant, 'PATCH', item, { name: 'No version' });
    expect(none).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
    expect(Object.keys(none.body.fields)).toEqual(['version']);
    expect(await api(tenant, 'PATCH', item, { name: 'Bad header' }, { headers: { 'if-match': 'soon' } })).toMatchObject({
      status: 400,
      body: { fields: { 'If-Match': expect.any(String) } },
    });
    expect(await api(tenant, 'PATCH', item, { name: 'Disagree', version: 1 }, { headers: { 'if-match': '"2"' } })).toMatchObject({
      status: 400,
      body: { fields: { version: expect.any(String) } },
    });

    expect(await api(tenant, 'PATCH', item, { name: 'First', version: 1 })).toMatchObject({ status: 200, body: { version: 2 } });
    const staleBody = await api(tenant, 'PATCH', item, { name: 'Second', version: 1 });
    expect(staleBody).toMatchObject({ status: 409, body: { code: 'STALE_VERSION' } });
    const staleHeader = await api(tenant, 'PATCH', item, { name: 'Second' }, { headers: { 'if-match': '"1"' } });
    expect(staleHeader).toMatchObject({ status: 409, body: { code: 'STALE_VERSION' } });
    expect(await api(tenant, 'PATCH', item, { name: 'Second' }, { headers: { 'if-match': '2' } })).toMatchObject({
      status: 200,
      body: { name: 'Second', version: 3 },
    });
    // DELETE honours If-Match when it is sent.
    expect(await api(tenant, 'DELETE', item, undefined, { headers: { 'if-match': '"2"' } })).toMatchObject({
      status: 409,
      body: { code: 'STALE_VERSION' },
    });
    expect((await api(tenant, 'GET', item)).body).toMatchObject({ name: 'Second', version: 3, deletionMark: false });
  });

  it('answers 404 for malformed and unknown ids, and 409 CONFLICT naming the field for duplicates', async () => {
    const tenant = t(0);
    for (const method of ['GET', 'PATCH', 'DELETE']) {
      const body = method === 'PATCH' ? { name: 'x', version: 1 } : undefined;
      expect(await api(tenant, method, `${CATALOGS}/units/${randomUUID()}`, body)).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
      expect(await api(tenant, method, `${CATALOGS}/units/not-a-uuid`, body)).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    }
    await create(tenant, 'counterparties', { code: 'DUP', name: 'First' });
    const dup = await api(tenant, 'POST', `${CATALOGS}/counterparties`, { code: 'DUP', name: 'Second' });
    expect(dup).toMatchObject({ status: 409, body: { code: 'CONFLICT', message: expect.stringContaining('code') } });

    const other = await create(tenant, 'counterparties', { code: 'DUP2', name: 'Other' });
    const renamed = await api(tenant, 'PATCH', `${CATALOGS}/counterparties/${other.id}`, { code: 'DUP', version: 1 });
    expect(renamed).toMatchObject({ status: 409, body: { code: 'CONFLICT', message: expect.stringContaining('code') } });

    await create(tenant, 'currencies', { code: 'USD', name: 'US Dollar', isBase: true });
    const secondBase = await api(tenant, 'POST', `${CATALOGS}/currencies`, { code: 'GBP', name: 'Pound', isBase: true });
    expect(secondBase).toMatchObject({ status: 409, body: { code: 'CONFLICT', message: expect.stringContaining('isBase') } });

    // Restoring a row whose code a live row took meanwhile is a conflict too.
    const old = await create(tenant, 'units', { code: 'l', name: 'Litre' });
    await api(tenant, 'DELETE', `${CATALOGS}/units/${old.id}`);
    await create(tenant, 'units', { code: 'l', name: 'Litre (new)' });
    expect(await api(tenant, 'PATCH', `${CATALOGS}/units/${old.id}`, { deletionMark: false, version: 2 })).toMatchObject({
      status: 409,
      body: { code: 'CONFLICT' },
    });
  });

  it('answers 422 naming unitId for an unknown unit or one marked for deletion', async () => {
    const tenant = t(0);
    const unknown = await api(tenant, 'POST', `${CATALOGS}/nomenclature`, { code: 'R1', name: 'Ref', unitId: randomUUID() });
    expect(unknown).toMatchObject({ status: 422, body: { code: 'UNKNOWN_REFERENCE' } });
    expect(Object.keys(unknown.body.fields)).toEqual(['unitId']);
    const unit = await create(tenant, 'units', { code: 'm', name: 'Metre' });
    const item = await create(tenant, 'nomenclature', { code: 'R1', name: 'Ref', unitId: unit.id });
    const unitless = await create(tenant, 'nomenclature', { code: 'R0', name: 'No unit' });
    expect((await api(tenant, 'DELETE', `${CATALOGS}/units/${unit.id}`)).status).toBe(200);
    const marked = await api(tenant, 'POST', `${CATALOGS}/nomenclature`, { code: 'R2', name: 'Ref 2', unitId: unit.id });
    expect(marked).toMatchObject({ status: 422, body: { fields: { unitId: expect.any(String) } } });
    const patched = await api(tenant, 'PATCH', `${CATALOGS}/nomenclature/${unitless.id}`, { unitId: unit.id, version: 1 });
    expect(patched).toMatchObject({ status: 422, body: { fields: { unitId: expect.any(String) } } });
    expect((await api(tenant, 'GET', `${CATALOGS}/nomenclature/${unitless.id}`)).body).toMatchObject({ unitId: null, version: 1 });
    // Changing another field of an item whose unit was marked is still allowed...
    expect(await api(tenant, 'PATCH', `${CATALOGS}/nomenclature/${item.id}`, { name: 'Ref renamed', version: 1 })).toMatchObject({
      status: 200,
    });
    // ...but restoring an item needs its unit to be live again.
    expect((await api(tenant, 'DELETE', `${CATALOGS}/nomenclature/${item.id}`)).status).toBe(200);
    expect(await api(tenant, 'PATCH', `${CATALOGS}/nomenclature/${item.id}`, { deletionMark: false, version: 3 })).toMatchObject({
      status: 422,
      body: { fields: { unitId: expect.any(String) } },
    });
    // A bad uuid is a 400, not a 422.
    expect((await api(tenant, 'POST', `${CATALOGS}/nomenclature`, { code: 'R3', name: 'x', unitId: 'unit-1' })).body.fields).toEqual({
      unitId: 'must be a UUID',
    });
  });

  it('refuses to mark a row that posted documents use (409 IN_USE), and allows it once they are unposted', async () => {
    const tenant = t(1);
    const unit = await create(tenant, 'units', { code: 'each', name: 'Each' });
    const warehouse = await create(tenant, 'warehouses', { code: 'USED', name: 'Used store' });
    const counterparty = await create(tenant, 'counterparties', { code: 'USED', name: 'Used supplier' });
    const currency = await create(tenant, 'currencies', { code: 'CHF', name: 'Franc' });
    const item = await create(tenant, 'nomenclature', { code: 'USED', name: 'Used item', unitId: unit.id });
    const [receipt] = await sql<{ id: string }>(
      tenant,
      `INSERT INTO goods_receipts (number, warehouse_id, counterparty_id, currency_id) VALUES ('GR-1', $1, $2, $3) RETURNING id`,
      [warehouse.id, counterparty.id, currency.id],
    );
    const receiptId = (receipt as { id: string }).id;
    await sql(
      tenant,
      `INSERT INTO goods_receipt_lines (document_id, line_no, nomenclature_id, quantity, price, amount) VALUES ($1, 1, $2, 2, 5, 10)`,
      [receiptId, item.id],
    );

    // An unposted document does not pin anything; mark and restore the warehouse to prove it.
    const draftMark = await api(tenant, 'DELETE', `${CATALOGS}/warehouses/${warehouse.id}`);
    expect(draftMark).toMatchObject({ status: 200, body: { deletionMark: true } });
    expect((await api(tenant, 'PATCH', `${CATALOGS}/warehouses/${warehouse.id}`, { deletionMark: false, version: 2 })).status).toBe(200);

    await sql(tenant, 'SELECT post_goods_receipt($1)', [receiptId]);
    for (const [catalog, row] of [
      ['warehouses', warehouse],
      ['counterparties', counterparty],
      ['currencies', currency],
      ['nomenclature', item],
    ] as const) {
      const refused = await api(tenant, 'DELETE', `${CATALOGS}/${catalog}/${row.id}`);
      expect(refused.status, catalog).toBe(409);
      expect(refused.body).toMatchObject({ code: 'IN_USE', message: expect.stringContaining('GR-1') });
      // PATCH deletionMark: true is the same rule.
      const current = (await api(tenant, 'GET', `${CATALOGS}/${catalog}/${row.id}`)).body;
      expect(current.deletionMark).toBe(false);
      const patched = await api(tenant, 'PATCH', `${CATALOGS}/${catalog}/${row.id}`, { deletionMark: true, version: current.version });
      expect(patched).toMatchObject({ status: 409, body: { code: 'IN_USE' } });
    }
    // No posted document uses units.
    expect((await api(tenant, 'DELETE', `${CATALOGS}/units/${unit.id}`)).status).toBe(200);

    await sql(tenant, "SELECT unpost_document('goods_receipt', $1)", [receiptId]);
    for (const catalog of ['warehouses', 'counterparties', 'currencies', 'nomenclature']) {
      const row = { warehouses: warehouse, counterparties: counterparty, currencies: currency, nomenclature: item }[catalog] as Body;
      expect(await api(tenant, 'DELETE', `${CATALOGS}/${catalog}/${row.id}`), catalog).toMatchObject({
        status: 200,
        body: { deletionMark: true },
      });
    }
    expect(serverErrors).toEqual([]);
  });

  it('makes a deletion mark wait for a posting in flight, then refuse it (FOR UPDATE after the posting’s FOR SHARE)', async () => {
    const tenant = t(1);
    const warehouse = await create(tenant, 'warehouses', { code: 'RACE', name: 'Race store' });
    const item = await create(tenant, 'nomenclature', { code: 'RACE', name: 'Race item' });
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let signalPosted!: () => void;
    const posted = new Promise<void>((resolve) => (signalPosted = resolve));
    // What the documents module does when it posts: lock the references, write, post; then the transaction stays open.
    const posting = withTenant(services.pools, tenant.id, (scope) =>
      scope.tx.run(async (client) => {
        await lockReferences([
          { field: 'warehouseId', catalog: 'warehouses', id: warehouse.id as string },
          { field: 'lines[0].nomenclatureId', catalog: 'nomenclature', id: item.id as string },
        ]);
        const { rows } = await client.query<{ id: string }>(
          "INSERT INTO goods_receipts (number, warehouse_id) VALUES ('RACE-1', $1) RETURNING id",
          [warehouse.id],
        );
        const id = (rows[0] as { id: string }).id;
        await client.query(
          'INSERT INTO goods_receipt_lines (document_id, line_no, nomenclature_id, quantity, price, amount) VALUES ($1, 1, $2, 1, 1, 1)',
          [id, item.id],
        );
        await client.query('SELECT post_goods_receipt($1)', [id]);
        signalPosted();
        await released;
      }),
    );
    await posted;
    const deletion = api(tenant, 'DELETE', `${CATALOGS}/warehouses/${warehouse.id}`);
    await eventually('the deletion mark waits for the posting’s lock', async () => {
      const { rows } = await env.admin((c) =>
        c.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'", [
          tenant.dbName,
        ]),
      );
      return (rows[0]?.n ?? 0) > 0;
    });
    release();
    await posting;
    expect(await deletion).toMatchObject({ status: 409, body: { code: 'IN_USE', message: expect.stringContaining('RACE-1') } });
    expect((await api(tenant, 'GET', `${CATALOGS}/warehouses/${warehouse.id}`)).body).toMatchObject({ deletionMark: false, version: 1 });
  });

  it('checks permissions: a token is needed, viewers read, clerks write', async () => {
    const tenant = t(0);
    const path = `${CATALOGS}/units`;
    expect(await api(tenant, 'GET', path, undefined, { role: null })).toMatchObject({ status: 401, body: { code: 'UNAUTHENTICATED' } });
    expect(await api(tenant, 'GET', path, undefined, { role: 'viewer' })).toMatchObject({ status: 200 });
    const refused = await api(tenant, 'POST', path, { code: 'viewer', name: 'By a viewer' }, { role: 'viewer' });
    expect(refused).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
    const row = await api(tenant, 'POST', path, { code: 'clerk', name: 'By a clerk' }, { role: 'clerk' });
    expect(row.status).toBe(201);
    expect(await api(tenant, 'PATCH', `${path}/${row.body.id}`, { name: 'x', version: 1 }, { role: 'viewer' })).toMatchObject({ status: 403 });
    expect(await api(tenant, 'DELETE', `${path}/${row.body.id}`, undefined, { role: 'viewer' })).toMatchObject({ status: 403 });
    expect((await api(tenant, 'GET', `${path}?include=deleted&limit=500`)).body.items.map((r: Body) => r.code as string)).not.toContain(
      'viewer',
    );
  });

  it('keeps two tenants apart: neither lists, reads nor changes the other’s rows', async () => {
    const [a, b] = [t(0), t(1)];
    const mine = await create(a, 'counterparties', { code: 'ONLY-A', name: 'Tenant A only' });
    const theirs = await create(b, 'counterparties', { code: 'ONLY-B', name: 'Tenant B only' });
    const listA = (await api(a, 'GET', `${CATALOGS}/counterparties?include=deleted&limit=500`)).body.items.map((r: Body) => r.code as string);
    const listB = (await api(b, 'GET', `${CATALOGS}/counterparties?include=deleted&limit=500`)).body.items.map((r: Body) => r.code as string);
    expect(listA).toContain('ONLY-A');
    expect(listA).not.toContain('ONLY-B');
    expect(listB).toContain('ONLY-B');
    expect(listB).not.toContain('ONLY-A');
    expect(await api(b, 'GET', `${CATALOGS}/counterparties/${mine.id}`)).toMatchObject({ status: 404 });
    expect(await api(b, 'PATCH', `${CATALOGS}/counterparties/${mine.id}`, { name: 'Taken', version: 1 })).toMatchObject({ status: 404 });
    expect(await api(b, 'DELETE', `${CATALOGS}/counterparties/${mine.id}`)).toMatchObject({ status: 404 });
    expect(await api(a, 'GET', `${CATALOGS}/counterparties?q=only-b`)).toMatchObject({ status: 200, body: { items: [] } });
    // The same code in both tenants is no conflict.
    await create(a, 'counterparties', { code: 'ONLY-B', name: 'Same code in A' });
    expect((await api(a, 'GET', `${CATALOGS}/counterparties/${mine.id}`)).body).toMatchObject({ name: 'Tenant A only', version: 1 });
    expect((await api(b, 'GET', `${CATALOGS}/counterparties/${theirs.id}`)).body).toMatchObject({ name: 'Tenant B only', version: 1 });
  });
});
