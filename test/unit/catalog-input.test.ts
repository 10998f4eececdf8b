import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { CATALOG_DEFINITIONS } from '../../src/erp/catalogs/catalog-definitions.js';
import { readCatalogCreate, readCatalogPatch } from '../../src/erp/catalogs/catalog-input.js';

function fieldsOf(fn: () => unknown): Record<string, string> {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as ValidationError).fields;
  }
  throw new Error('expected a ValidationError');
}

const { currencies, units, warehouses, counterparties, nomenclature } = CATALOG_DEFINITIONS;

describe('readCatalogCreate', () => {
  it('fills in the defaults of the definition and null for the optional fields', () => {
    expect(readCatalogCreate(currencies, { code: 'USD', name: ' US Dollar ' })).toEqual({
      code: 'USD',
      name: 'US Dollar',
      symbol: null,
      decimalPlaces: 2,
      isBase: false,
    });
    expect(readCatalogCreate(warehouses, { code: 'W', name: 'Main' })).toEqual({ code: 'W', name: 'Main', address: null, isActive: true });
    expect(readCatalogCreate(counterparties, { code: 'C', name: 'Acme' })).toMatchObject({ kind: 'both', taxId: null, email: null });
    expect(readCatalogCreate(nomenclature, { code: 'I', name: 'Item', unitId: 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11' })).toMatchObject({
      kind: 'goods',
      unitId: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
      article: null,
    });
    expect(readCatalogCreate(units, { code: 'kg', name: 'Kilogram', symbol: null })).toEqual({ code: 'kg', name: 'Kilogram', symbol: null });
  });

  it('names every bad field at once, each by its rule', () => {
    const fields = fieldsOf(() =>
      readCatalogCreate(currencies, { code: 'usd', name: 'x'.repeat(201), symbol: 'x'.repeat(9), decimalPlaces: 5, isBase: 1, rate: 2 }),
    );
    expect(fields).toEqual({
      code: expect.stringContaining('ISO 4217'),
      name: 'must be a string of 1-200 characters',
      symbol: 'must be a string of 1-8 characters',
      decimalPlaces: 'must be an integer from 0 to 4',
      isBase: 'must be true or false',
      rate: 'unknown field',
    });
    expect(fieldsOf(() => readCatalogCreate(units, {}))).toEqual({ code: 'required', name: 'required' });
    expect(fieldsOf(() => readCatalogCreate(units, { code: 'x'.repeat(33), name: 'n', symbol: 'x'.repeat(17) }))).toEqual({
      code: 'must be a string of 1-32 characters',
      symbol: 'must be a string of 1-16 characters',
    });
    expect(fieldsOf(() => readCatalogCreate(warehouses, { code: 'w', name: 'n', address: 'x'.repeat(501), isActive: 'no' }))).toEqual({
      address: expect.any(String),
      isActive: expect.any(String),
    });
    expect(
      fieldsOf(() =>
        readCatalogCreate(counterparties, {
          code: 'c',
          name: 'n',
          kind: 'vendor',
          taxId: 'x'.repeat(33),
          email: 'a b@c',
          phone: 'x'.repeat(33),
        }),
      ),
    ).toEqual({
      kind: 'must be one of customer, supplier, both',
      taxId: expect.any(String),
      email: expect.stringContaining('e-mail'),
      phone: expect.any(String),
    });
    expect(fieldsOf(() => readCatalogCreate(counterparties, { code: 'c', name: 'n', email: `${'x'.repeat(250)}@a.bc` }))).toEqual({
      email: 'must be a string of 1-254 characters',
    });
    expect(
      fieldsOf(() =>
        readCatalogCreate(nomenclature, {
          code: 'x'.repeat(65),
          name: 'n',
          kind: 'goods ',
          unitId: 'kg',
          article: 'x'.repeat(65),
          barcode: 'x'.repeat(65),
          description: 'x'.repeat(2001),
        }),
      ),
    ).toEqual({
      code: expect.any(String),
      kind: expect.any(String),
      unitId: 'must be a UUID',
      article: expect.any(String),
      barcode: expect.any(String),
      description: 'must be a string of 1-2000 characters',
    });
  });

  it('refuses the bookkeeping fields (id, version, deletionMark) on create', () => {
    expect(fieldsOf(() => readCatalogCreate(units, { code: 'u', name: 'n', id: 'x', version: 1, deletionMark: false }))).toEqual({
      id: 'unknown field',
      version: 'unknown field',
      deletionMark: 'unknown field',
    });
  });
});

describe('readCatalogPatch', () => {
  it('returns only the fields sent, with deletionMark and version apart', () => {
    expect(readCatalogPatch(warehouses, { name: 'New', address: null, version: 3 })).toEqual({
      changes: { name: 'New', address: null },
      version: 3,
    });
    expect(readCatalogPatch(warehouses, { deletionMark: false })).toEqual({ changes: {}, deletionMark: false });
    expect(readCatalogPatch(units, {})).toEqual({ changes: {} });
  });

  it('refuses null for a field that cannot be null, and a bad version', () => {
    expect(fieldsOf(() => readCatalogPatch(currencies, { name: null, isBase: null, symbol: null, version: 0 }))).toEqual({
      name: 'must not be null',
      isBase: 'must not be null',
      version: expect.stringContaining('integer'),
    });
    expect(fieldsOf(() => readCatalogPatch(units, { deletionMark: 'yes', colour: 'red' }))).toEqual({
      deletionMark: 'must be true or false',
      colour: 'unknown field',
    });
  });
});
