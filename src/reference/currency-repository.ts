/**
 * Currencies of the current tenant (the `currencies` catalog). The
 * repository holds no pool: every call takes the request's transaction
 * manager from the tenant scope, so it runs inside the caller's transaction
 * when there is one and can only ever touch the tenant of the request.
 */
import { getTxManager } from '../context/tenant-context.js';
import { ConflictError, isUniqueViolation } from '../errors.js';

export interface Currency {
  id: string;
  code: string;
  name: string;
  symbol: string | null;
  decimalPlaces: number;
  isBase: boolean;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export interface NewCurrency {
  code: string;
  name: string;
  symbol: string | null;
  decimalPlaces: number;
  isBase: boolean;
}

interface CurrencyRow {
  id: string;
  code: string;
  name: string;
  symbol: string | null;
  decimal_places: number;
  is_base: boolean;
  version: number;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = 'id, code, name, symbol, decimal_places, is_base, version, created_at, updated_at';

/** The list query, shared with the benchmark's bare-pool baseline so both run the same SQL. */
export const LIST_CURRENCIES_SQL = `SELECT ${COLUMNS} FROM currencies WHERE NOT deletion_mark ORDER BY code LIMIT $1 OFFSET $2`;

export function currencyFromRow(row: CurrencyRow): Currency {
  return {
    id: row.id,
    code: row.code,
    name: row.name,
    symbol: row.symbol,
    decimalPlaces: row.decimal_places,
    isBase: row.is_base,
    version: row.version,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

export const currencyRepository = {
  async list(page: { limit: number; offset: number }): Promise<Currency[]> {
    // Named statements are parsed once per connection, then only executed.
    const { rows } = await getTxManager().query<CurrencyRow>({
      name: 'currencies.list',
      text: LIST_CURRENCIES_SQL,
      values: [page.limit, page.offset],
    });
    return rows.map(currencyFromRow);
  },

  async get(id: string): Promise<Currency | undefined> {
    const { rows } = await getTxManager().query<CurrencyRow>({
      name: 'currencies.get',
      text: `SELECT ${COLUMNS} FROM currencies WHERE id = $1 AND NOT deletion_mark`,
      values: [id],
    });
    return rows[0] ? currencyFromRow(rows[0]) : undefined;
  },

  async create(input: NewCurrency): Promise<Currency> {
    try {
      const { rows } = await getTxManager().query<CurrencyRow>(
        `INSERT INTO currencies (code, name, symbol, decimal_places, is_base)
         VALUES ($1, $2, $3, $4, $5) RETURNING ${COLUMNS}`,
        [input.code, input.name, input.symbol, input.decimalPlaces, input.isBase],
      );
      return currencyFromRow(rows[0] as CurrencyRow);
    } catch (err) {
      if (isUniqueViolation(err, 'currencies_single_base_key')) {
        throw new ConflictError('another currency is already the base currency', { cause: err });
      }
      if (isUniqueViolation(err)) throw new ConflictError(`a currency with code ${input.code} already exists`, { cause: err });
      throw err;
    }
  },
};
