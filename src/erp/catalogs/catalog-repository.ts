/**
 * The one repository of the five catalogs: its SQL is written from the
 * catalog's definition (table and column names are constants of the
 * definition, never input; values are always parameters). It holds no pool:
 * every query goes through the request's transaction manager, so it runs in
 * the caller's transaction when there is one and can only reach the
 * request's tenant. The hot statements are named (parsed once per
 * connection, then only executed).
 */
import type pg from 'pg';
import { getTxManager } from '../../context/tenant-context.js';
import { ConflictError, isUniqueViolation } from '../../errors.js';
import type { CatalogDefinition } from './catalog-definition.js';
import { CATALOG_DEFINITIONS } from './catalog-definitions.js';
import type { CatalogValues } from './catalog-input.js';
import { encodeCursor, likePattern } from '../input/list-page.js';
import type { CatalogPage } from './catalog-page.js';
import { CATALOG_NAMES, type CatalogName } from './catalog-references.js';

/** A catalog row as the API shows it: id, the definition's fields, then the bookkeeping. */
export type CatalogRecord = CatalogValues & {
  id: string;
  code: string;
  name: string;
  deletionMark: boolean;
  version: number;
  createdAt: string;
  updatedAt: string;
};

export interface CatalogList {
  items: CatalogRecord[];
  /** Pass as `cursor` for the next page; null on the last one. */
  nextCursor: string | null;
}

/** A posted document that references a row. */
export interface CatalogUseFound {
  document: string;
  number: string;
}

type Row = Record<string, unknown>;

/** SQL texts of one catalog, written once from its definition. */
interface CatalogSql {
  columns: string;
  get: string;
  lock: string;
  insert: string;
  update: string;
  uses: string | undefined;
}

const sqlCache = new Map<CatalogName, CatalogSql>();

function sqlOf(def: CatalogDefinition): CatalogSql {
  const cached = sqlCache.get(def.name);
  if (cached) return cached;
  const fieldColumns = Object.values(def.fields).map((f) => f.column);
  const columns = ['id', ...fieldColumns, 'deletion_mark', 'version', 'created_at', 'updated_at'].join(', ');
  const sql: CatalogSql = {
    columns,
    get: `SELECT ${columns} FROM ${def.table} WHERE id = $1`,
    lock: `SELECT ${columns} FROM ${def.table} WHERE id = $1 FOR UPDATE`,
    insert: `INSERT INTO ${def.table} (${fieldColumns.join(', ')}) VALUES (${fieldColumns.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING ${columns}`,
    // Every field is written (the service merges the PATCH into the locked row): one statement per catalog.
    update: `UPDATE ${def.table} SET ${fieldColumns.map((c, i) => `${c} = $${i + 2}`).join(', ')}, deletion_mark = $${fieldColumns.length + 2} WHERE id = $1 RETURNING ${columns}`,
    uses: usesSql(def),
  };
  sqlCache.set(def.name, sql);
  return sql;
}

/** Up to three posted documents of each kind that reference the row ($1). */
function usesSql(def: CatalogDefinition): string | undefined {
  if (def.usedBy.length === 0) return undefined;
  return def.usedBy
    .map((use) =>
      use.lines
        ? `(SELECT '${use.document}' AS document, h.number FROM ${use.lines} l JOIN ${use.header} h ON h.id = l.document_id WHERE l.${use.column} = $1 AND h.posted LIMIT 3)`
        : `(SELECT '${use.document}' AS document, h.number FROM ${use.header} h WHERE h.${use.column} = $1 AND h.posted LIMIT 3)`,
    )
    .join(' UNION ALL ');
}

/**
 * The list statement of a catalog page: keyset on (code, id), `limit + 1`
 * rows (the extra one tells whether there is a next page). Exported so the
 * benchmark's bare-pool baseline runs exactly this SQL. One named statement
 * per shape (live or all rows, with or without q, first page or not), so
 * each keeps a plan fit for it: the live list walks the partial code index.
 */
export function catalogListQuery(name: CatalogName, page: CatalogPage): pg.QueryConfig {
  const def = CATALOG_DEFINITIONS[name];
  const values: unknown[] = [page.limit + 1];
  const where: string[] = [];
  if (!page.includeDeleted) where.push('NOT deletion_mark');
  if (page.q !== undefined) {
    values.push(likePattern(page.q));
    where.push(`(code ILIKE $${values.length} OR name ILIKE $${values.length})`);
  }
  if (page.after) {
    values.push(page.after.code, page.after.id);
    where.push(`(code, id) > ($${values.length - 1}, $${values.length}::uuid)`);
  }
  const shape = [page.includeDeleted ? 'all' : 'live', page.q !== undefined ? 'q' : '', page.after ? 'after' : ''].filter(Boolean).join('.');
  return {
    name: `catalog.${name}.list.${shape}`,
    text: `SELECT ${sqlOf(def).columns} FROM ${def.table}${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY code, id LIMIT $1`,
    values,
  };
}

export class CatalogRepository {
  private readonly sql: CatalogSql;

  constructor(readonly def: CatalogDefinition) {
    this.sql = sqlOf(def);
  }

  async list(page: CatalogPage): Promise<CatalogList> {
    const { rows } = await getTxManager().query<Row>(catalogListQuery(this.def.name, page));
    return catalogListFromRows(this.def.name, page, rows);
  }

  /** The row, marked for deletion or not. */
  async get(id: string): Promise<CatalogRecord | undefined> {
    return this.one({ name: `catalog.${this.def.name}.get`, text: this.sql.get, values: [id] });
  }

  /** The row, locked FOR UPDATE until the transaction ends (call inside tx.run). */
  async lockForUpdate(id: string): Promise<CatalogRecord | undefined> {
    return this.one({ name: `catalog.${this.def.name}.lock`, text: this.sql.lock, values: [id] });
  }

  async insert(values: CatalogValues): Promise<CatalogRecord> {
    const row = await this.write({ name: `catalog.${this.def.name}.insert`, text: this.sql.insert, values: this.fieldValues(values) }, values);
    return row as CatalogRecord;
  }

  /** Writes every field and the deletion mark (version and updated_at follow by trigger). */
  async update(id: string, values: CatalogValues, deletionMark: boolean): Promise<CatalogRecord | undefined> {
    return this.write(
      { name: `catalog.${this.def.name}.update`, text: this.sql.update, values: [id, ...this.fieldValues(values), deletionMark] },
      values,
    );
  }

  /** Posted documents that reference the row (a few of each kind; none for a catalog no document uses). */
  async postedUses(id: string): Promise<CatalogUseFound[]> {
    if (this.sql.uses === undefined) return [];
    const { rows } = await getTxManager().query<CatalogUseFound>({ name: `catalog.${this.def.name}.uses`, text: this.sql.uses, values: [id] });
    return rows;
  }

  private async one(query: pg.QueryConfig): Promise<CatalogRecord | undefined> {
    const { rows } = await getTxManager().query<Row>(query);
    return rows[0] ? this.record(rows[0]) : undefined;
  }

  /** An INSERT or UPDATE; a unique index refusing the row is a 409 naming the field. */
  private async write(query: pg.QueryConfig, values: CatalogValues): Promise<CatalogRecord | undefined> {
    try {
      return await this.one(query);
    } catch (err) {
      for (const [constraint, unique] of Object.entries(this.def.unique)) {
        if (isUniqueViolation(err, constraint))
          throw new ConflictError(unique.message(values), { cause: err, details: { field: unique.field } });
      }
      throw err;
    }
  }

  private fieldValues(values: CatalogValues): unknown[] {
    return Object.keys(this.def.fields).map((name) => values[name] ?? null);
  }

  private record(row: Row): CatalogRecord {
    return catalogRecordFromRow(this.def.name, row);
  }
}

/** The rows of catalogListQuery(name, page) as the list answer: at most `limit` items, and the cursor when there is more. */
export function catalogListFromRows(name: CatalogName, page: CatalogPage, rows: Record<string, unknown>[]): CatalogList {
  const items = rows.slice(0, page.limit).map((row) => catalogRecordFromRow(name, row));
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > page.limit && last ? encodeCursor([last.code, last.id]) : null };
}

/** Each catalog's [API field, column] pairs, listed once (a list maps up to 500 rows per request). */
const FIELD_COLUMNS = new Map<CatalogName, ReadonlyArray<readonly [string, string]>>(
  CATALOG_NAMES.map((name) => [name, Object.entries(CATALOG_DEFINITIONS[name].fields).map(([field, f]) => [field, f.column] as const)]),
);

/** A row of catalogListQuery (or any statement selecting the catalog's columns) as the API answers it; the benchmark's baseline maps with it too. */
export function catalogRecordFromRow(name: CatalogName, row: Record<string, unknown>): CatalogRecord {
  const record: Record<string, unknown> = { id: row.id };
  for (const [field, column] of FIELD_COLUMNS.get(name) ?? []) record[field] = row[column] ?? null;
  record.deletionMark = row.deletion_mark;
  record.version = row.version;
  record.createdAt = (row.created_at as Date).toISOString();
  record.updatedAt = (row.updated_at as Date).toISOString();
  return record as CatalogRecord;
}

const repositories = new Map<CatalogName, CatalogRepository>();

export function catalogRepository(name: CatalogName): CatalogRepository {
  let repository = repositories.get(name);
  if (!repository) {
    repository = new CatalogRepository(CATALOG_DEFINITIONS[name]);
    repositories.set(name, repository);
  }
  return repository;
}
