/**
 * /api/v1/catalogs/currencies: list, create, get by id. Handlers run inside
 * the tenant scope set by the TenantDB middleware; validation reports every
 * bad field at once (400 with `fields`).
 */
import { isUuid } from '../tenants/tenant.js';
import { getTxManager } from '../context/tenant-context.js';
import { NotFoundError, ValidationError } from '../errors.js';
import { currencyRepository, type NewCurrency } from './currency-repository.js';
import { readJson } from './http-body.js';
import { sendJson } from '../server/http-errors.js';
import type { Router } from './router.js';

export const CURRENCIES_PATH = '/api/v1/catalogs/currencies';

const KNOWN_FIELDS = new Set(['code', 'name', 'symbol', 'decimalPlaces', 'isBase']);

/** Checks a POST body; returns the row to insert (defaults filled in) or throws with every problem. */
export function validateNewCurrency(body: unknown): NewCurrency {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ValidationError({ body: 'must be a JSON object' }, 'the request body must be a JSON object');
  }
  const input = body as Record<string, unknown>;
  const fields: Record<string, string> = {};
  for (const key of Object.keys(input)) if (!KNOWN_FIELDS.has(key)) fields[key] = 'unknown field';

  const { code, name, symbol, decimalPlaces, isBase } = input;
  if (typeof code !== 'string' || !/^[A-Z]{3}$/.test(code)) {
    fields.code = 'required: a three-letter ISO 4217 code in upper case, e.g. "USD"';
  }
  if (typeof name !== 'string' || name.trim() === '' || name.length > 200) {
    fields.name = 'required: a non-empty string of at most 200 characters';
  }
  if (symbol !== undefined && symbol !== null && (typeof symbol !== 'string' || symbol === '' || symbol.length > 8)) {
    fields.symbol = 'must be a string of 1-8 characters, or null';
  }
  if (decimalPlaces !== undefined && (!Number.isInteger(decimalPlaces) || (decimalPlaces as number) < 0 || (decimalPlaces as number) > 4)) {
    fields.decimalPlaces = 'must be an integer from 0 to 4';
  }
  if (isBase !== undefined && typeof isBase !== 'boolean') fields.isBase = 'must be true or false';
  if (Object.keys(fields).length > 0) throw new ValidationError(fields, 'the currency is invalid');

  return {
    code: code as string,
    name: (name as string).trim(),
    symbol: (symbol as string | null | undefined) ?? null,
    decimalPlaces: (decimalPlaces as number | undefined) ?? 2,
    isBase: (isBase as boolean | undefined) ?? false,
  };
}

const DEFAULT_PAGE = Object.freeze({ limit: 100, offset: 0 });

export function parsePage(query: URLSearchParams): { limit: number; offset: number } {
  const rawLimit = query.get('limit');
  const rawOffset = query.get('offset');
  if (rawLimit === null && rawOffset === null) return DEFAULT_PAGE;
  const fields: Record<string, string> = {};
  const limit = pageNumber(rawLimit, 100, 1, 500);
  const offset = pageNumber(rawOffset, 0, 0, 1_000_000);
  if (limit === undefined) fields.limit = 'must be an integer from 1 to 500';
  if (offset === undefined) fields.offset = 'must be an integer from 0 to 1000000';
  if (Object.keys(fields).length > 0) throw new ValidationError(fields, 'the query parameters are invalid');
  return { limit: limit as number, offset: offset as number };
}

function pageNumber(raw: string | null, fallback: number, min: number, max: number): number | undefined {
  if (raw === null) return fallback;
  const value = Number(raw);
  return /^\d+$/.test(raw) && value >= min && value <= max ? value : undefined;
}

export function registerCurrencyRoutes(router: Router): void {
  router.add('GET', CURRENCIES_PATH, async ({ res, query }) => {
    const page = parsePage(query);
    const items = await currencyRepository.list(page);
    sendJson(res, 200, { items, limit: page.limit, offset: page.offset });
  });

  router.add('POST', CURRENCIES_PATH, async ({ req, res }) => {
    const input = validateNewCurrency(await readJson(req));
    const created = await getTxManager().run(() => currencyRepository.create(input), { statementTimeoutMs: 5_000 });
    sendJson(res, 201, created, { location: `${CURRENCIES_PATH}/${created.id}` });
  });

  router.add('GET', `${CURRENCIES_PATH}/:id`, async ({ res, params }) => {
    const id = params.id as string;
    const currency = isUuid(id) ? await currencyRepository.get(id) : undefined;
    if (!currency) throw new NotFoundError('currency not found');
    sendJson(res, 200, currency);
  });
}
