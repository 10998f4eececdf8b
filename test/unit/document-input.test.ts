import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { GOODS_ISSUES, GOODS_RECEIPTS, INVENTORY_COUNTS } from '../../src/erp/documents/document-definitions.js';
import { readDocumentInput } from '../../src/erp/documents/document-input.js';

const W = '11111111-1111-4111-8111-111111111111';
const ITEM = '22222222-2222-4222-8222-222222222222';
const ITEM2 = '33333333-3333-4333-8333-333333333333';
const CP = '44444444-4444-4444-8444-444444444444';

function fieldsOf(fn: () => unknown): Record<string, string> {
  try {
    fn();
  } catch (err) {
    if (err instanceof ValidationError) return err.fields;
    throw err;
  }
  throw new Error('expected a ValidationError');
}

describe('document input', () => {
  it('reads a receipt: header columns, lines, computed amounts, the total and every reference', () => {
    const input = readDocumentInput(
      GOODS_RECEIPTS,
      {
        number: ' R-1 ',
        date: '2026-11-27',
        warehouseId: W,
        counterpartyId: CP,
        currencyId: null,
        lines: [
          { nomenclatureId: ITEM, quantity: 2, price: '0.13' },
          { nomenclatureId: ITEM2, quantity: '1.5', price: '8.23' },
          { nomenclatureId: ITEM, quantity: '1', price: '10', amount: '9.5' },
        ],
      },
      'create',
    );
    expect(input.header).toEqual({ number: 'R-1', date: '2026-11-27T00:00:00.000Z', warehouse_id: W, counterparty_id: CP, currency_id: null });
    expect(input.lines).toEqual([
      { nomenclature_id: ITEM, quantity: '2', price: '0.13', amount: '0.26' },
      { nomenclature_id: ITEM2, quantity: '1.5', price: '8.23', amount: '12.35' },
      { nomenclature_id: ITEM, quantity: '1', price: '10', amount: '9.5' },
    ]);
    expect(input.totalAmount).toBe('22.11');
    expect(input.references).toEqual([
      { field: 'warehouseId', catalog: 'warehouses', id: W },
      { field: 'counterpartyId', catalog: 'counterparties', id: CP },
      { field: 'lines[0].nomenclatureId', catalog: 'nomenclature', id: ITEM },
      { field: 'lines[1].nomenclatureId', catalog: 'nomenclature', id: ITEM2 },
      { field: 'lines[2].nomenclatureId', catalog: 'nomenclature', id: ITEM },
    ]);
  });

  it('names every bad field of the header and the lines at once', () => {
    expect(
      fieldsOf(() =>
        readDocumentInput(
          GOODS_ISSUES,
          {
            number: '',
            warehouseId: null,
            comment: 'x'.repeat(2001),
            version: 1,
            lines: [
              { nomenclatureId: 'x', quantity: '-1', price: '1.234' },
              'not an object',
              { nomenclatureId: ITEM, quantity: '1', price: '1', amount: '-2', note: 'hi' },
            ],
          },
          'create',
        ),
      ),
    ).toEqual({
      number: expect.any(String),
      warehouseId: 'must not be null',
      comment: expect.any(String),
      version: 'unknown field',
      'lines[0].nomenclatureId': 'must be a UUID',
      'lines[0].quantity': 'must be greater than 0',
      'lines[0].price': expect.any(String),
      'lines[1]': 'must be a JSON object',
      'lines[2].amount': 'must not be negative',
      'lines[2].note': 'unknown field',
    });
    expect(Object.keys(fieldsOf(() => readDocumentInput(GOODS_RECEIPTS, {}, 'create'))).sort()).toEqual(['lines', 'number', 'warehouseId']);
    expect(fieldsOf(() => readDocumentInput(GOODS_RECEIPTS, [], 'create'))).toMatchObject({ body: 'must be a JSON object' });
    const tooMany = Array.from({ length: 1001 }, () => ({ nomenclatureId: ITEM, quantity: '1', price: '1' }));
    expect(Object.keys(fieldsOf(() => readDocumentInput(GOODS_RECEIPTS, { number: 'n', warehouseId: W, lines: tooMany }, 'create')))).toEqual([
      'lines',
    ]);
  });

  it('refuses amounts and totals that numeric(18,2) cannot hold', () => {
    const huge = { nomenclatureId: ITEM, quantity: '999999999999999', price: '99999999999999.99' };
    expect(Object.keys(fieldsOf(() => readDocumentInput(GOODS_RECEIPTS, { number: 'n', warehouseId: W, lines: [huge] }, 'create')))).toEqual([
      'lines[0].amount',
    ]);
    const big = { nomenclatureId: ITEM, quantity: '1', price: '1', amount: '9999999999999999.99' };
    expect(Object.keys(fieldsOf(() => readDocumentInput(GOODS_RECEIPTS, { number: 'n', warehouseId: W, lines: [big, big] }, 'create')))).toEqual(
      ['lines'],
    );
  });

  it('reads a PATCH: only the fields given, version and deletionMark, nothing required', () => {
    expect(readDocumentInput(GOODS_RECEIPTS, { comment: null, version: 3 }, 'patch')).toEqual({
      header: { comment: null },
      references: [],
      version: 3,
    });
    const restore = readDocumentInput(GOODS_RECEIPTS, { deletionMark: false }, 'patch');
    expect(restore.deletionMark).toBe(false);
    expect(restore.lines).toBeUndefined();
    expect(fieldsOf(() => readDocumentInput(GOODS_RECEIPTS, { number: null, version: 0, deletionMark: 'yes' }, 'patch'))).toEqual({
      number: 'must not be null',
      version: expect.any(String),
      deletionMark: 'must be true or false',
    });
  });

  it('reads an inventory count: no counterparty, one line per item, no book quantity from the client', () => {
    const input = readDocumentInput(
      INVENTORY_COUNTS,
      { number: 'C', warehouseId: W, lines: [{ nomenclatureId: ITEM, quantityActual: 0 }] },
      'create',
    );
    expect(input.lines).toEqual([{ nomenclature_id: ITEM, quantity_actual: '0' }]);
    expect(input.totalAmount).toBeUndefined();
    expect(
      fieldsOf(() =>
        readDocumentInput(
          INVENTORY_COUNTS,
          {
            number: 'C',
            warehouseId: W,
            counterpartyId: CP,
            lines: [
              { nomenclatureId: ITEM, quantityActual: '1' },
              { nomenclatureId: ITEM2, quantityActual: '-1' },
              { nomenclatureId: ITEM, quantityActual: '2', quantityBook: '5' },
            ],
          },
          'create',
        ),
      ),
    ).toEqual({
      counterpartyId: 'unknown field',
      'lines[1].quantityActual': 'must not be negative',
      'lines[2].nomenclatureId': expect.stringContaining('lines[0]'),
      'lines[2].quantityBook': 'unknown field',
    });
  });
});
