import { describe, expect, it } from 'vitest';
import { CATALOG_DEFINITIONS } from '../../src/erp/catalogs/catalog-definitions.js';
import { CATALOG_NAMES, CATALOG_TABLES } from '../../src/erp/catalogs/catalog-references.js';
import { decodeCursor } from '../../src/erp/input/list-page.js';
import { catalogListFromRows, catalogListQuery } from '../../src/erp/catalogs/catalog-repository.js';
import { catalogCreateSchema, catalogListSchema, catalogPatchSchema, catalogRowSchema } from '../../src/erp/catalogs/catalog-schema.js';

const ID = '0d4c2f36-3f5e-4f8e-9b1a-2c3d4e5f6a7b';
const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

describe('catalog definitions', () => {
  it('define the five catalogs on their tables, code and name first and required', () => {
    expect(Object.keys(CATALOG_DEFINITIONS)).toEqual(CATALOG_NAMES);
    for (const name of CATALOG_NAMES) {
      const def = CATALOG_DEFINITIONS[name];
      expect(def.name).toBe(name);
      expect(def.table).toBe(CATALOG_TABLES[name]);
      expect(Object.keys(def.fields).slice(0, 2)).toEqual(['code', 'name']);
      expect(def.fields.code?.required && def.fields.name?.required).toBe(true);
      // Identifiers go into SQL text: they must be plain lower-case names.
      for (const field of Object.values(def.fields)) expect(field.column).toMatch(IDENTIFIER);
      for (const use of def.usedBy) for (const id of [use.header, use.column, use.lines ?? 'x']) expect(id).toMatch(IDENTIFIER);
      expect(Object.values(def.unique).map((u) => u.field)).toContain('code');
    }
  });

  it('name the posted documents that pin a row (units: none)', () => {
    const uses = (name: keyof typeof CATALOG_DEFINITIONS) => CATALOG_DEFINITIONS[name].usedBy.map((u) => `${u.lines ?? u.header}.${u.column}`);
    expect(uses('warehouses')).toEqual(['goods_receipts.warehouse_id', 'goods_issues.warehouse_id', 'inventory_counts.warehouse_id']);
    expect(uses('counterparties')).toEqual(['goods_receipts.counterparty_id', 'goods_issues.counterparty_id']);
    expect(uses('currencies')).toEqual(['goods_receipts.currency_id', 'goods_issues.currency_id']);
    expect(uses('nomenclature')).toEqual([
      'goods_receipt_lines.nomenclature_id',
      'goods_issue_lines.nomenclature_id',
      'inventory_count_lines.nomenclature_id',
    ]);
    expect(uses('units')).toEqual([]);
  });
});

describe('catalogListQuery', () => {
  it('pages live rows by (code, id) with one extra row, values as parameters', () => {
    const first = catalogListQuery('units', { limit: 50, includeDeleted: false });
    expect(first).toEqual({
      name: 'catalog.units.list.live',
      text: 'SELECT id, code, name, symbol, deletion_mark, version, created_at, updated_at FROM units WHERE NOT deletion_mark ORDER BY code, id LIMIT $1',
      values: [51],
    });
    const next = catalogListQuery('nomenclature', { limit: 10, includeDeleted: true, q: "50%'; DROP", after: { code: "O'Brien", id: ID } });
    expect(next.name).toBe('catalog.nomenclature.list.all.q.after');
    expect(next.text).toContain(
      'FROM nomenclature WHERE (code ILIKE $2 OR name ILIKE $2) AND (code, id) > ($3, $4::uuid) ORDER BY code, id LIMIT $1',
    );
    expect(next.text).not.toContain('deletion_mark AND');
    expect(next.text).not.toContain('Brien');
    expect(next.values).toEqual([11, "%50\\%'; DROP%", "O'Brien", ID]);
  });

  it('gives each shape its own statement name (a name must always mean the same text)', () => {
    const texts = new Map<string, string>();
    for (const name of CATALOG_NAMES) {
      for (const includeDeleted of [false, true]) {
        for (const q of [undefined, 'x']) {
          for (const after of [undefined, { code: 'a', id: ID }]) {
            const query = catalogListQuery(name, { limit: 5, includeDeleted, q, after });
            const seen = texts.get(query.name as string);
            if (seen !== undefined) expect(query.text).toBe(seen);
            texts.set(query.name as string, query.text);
          }
        }
      }
    }
    expect(texts.size).toBe(5 * 8);
  });
});

describe('catalogListFromRows', () => {
  const row = (code: string) => ({
    id: ID,
    code,
    name: `Unit ${code}`,
    symbol: null,
    deletion_mark: false,
    version: 2,
    created_at: new Date('2026-11-27T10:00:00Z'),
    updated_at: new Date('2026-11-27T11:00:00Z'),
  });

  it('answers at most limit items in camelCase, with a cursor at the last one only when the extra row came', () => {
    const page = { limit: 2, includeDeleted: false };
    const more = catalogListFromRows('units', page, [row('a'), row('b'), row('c')]);
    expect(more.items).toEqual([
      {
        id: ID,
        code: 'a',
        name: 'Unit a',
        symbol: null,
        deletionMark: false,
        version: 2,
        createdAt: '2026-11-27T10:00:00.000Z',
        updatedAt: '2026-11-27T11:00:00.000Z',
      },
      expect.objectContaining({ code: 'b' }),
    ]);
    expect(decodeCursor(more.nextCursor as string, ['text', 'uuid'])).toEqual(['b', ID]);
    expect(catalogListFromRows('units', page, [row('a'), row('b')]).nextCursor).toBeNull();
    expect(catalogListFromRows('units', page, [])).toEqual({ items: [], nextCursor: null });
  });
});

describe('catalog schemas', () => {
  it('describe the row, the POST and PATCH bodies and the list from the definition', () => {
    const def = CATALOG_DEFINITIONS.currencies;
    const row = catalogRowSchema(def);
    expect(row.required).toEqual([
      'id',
      'code',
      'name',
      'symbol',
      'decimalPlaces',
      'isBase',
      'deletionMark',
      'version',
      'createdAt',
      'updatedAt',
    ]);
    expect((row.properties as Record<string, unknown>).symbol).toMatchObject({ type: ['string', 'null'], maxLength: 8 });

    const create = catalogCreateSchema(def);
    expect(create).toMatchObject({ required: ['code', 'name'], additionalProperties: false });
    expect((create.properties as Record<string, unknown>).code).toMatchObject({
      type: 'string',
      pattern: '^[A-Z]{3}$',
      minLength: 3,
      maxLength: 3,
    });
    expect((create.properties as Record<string, unknown>).decimalPlaces).toMatchObject({ type: 'integer', minimum: 0, maximum: 4, default: 2 });

    const patch = catalogPatchSchema(def);
    expect(patch.required).toBeUndefined();
    expect(Object.keys(patch.properties as object)).toEqual(['code', 'name', 'symbol', 'decimalPlaces', 'isBase', 'deletionMark', 'version']);

    expect(catalogListSchema(def)).toMatchObject({ required: ['items', 'nextCursor'], properties: { items: { type: 'array', items: row } } });
  });

  it('list every field of every catalog in its POST schema, enums and references included', () => {
    for (const name of CATALOG_NAMES) {
      const def = CATALOG_DEFINITIONS[name];
      expect(Object.keys(catalogCreateSchema(def).properties as object)).toEqual(Object.keys(def.fields));
    }
    const item = catalogCreateSchema(CATALOG_DEFINITIONS.nomenclature).properties as Record<string, unknown>;
    expect(item.kind).toMatchObject({ type: 'string', enum: ['goods', 'service'], default: 'goods' });
    expect(item.unitId).toMatchObject({ type: ['string', 'null'], format: 'uuid' });
  });
});
