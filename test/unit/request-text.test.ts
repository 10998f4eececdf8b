import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { assertNoNul, assertNoNulInUrl, nulFields } from '../../src/reference/request-text.js';

const NUL = '\u0000';

describe('NUL characters in request text', () => {
  it('names every string and key that holds one, by its path', () => {
    const body = { name: `a${NUL}`, ok: 'fine', lines: [{ note: 'x' }, { note: `${NUL}` }], [`k${NUL}`]: 1, n: 3, b: true, z: null };
    expect(nulFields(body).sort()).toEqual(['k\\u0000', 'lines[1].note', 'name']);
    expect(nulFields(`${NUL}`)).toEqual(['body']);
    expect(nulFields([`${NUL}`])).toEqual(['[0]']);
    expect(nulFields({ name: 'Euro', symbol: '€', notes: ['a', 'b'] })).toEqual([]);
  });

  it('throws VALIDATION_FAILED with one message per field', () => {
    let thrown: unknown;
    try {
      assertNoNul({ name: `x${NUL}y`, code: 'USD' });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ValidationError);
    expect((thrown as ValidationError).httpStatus).toBe(400);
    expect(Object.keys((thrown as ValidationError).fields)).toEqual(['name']);
    expect(() => assertNoNul({ name: 'x' })).not.toThrow();
  });

  it('checks path parameters, query keys and query values', () => {
    const fieldsOf = (params: Record<string, string>, search: string) => {
      try {
        assertNoNulInUrl(params, new URLSearchParams(search));
        return [];
      } catch (err) {
        return Object.keys((err as ValidationError).fields).sort();
      }
    };
    expect(fieldsOf({ id: `1${NUL}` }, 'limit=5')).toEqual(['id']);
    expect(fieldsOf({}, 'q=a%00&limit=5&x%00=1')).toEqual(['q', 'x\\u0000']);
    expect(fieldsOf({ id: 'abc' }, 'limit=5&offset=0')).toEqual([]);
  });
});
