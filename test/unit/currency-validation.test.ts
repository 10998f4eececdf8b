import { describe, expect, it } from 'vitest';
import { parsePage, validateNewCurrency } from '../../src/reference/currency-routes.js';

describe('validateNewCurrency', () => {
  it('accepts the minimal body and fills in defaults', () => {
    expect(validateNewCurrency({ code: 'USD', name: ' US Dollar ' })).toEqual({
      code: 'USD',
      name: 'US Dollar',
      symbol: null,
      decimalPlaces: 2,
      isBase: false,
    });
    expect(validateNewCurrency({ code: 'JPY', name: 'Yen', symbol: '¥', decimalPlaces: 0, isBase: true })).toMatchObject({
      symbol: '¥',
      decimalPlaces: 0,
      isBase: true,
    });
  });

  it('reports every bad field at once', () => {
    try {
      validateNewCurrency({ code: 'usd', name: '', symbol: '', decimalPlaces: 2.5, isBase: 'yes', extra: 1 });
      expect.unreachable();
    } catch (err) {
      expect(err).toMatchObject({ code: 'VALIDATION_FAILED', httpStatus: 400 });
      expect(Object.keys((err as { fields: object }).fields).sort()).toEqual(['code', 'decimalPlaces', 'extra', 'isBase', 'name', 'symbol']);
    }
  });

  it('rejects bodies that are not objects', () => {
    for (const body of [null, [], 'USD', 3]) {
      expect(() => validateNewCurrency(body)).toThrowError(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
    }
  });
});

describe('parsePage', () => {
  it('reads limit and offset with defaults and bounds', () => {
    expect(parsePage(new URLSearchParams(''))).toEqual({ limit: 100, offset: 0 });
    expect(parsePage(new URLSearchParams('limit=5&offset=10'))).toEqual({ limit: 5, offset: 10 });
    for (const bad of ['limit=0', 'limit=501', 'limit=-1', 'offset=x', 'limit=1.5']) {
      expect(() => parsePage(new URLSearchParams(bad))).toThrowError(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
    }
  });
});
