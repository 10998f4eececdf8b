import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { decodeCursor, encodeCursor, finishQuery, pageOf, readPage } from '../../src/erp/input/list-page.js';

const ID = '4f6c2a9e-1b2c-4d3e-8f90-123456789abc';
const DATE = '2026-11-27T10:00:00.123456Z';

describe('list paging', () => {
  it('round-trips a sort key through an opaque cursor', () => {
    const cursor = encodeCursor([DATE, ID]);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor, ['timestamp', 'uuid'])).toEqual([DATE, ID]);
    expect(decodeCursor(encodeCursor(['W1', 'A b', ID, ID]), ['text', 'text', 'uuid', 'uuid'])).toEqual(['W1', 'A b', ID, ID]);
  });

  it('refuses cursors that are not ours for this list', () => {
    const shape = ['timestamp', 'uuid'] as const;
    expect(decodeCursor('not base64 !', shape)).toBeUndefined();
    expect(decodeCursor(Buffer.from('{').toString('base64url'), shape)).toBeUndefined();
    expect(decodeCursor(encodeCursor([DATE]), shape)).toBeUndefined();
    expect(decodeCursor(encodeCursor([DATE, 'nope']), shape)).toBeUndefined();
    expect(decodeCursor(encodeCursor(['2026-11-27', ID]), shape)).toBeUndefined();
    expect(decodeCursor(encodeCursor(['2026-13-45T99:00:00.000000Z', ID]), shape)).toBeUndefined();
    expect(decodeCursor(Buffer.from(JSON.stringify([1, ID])).toString('base64url'), shape)).toBeUndefined();
    expect(decodeCursor(encodeCursor(['a\u0000', ID]), ['text', 'uuid'])).toBeUndefined();
  });

  it('reads limit and cursor, naming each bad parameter', () => {
    const fields: Record<string, string> = {};
    expect(readPage(new URLSearchParams(''), ['uuid'], fields)).toEqual({ limit: 50, after: undefined });
    expect(readPage(new URLSearchParams(`limit=500&cursor=${encodeCursor([ID])}`), ['uuid'], fields)).toEqual({ limit: 500, after: [ID] });
    expect(fields).toEqual({});
    for (const limit of ['0', '501', '1.5', '-1', 'ten', '']) {
      const bad: Record<string, string> = {};
      readPage(new URLSearchParams({ limit }), ['uuid'], bad);
      expect(Object.keys(bad)).toEqual(['limit']);
    }
    const bad: Record<string, string> = {};
    readPage(new URLSearchParams({ cursor: 'abc' }), ['uuid'], bad);
    expect(Object.keys(bad)).toEqual(['cursor']);
    expect(() => finishQuery(bad)).toThrow(ValidationError);
    expect(() => finishQuery({})).not.toThrow();
  });

  it('cuts a page fetched with one extra row and points the cursor at its last row', () => {
    const rows = [1, 2, 3, 4];
    const key = (n: number) => [String(n)];
    const full = pageOf(rows, 3, key, (n) => n * 10);
    expect(full.items).toEqual([10, 20, 30]);
    expect(decodeCursor(full.nextCursor as string, ['text'])).toEqual(['3']);
    expect(pageOf(rows.slice(0, 3), 3, key, (n) => n)).toEqual({ items: [1, 2, 3], nextCursor: null });
    expect(pageOf([], 3, key, (n) => n)).toEqual({ items: [], nextCursor: null });
  });
});
