/**
 * One page of a catalog list: `limit`, `cursor`, `q`, `include=deleted` from
 * the query string. Paging is by keyset on (code, id), never OFFSET: the
 * cursor is the base64url JSON of the last row's [code, id], so a page costs
 * the same however deep it is and rows added meanwhile do not shift it.
 */
import { ValidationError } from '../../errors.js';
import { isUuid } from '../../tenants/tenant.js';

export interface CatalogPage {
  /** 1..500 rows. */
  limit: number;
  /** Rows after this sort key (from the previous page's nextCursor). */
  after?: { code: string; id: string } | undefined;
  /** Case-insensitive substring of code or name (taken literally: `%` and `_` match themselves). */
  q?: string | undefined;
  /** Also rows marked for deletion. */
  includeDeleted: boolean;
}

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 500;
/** Longer search text finds nothing a code or name (at most 200 characters) could hold. */
export const MAX_Q_LENGTH = 200;
/** A cursor holds a code (at most 64 characters) and a uuid; anything much longer is not ours. */
const MAX_CURSOR_LENGTH = 1_024;

/** Reads the list parameters; every bad one is named in one 400. */
export function parseCatalogPage(query: URLSearchParams): CatalogPage {
  const fields: Record<string, string> = {};
  const page: CatalogPage = { limit: DEFAULT_LIMIT, includeDeleted: false };

  const limit = query.get('limit');
  if (limit !== null) {
    if (/^\d{1,3}$/.test(limit) && Number(limit) >= 1 && Number(limit) <= MAX_LIMIT) page.limit = Number(limit);
    else fields.limit = `must be an integer from 1 to ${MAX_LIMIT}`;
  }

  const cursor = query.get('cursor');
  if (cursor !== null && cursor !== '') {
    const after = decodeCursor(cursor);
    if (after) page.after = after;
    else fields.cursor = 'is not a cursor from this list (pass nextCursor as it was returned)';
  }

  const q = query.get('q')?.trim();
  if (q !== undefined && q !== '') {
    if ([...q].length <= MAX_Q_LENGTH) page.q = q;
    else fields.q = `must be at most ${MAX_Q_LENGTH} characters`;
  }

  const include = query.get('include');
  if (include !== null && include !== '') {
    if (include === 'deleted') page.includeDeleted = true;
    else fields.include = 'must be "deleted" (to list rows marked for deletion too)';
  }

  if (Object.keys(fields).length > 0) throw new ValidationError(fields, 'the list parameters are invalid');
  return page;
}

export function encodeCursor(row: { code: string; id: string }): string {
  return Buffer.from(JSON.stringify([row.code, row.id]), 'utf8').toString('base64url');
}

/** The sort key in a cursor, or undefined when it is not one we wrote. */
export function decodeCursor(cursor: string): { code: string; id: string } | undefined {
  if (cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) return undefined;
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(key) || key.length !== 2) return undefined;
  const [code, id] = key as unknown[];
  if (typeof code !== 'string' || code.includes('\u0000') || typeof id !== 'string' || !isUuid(id)) return undefined;
  return { code, id: id.toLowerCase() };
}

/** `%`, `_` and the escape character itself are matched literally in a LIKE pattern. */
export function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
