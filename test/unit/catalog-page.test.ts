import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { parseCatalogPage } from '../../src/erp/catalogs/catalog-page.js';
import { decodeCursor, encodeCursor, likePattern } from '../../src/erp/input/list-page.js';

const ID = '0d4c2f36-3f5e-4f8e-9b1a-2c3d4e5f6a7b';
/** A catalog's sort key: code, id. */
const SHAPE = ['text', 'uuid'] as const;

function fieldsOf(query: string): Record<string, string> {
  try {
    parseCatalogPage(new URLSearchParams(query));
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as ValidationError).fields;
  }
  throw new Error(`expected ${query} to be refused`);
}

describe('parseCatalogPage', () => {
  it('defaults to 50 live rows from the start', () => {
    expect(parseCatalogPage(new URLSearchParams(''))).toEqual({ limit: 50, includeDeleted: false });
    expect(parseCatalogPage(new URLSearchParams('cursor=&q=%20&include='))).toEqual({ limit: 50, includeDeleted: false });
  });

  it('reads limit, cursor, q and include', () => {
    const cursor = encodeCursor(['Ünï code', ID]);
    expect(parseCatalogPage(new URLSearchParams(`limit=500&cursor=${cursor}&q=%20bolt%20&include=deleted`))).toEqual({
      limit: 500,
      after: { code: 'Ünï code', id: ID },
      q: 'bolt',
      includeDeleted: true,
    });
    expect(parseCatalogPage(new URLSearchParams('limit=1')).limit).toBe(1);
  });

  it('names every bad parameter in one error', () => {
    for (const limit of ['0', '501', '-1', '1.5', 'ten', '', '0500'])
      expect(fieldsOf(`limit=${limit}`), limit).toEqual({ limit: expect.any(String) });
    expect(fieldsOf(`q=${'x'.repeat(201)}`)).toEqual({ q: expect.any(String) });
    expect(fieldsOf('include=all')).toEqual({ include: expect.any(String) });
    expect(fieldsOf('limit=0&cursor=zzz&include=x')).toEqual({
      limit: expect.any(String),
      cursor: expect.any(String),
      include: expect.any(String),
    });
  });
});

describe('cursors', () => {
  it('round-trip the sort key and are URL-safe', () => {
    const cursor = encodeCursor(['a/b+c?d', ID]);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor, SHAPE)).toEqual(['a/b+c?d', ID]);
  });

  it('refuse anything this list did not write', () => {
    const b64 = (text: string) => Buffer.from(text).toString('base64url');
    for (const bad of [
      'not a cursor',
      b64('not json'),
      b64('{"code":"a","id":"x"}'),
      b64(`["a"]`),
      b64(`["a","${ID}","extra"]`),
      b64(`[1,"${ID}"]`),
      b64('["a","not-a-uuid"]'),
      b64(`["a\\u0000","${ID}"]`),
      'A'.repeat(2000),
    ]) {
      expect(decodeCursor(bad, SHAPE), bad).toBeUndefined();
    }
  });
});

describe('likePattern', () => {
  it('takes %, _ and backslash literally and matches anywhere', () => {
    expect(likePattern('bolt')).toBe('%bolt%');
    expect(likePattern('100%_a\\b')).toBe('%100\\%\\_a\\\\b%');
  });
});
