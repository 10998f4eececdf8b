/**
 * What kind of value a field of the API holds, and the two things that
 * follow from it everywhere: how its input is read (through the one
 * InputReader) and its JSON Schema as a client sends it. Catalog and document
 * definitions are written in these kinds, so a text field, a decimal or a
 * reference is checked and documented the same way in both.
 */
import type { CatalogName } from '../catalogs/catalog-references.js';
import type { DecimalRule, InputReader, TextRule } from './input-reader.js';

/** A JSON Schema object (2020-12, as OpenAPI 3.1 uses it). */
export type JsonSchema = Record<string, unknown>;

export type FieldRule =
  | { kind: 'text'; rule: Pick<TextRule, 'max' | 'min' | 'pattern'> }
  | { kind: 'integer'; min: number; max: number }
  | { kind: 'boolean' }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'decimal'; rule: Pick<DecimalRule, 'precision' | 'scale' | 'sign'> }
  /** A timestamp (RFC 3339, or a date read as midnight UTC). */
  | { kind: 'timestamp' }
  /** A catalog row's id; lockReferences checks that it exists (422) on write. */
  | { kind: 'reference'; catalog: CatalogName };

export type FieldValue = string | number | boolean | null;

/** A row's version for optimistic concurrency (a PostgreSQL integer). */
export const VERSION_RULE = { min: 1, max: 2_147_483_647 } as const;

/** Reads the field `name`; undefined when absent (or bad: the reader has recorded why). */
export function readValue(
  reader: InputReader,
  name: string,
  field: FieldRule,
  presence: { required: boolean; nullable: boolean },
): FieldValue | undefined {
  switch (field.kind) {
    case 'text':
      return reader.text(name, { ...field.rule, ...presence });
    case 'integer':
      return reader.integer(name, { min: field.min, max: field.max, ...presence });
    case 'boolean':
      return reader.boolean(name, presence);
    case 'enum':
      return reader.oneOf(name, field.values, presence);
    case 'decimal':
      return reader.decimal(name, { ...field.rule, ...presence });
    case 'timestamp':
      return reader.timestamp(name, presence);
    case 'reference':
      return reader.uuid(name, presence);
  }
}

/** The schema of the value as a client sends it (without null: callers add it where the field is nullable). */
export function valueSchema(field: FieldRule): JsonSchema {
  switch (field.kind) {
    case 'text':
      return {
        type: 'string',
        minLength: field.rule.min ?? 1,
        maxLength: field.rule.max,
        ...(field.rule.pattern ? { pattern: field.rule.pattern.regex.source } : {}),
      };
    case 'integer':
      return { type: 'integer', minimum: field.min, maximum: field.max };
    case 'boolean':
      return { type: 'boolean' };
    case 'enum':
      return { type: 'string', enum: [...field.values] };
    case 'decimal': {
      const digits = field.rule.precision - field.rule.scale;
      return { type: ['string', 'number'], pattern: `^-?\\d{1,${digits}}(\\.\\d{1,${field.rule.scale}})?$` };
    }
    case 'timestamp':
      return { type: 'string', format: 'date-time' };
    case 'reference':
      return { type: 'string', format: 'uuid' };
  }
}

/** The schema with null allowed too. */
export function orNull(schema: JsonSchema): JsonSchema {
  const type = schema.type;
  return { ...schema, type: Array.isArray(type) ? [...(type as string[]), 'null'] : [type as string, 'null'] };
}
