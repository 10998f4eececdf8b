/**
 * The one check every piece of request text passes before a handler sees it
 * (JSON body, path parameters, query string): PostgreSQL cannot store the
 * NUL character in text (SQLSTATE 22021), so a `\u0000` is refused here as a
 * 400 naming the field instead of failing later as a 500.
 */
import { ValidationError } from '../errors.js';

const NUL = '\u0000';
const NUL_MESSAGE = 'must not contain the NUL character (\\u0000)';

/** Field paths (`name`, `lines[2].note`) of every string or key in a parsed JSON value that holds a NUL. */
export function nulFields(value: unknown, path = ''): string[] {
  if (typeof value === 'string') return value.includes(NUL) ? [path || 'body'] : [];
  if (Array.isArray(value)) return value.flatMap((item, i) => nulFields(item, `${path}[${i}]`));
  if (typeof value !== 'object' || value === null) return [];
  const found: string[] = [];
  for (const [key, item] of Object.entries(value)) {
    const field = path ? `${path}.${printable(key)}` : printable(key);
    if (key.includes(NUL)) found.push(field);
    else found.push(...nulFields(item, field));
  }
  return found;
}

/** Throws VALIDATION_FAILED naming every field whose text holds a NUL. */
export function assertNoNul(value: unknown, message = 'the request body contains the NUL character'): void {
  reject(nulFields(value), message);
}

/** Path parameters and query parameters of one request, checked together. */
export function assertNoNulInUrl(params: Record<string, string>, query: URLSearchParams): void {
  const fields = nulFields(params);
  for (const [key, value] of query) if ((key + value).includes(NUL)) fields.push(printable(key));
  reject(fields, 'the URL contains the NUL character');
}

function reject(fields: string[], message: string): void {
  if (fields.length === 0) return;
  throw new ValidationError(Object.fromEntries(fields.map((field) => [field, NUL_MESSAGE])), message);
}

/** The field name as it can be shown (a NUL in a key is written `\u0000`). */
function printable(key: string): string {
  return key.replaceAll(NUL, '\\u0000');
}
