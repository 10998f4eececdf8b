/**
 * What a catalog is, as data: its table, its fields (name in the API, column
 * in the table, the check its input passes, its default), the unique indexes
 * that can refuse a row, and the posted documents that keep a row from being
 * marked for deletion. Validation, SQL, row mapping and the JSON schemas of
 * the API are all derived from one such table per catalog, so a field list
 * exists exactly once (catalog-definitions.ts).
 */
import type { FieldRule } from '../input/field-rule.js';
import type { CatalogName } from './catalog-references.js';

interface FieldCommon {
  /** The column in the catalog's table (a constant, never input). */
  column: string;
  /** One line for the API documentation. */
  description: string;
  /** POST must carry it (PATCH never must). */
  required?: boolean;
  /** null is a value (clears the field). */
  nullable?: boolean;
}

type Rule<K extends FieldRule['kind']> = Extract<FieldRule, { kind: K }>;

export type CatalogField = FieldCommon &
  (
    | Rule<'text'>
    | (Rule<'integer'> & { default: number })
    | (Rule<'boolean'> & { default: boolean })
    | (Rule<'enum'> & { default: string })
    | Rule<'reference'>
  );

/** A posted document kind whose rows, when they reference a catalog row, keep it from being marked for deletion. */
export interface CatalogUse {
  /** For messages: "goods receipt". */
  document: string;
  /** The document header table (has `number` and `posted`). */
  header: string;
  /** The column holding the catalog row's id: in the header, or in `lines` when given. */
  column: string;
  /** The line table (`document_id` -> header) when the reference is on the lines. */
  lines?: string;
}

export interface CatalogDefinition {
  name: CatalogName;
  table: string;
  /** Singular, for messages: "unit". */
  noun: string;
  /** API field name -> definition, in the order the API shows them. `code` and `name` are always first. */
  fields: Readonly<Record<string, CatalogField>>;
  /** Unique index (its name, as PostgreSQL reports it) -> the field it makes unique, and the message when it refuses a row. */
  unique: Readonly<Record<string, { field: string; message: (values: Readonly<Record<string, unknown>>) => string }>>;
  /** Posted documents that use a row (none: the row can always be marked for deletion). */
  usedBy: readonly CatalogUse[];
}
