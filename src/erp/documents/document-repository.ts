/**
 * SQL for documents (header + lines), generic over the definitions. Every
 * statement takes the connection from the request context (getTxManager()):
 * inside the service's transaction when there is one. Table and column
 * names come only from the definitions; values are always parameters. The
 * statements whose text is fixed per document type are named (parsed once
 * per connection): list, read, insert, lines insert, lock.
 */
import { getTxManager } from '../../context/tenant-context.js';
import { likePattern } from '../input/list-page.js';
import type { DocumentDefinition } from './document-definitions.js';
import { sqlArrayType, type FieldSpec } from './document-fields.js';
import type { ColumnValues } from './document-input.js';

/** A document as the API answers it: header fields by their JSON names, bookkeeping, and lines. */
export type DocumentView = Record<string, unknown> & { id: string; version: number; lines?: Record<string, unknown>[] };

/** The header as locked for a write or posting. */
export interface LockedHeader {
  id: string;
  posted: boolean;
  deletionMark: boolean;
  version: number;
  /** column -> value of the header's catalog references (warehouse_id, ...). */
  references: Record<string, string | null>;
}

export interface ListQuery {
  limit: number;
  /** [date key, id] of the last row of the previous page. */
  after: string[] | undefined;
  q: string | undefined;
  includeDeleted: boolean;
}

/** A listed header and its sort key. */
export interface ListedRow {
  view: DocumentView;
  key: string[];
}

const BOOKKEEPING = ['posted', 'posted_at', 'deletion_mark', 'version', 'created_at', 'updated_at', 'created_by'] as const;

/** The header columns selected, as `h.col`. */
function headerColumns(def: DocumentDefinition): string {
  const columns = ['id', ...def.header.map((f) => f.column), ...(def.priced ? ['total_amount'] : []), ...BOOKKEEPING];
  return columns.map((c) => `h.${c}`).join(', ');
}

/** `json_build_object('lineNo', l.line_no, ...)` with decimals as text (JSON numbers would drop "10.000"'s scale). */
function lineObject(def: DocumentDefinition): string {
  const fields: FieldSpec[] = [...def.lines, ...def.lineOutputs];
  const parts = fields.map((f) => `'${f.name}', l.${f.column}${f.kind === 'decimal' ? '::text' : ''}`);
  return `json_build_object('lineNo', l.line_no, ${parts.join(', ')})`;
}

interface HeaderRow extends Record<string, unknown> {
  id: string;
  version: number;
}

function iso(value: unknown): string | null {
  if (value instanceof Date) return value.toISOString();
  return typeof value === 'string' ? value : null;
}

function viewOf(def: DocumentDefinition, row: HeaderRow): DocumentView {
  const view: DocumentView = { id: row.id, version: row.version };
  for (const spec of def.header) {
    const value = row[spec.column];
    view[spec.name] = spec.kind === 'timestamp' ? iso(value) : (value ?? null);
  }
  if (def.priced) view.totalAmount = row.total_amount;
  view.posted = row.posted;
  view.postedAt = iso(row.posted_at);
  view.deletionMark = row.deletion_mark;
  view.createdAt = iso(row.created_at);
  view.updatedAt = iso(row.updated_at);
  view.createdBy = row.created_by ?? null;
  if (row.lines !== undefined) view.lines = row.lines as Record<string, unknown>[];
  return view;
}

export const documentRepository = {
  async read(def: DocumentDefinition, id: string): Promise<DocumentView | undefined> {
    const { rows } = await getTxManager().query<HeaderRow>({
      name: `documents.${def.table}.read`,
      text: `SELECT ${headerColumns(def)},
               (SELECT coalesce(json_agg(${lineObject(def)} ORDER BY l.line_no), '[]'::json)
                FROM ${def.linesTable} l WHERE l.document_id = h.id) AS lines
             FROM ${def.table} h WHERE h.id = $1`,
      values: [id],
    });
    return rows[0] ? viewOf(def, rows[0]) : undefined;
  },

  /**
   * Headers only (lines are read one document at a time), newest first. The
   * first page and the pages after a cursor are two statements, so the
   * keyset condition is a plain range the planner can walk the date index with.
   */
  async list(def: DocumentDefinition, query: ListQuery): Promise<ListedRow[]> {
    const after = query.after !== undefined;
    const values: unknown[] = [query.includeDeleted, query.q === undefined ? null : likePattern(query.q), query.limit + 1];
    if (query.after) values.push(query.after[0], query.after[1]);
    const { rows } = await getTxManager().query<HeaderRow & { date_key: string }>({
      name: `documents.${def.table}.list${after ? '-after' : ''}`,
      text: `SELECT ${headerColumns(def)}, to_char(h.date AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS date_key
             FROM ${def.table} h
             WHERE ($1::boolean OR NOT h.deletion_mark)
               AND ($2::text IS NULL OR h.number ILIKE $2 ESCAPE '\\' OR h.comment ILIKE $2 ESCAPE '\\')
               ${after ? 'AND (h.date, h.id) < ($4::timestamptz, $5::uuid)' : ''}
             ORDER BY h.date DESC, h.id DESC
             LIMIT $3`,
      values,
    });
    return rows.map((row) => ({ view: viewOf(def, row), key: [row.date_key, row.id] }));
  },

  /** The header FOR UPDATE: every write and posting of one document queues here. */
  async lock(def: DocumentDefinition, id: string): Promise<LockedHeader | undefined> {
    const refs = def.header.filter((f) => f.kind === 'reference').map((f) => f.column);
    const { rows } = await getTxManager().query<Record<string, unknown>>({
      name: `documents.${def.table}.lock`,
      text: `SELECT id, posted, deletion_mark, version, ${refs.join(', ')} FROM ${def.table} WHERE id = $1 FOR UPDATE`,
      values: [id],
    });
    const row = rows[0];
    if (!row) return undefined;
    return {
      id: row.id as string,
      posted: row.posted as boolean,
      deletionMark: row.deletion_mark as boolean,
      version: row.version as number,
      references: Object.fromEntries(refs.map((c) => [c, (row[c] as string | null) ?? null])),
    };
  },

  /** Inserts the header; `created_by` is the user when it is a row of users (a token's subject may not be). */
  async insertHeader(
    def: DocumentDefinition,
    header: ColumnValues,
    totalAmount: string | undefined,
    userId: string | undefined,
  ): Promise<string> {
    const columns = def.header.map((f) => f.column);
    const values: unknown[] = def.header.map((f) => header[f.column] ?? null);
    const placeholders = def.header.map((f, i) => (f.kind === 'timestamp' ? `coalesce($${i + 1}::timestamptz, now())` : `$${i + 1}`));
    if (def.priced) {
      columns.push('total_amount');
      values.push(totalAmount ?? '0');
      placeholders.push(`$${values.length}`);
    }
    values.push(userId ?? null);
    columns.push('created_by');
    placeholders.push(`(SELECT id FROM users WHERE id = $${values.length}::uuid)`);
    const { rows } = await getTxManager().query<{ id: string }>({
      name: `documents.${def.table}.insert`,
      text: `INSERT INTO ${def.table} (${columns.join(', ')}) VALUES (${placeholders.join(', ')}) RETURNING id`,
      values,
    });
    return (rows[0] as { id: string }).id;
  },

  /** Sets the given header columns (and the total, and the deletion mark); any UPDATE bumps the version (trigger). */
  async updateHeader(def: DocumentDefinition, id: string, changes: ColumnValues): Promise<void> {
    const allowed = new Set([...def.header.map((f) => f.column), 'total_amount', 'deletion_mark']);
    const columns = Object.keys(changes).filter((c) => allowed.has(c));
    // Lines alone changed: the header still gets a new version and updated_at.
    const sets = columns.length > 0 ? columns.map((c, i) => `${c} = $${i + 2}`) : ['updated_at = now()'];
    await getTxManager().query(`UPDATE ${def.table} SET ${sets.join(', ')} WHERE id = $1`, [id, ...columns.map((c) => changes[c])]);
  },

  /** Writes all lines in one statement (unnest of one array per column). */
  async insertLines(def: DocumentDefinition, id: string, lines: readonly ColumnValues[]): Promise<void> {
    const arrays = def.lines.map((f) => lines.map((line) => line[f.column] ?? null));
    const unnest = ['$2::int[]', ...def.lines.map((f, i) => `$${i + 3}::${sqlArrayType(f)}`)];
    const names = ['n', ...def.lines.map((_, i) => `c${i}`)];
    await getTxManager().query({
      name: `documents.${def.linesTable}.insert`,
      text: `INSERT INTO ${def.linesTable} (document_id, line_no, ${def.lines.map((f) => f.column).join(', ')})
             SELECT $1, ${names.join(', ')} FROM unnest(${unnest.join(', ')}) AS t(${names.join(', ')})`,
      values: [id, lines.map((_, i) => i + 1), ...arrays],
    });
  },

  async deleteLines(def: DocumentDefinition, id: string): Promise<void> {
    await getTxManager().query({
      name: `documents.${def.linesTable}.delete`,
      text: `DELETE FROM ${def.linesTable} WHERE document_id = $1`,
      values: [id],
    });
  },

  /** Each line's item, for the reference check before posting. */
  async lineItems(def: DocumentDefinition, id: string): Promise<{ lineNo: number; nomenclatureId: string }[]> {
    const { rows } = await getTxManager().query<{ line_no: number; nomenclature_id: string }>({
      name: `documents.${def.linesTable}.items`,
      text: `SELECT line_no, nomenclature_id FROM ${def.linesTable} WHERE document_id = $1 ORDER BY line_no`,
      values: [id],
    });
    return rows.map((r) => ({ lineNo: r.line_no, nomenclatureId: r.nomenclature_id }));
  },

  /** The schema's posting function: (re)writes the movements, marks the document posted. */
  async post(def: DocumentDefinition, id: string): Promise<void> {
    await getTxManager().query({ name: `documents.${def.table}.post`, text: `SELECT ${def.postFunction}($1::uuid)`, values: [id] });
  },

  /** Removes the movements and clears posted (a no-op on an unposted document). */
  async unpost(def: DocumentDefinition, id: string): Promise<void> {
    await getTxManager().query({ name: 'documents.unpost', text: 'SELECT unpost_document($1, $2::uuid)', values: [def.recorderType, id] });
  },
};
