/**
 * One page of a catalog list: `limit`, `cursor`, `q`, `include=deleted` from
 * the query string. Paging is by keyset on (code, id) (list-page.ts: the
 * limit and cursor rules of every list).
 */
import { finishQuery, readPage } from '../input/list-page.js';

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

/** Longer search text finds nothing a code or name (at most 200 characters) could hold. */
export const MAX_Q_LENGTH = 200;

/** Reads the list parameters; every bad one is named in one 400. */
export function parseCatalogPage(query: URLSearchParams): CatalogPage {
  const fields: Record<string, string> = {};
  const { limit, after } = readPage(query, ['text', 'uuid'], fields);
  const page: CatalogPage = { limit, includeDeleted: false };
  if (after) page.after = { code: after[0] as string, id: (after[1] as string).toLowerCase() };

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

  finishQuery(fields);
  return page;
}
