/**
 * Keyset paging for every list of the API (catalogs, documents, the stock report): `limit`
 * (1..500, default 50) and an opaque `cursor`, the base64url JSON of the
 * last row's sort key. The next page starts strictly after that key, so
 * rows inserted meanwhile never shift a page (no OFFSET). A cursor is
 * checked element by element before any of it reaches SQL; a bad one, or a
 * bad limit, is a 400 naming the parameter.
 */
import { ValidationError } from '../../errors.js';
import { isUuid } from '../../tenants/tenant.js';

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 500;

/** What one element of a sort key must look like. */
export type KeyPart = 'text' | 'uuid' | 'timestamp';

/** The UTC text a list query selects for a timestamp key (microseconds: a JS Date would drop them). */
export const TIMESTAMP_KEY = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

export interface PageRequest {
  limit: number;
  /** The sort key to start after; undefined for the first page. */
  after: string[] | undefined;
}

export function encodeCursor(key: readonly string[]): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

/** The key inside a cursor, or undefined if it is not one of ours for this list. */
export function decodeCursor(cursor: string, shape: readonly KeyPart[]): string[] | undefined {
  if (!/^[A-Za-z0-9_-]{1,2000}$/.test(cursor)) return undefined;
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
  if (!Array.isArray(key) || key.length !== shape.length) return undefined;
  const ok = key.every((part, i) => {
    if (typeof part !== 'string' || part.length > 1000 || part.includes('\u0000')) return false;
    if (shape[i] === 'uuid') return isUuid(part);
    if (shape[i] === 'timestamp') return TIMESTAMP_KEY.test(part) && !Number.isNaN(Date.parse(part));
    return true;
  });
  return ok ? (key as string[]) : undefined;
}

/** `limit` and `cursor` of a list request; problems go into `fields` (the caller throws once for all parameters). */
export function readPage(query: URLSearchParams, shape: readonly KeyPart[], fields: Record<string, string>): PageRequest {
  const rawLimit = query.get('limit');
  let limit = DEFAULT_LIMIT;
  if (rawLimit !== null) {
    if (/^[1-9]\d{0,3}$/.test(rawLimit) && Number(rawLimit) >= 1 && Number(rawLimit) <= MAX_LIMIT) limit = Number(rawLimit);
    else fields.limit = `must be an integer from 1 to ${MAX_LIMIT}`;
  }
  const rawCursor = query.get('cursor');
  let after: string[] | undefined;
  if (rawCursor !== null && rawCursor !== '') {
    after = decodeCursor(rawCursor, shape);
    if (!after) fields.cursor = 'is not a cursor this list gave out (pass nextCursor back unchanged)';
  }
  return { limit, after };
}

/** Throws the one ValidationError for the query parameters, if any was bad. */
export function finishQuery(fields: Record<string, string>): void {
  if (Object.keys(fields).length > 0) throw new ValidationError(fields, 'the query parameters are invalid');
}

/** `items` of a page fetched with limit + 1 rows, and the cursor to the next page (null on the last). */
export function pageOf<R, T>(
  rows: readonly R[],
  limit: number,
  keyOf: (row: R) => string[],
  toItem: (row: R) => T,
): { items: T[]; nextCursor: string | null } {
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  const last = page[page.length - 1];
  return { items: page.map(toItem), nextCursor: more && last !== undefined ? encodeCursor(keyOf(last)) : null };
}

/** `%text%` for ILIKE ... ESCAPE '\\': `%`, `_` and the backslash itself match literally. */
export function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
