/**
 * Request bodies of the catalog API, read through the one InputReader with
 * the checks of the catalog's definition: POST gives every field (defaults
 * filled in), PATCH only those sent, plus `version` and `deletionMark`.
 */
import { VERSION_RULE, readValue, type FieldValue } from '../input/field-rule.js';
import { InputReader } from '../input/input-reader.js';
import type { CatalogDefinition, CatalogField } from './catalog-definition.js';

/** API field name -> value (text, number, boolean, uuid or null). */
export type CatalogValues = Record<string, FieldValue>;

export interface CatalogPatch {
  /** Only the fields the client sent. */
  changes: CatalogValues;
  /** true marks the row for deletion, false restores it. */
  deletionMark?: boolean;
  /** The version the client read (may come from If-Match instead). */
  version?: number;
}

/** A new row's values: every field, defaults for those not sent. Throws one ValidationError naming every bad field. */
export function readCatalogCreate(def: CatalogDefinition, body: unknown): CatalogValues {
  const reader = new InputReader(body);
  const values: CatalogValues = {};
  for (const [name, field] of Object.entries(def.fields)) {
    const value = readField(reader, name, field, field.required === true);
    values[name] = value ?? defaultOf(field);
  }
  reader.rejectUnknown().finish(`the ${def.noun} is invalid`);
  return values;
}

/** A PATCH body: the fields sent (null only where the field is nullable), `deletionMark`, `version`. */
export function readCatalogPatch(def: CatalogDefinition, body: unknown): CatalogPatch {
  const reader = new InputReader(body);
  const changes: CatalogValues = {};
  for (const [name, field] of Object.entries(def.fields)) {
    const value = readField(reader, name, field, false);
    if (value !== undefined) changes[name] = value;
  }
  const deletionMark = reader.boolean('deletionMark') ?? undefined;
  const version = reader.integer('version', VERSION_RULE) ?? undefined;
  reader.rejectUnknown().finish(`the ${def.noun} is invalid`);
  return { changes, ...(deletionMark === undefined ? {} : { deletionMark }), ...(version === undefined ? {} : { version }) };
}

function readField(reader: InputReader, name: string, field: CatalogField, required: boolean): FieldValue | undefined {
  return readValue(reader, name, field, { required, nullable: field.nullable === true });
}

function defaultOf(field: CatalogField): FieldValue {
  return 'default' in field ? field.default : null;
}
