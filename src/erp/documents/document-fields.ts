/**
 * The field specs document definitions are written in. One spec says, for a
 * field: its name in JSON, its column, how input is checked (through the
 * shared InputReader) and its JSON Schema. Validation, SQL column lists and
 * the OpenAPI schemas are all derived from the same specs, so a field cannot
 * be checked one way and documented another.
 */
import type { CatalogName } from '../catalogs/catalog-references.js';
import type { DecimalRule, InputReader, TextRule } from '../input/input-reader.js';

/** A JSON Schema object (2020-12, as OpenAPI 3.1 uses it). */
export type JsonSchema = Record<string, unknown>;

interface FieldBase {
  /** camelCase name in JSON. */
  name: string;
  /** snake_case column (a constant: SQL identifiers come only from here). */
  column: string;
  description: string;
  /** Required when a document is created (a PATCH may still leave it out). */
  required?: boolean;
}

export type FieldSpec =
  | (FieldBase & { kind: 'text'; rule: Omit<TextRule, 'required' | 'nullable'>; nullable?: boolean })
  | (FieldBase & { kind: 'decimal'; rule: Omit<DecimalRule, 'required' | 'nullable'> })
  /** A timestamp; absent on create means the column default (now()). */
  | (FieldBase & { kind: 'timestamp' })
  /** A catalog row's id; checked with lockReferences (422) on write and on posting. */
  | (FieldBase & { kind: 'reference'; catalog: CatalogName; nullable?: boolean });

/** The PostgreSQL array type a field's values are sent as (bulk line inserts use unnest). */
export function sqlArrayType(spec: FieldSpec): string {
  switch (spec.kind) {
    case 'text':
      return 'text[]';
    case 'decimal':
      return 'numeric[]';
    case 'timestamp':
      return 'timestamptz[]';
    case 'reference':
      return 'uuid[]';
  }
}

function isNullable(spec: FieldSpec): boolean {
  return (spec.kind === 'text' || spec.kind === 'reference') && spec.nullable === true;
}

/**
 * Reads one field. `create`: required fields must be there; `patch`: any
 * field may be left out, but a required one may not be set to null.
 * Returns undefined when absent (or bad: the reader has recorded why).
 */
export function readField(reader: InputReader, spec: FieldSpec, mode: 'create' | 'patch'): string | null | undefined {
  const presence = { required: mode === 'create' && spec.required === true, nullable: isNullable(spec) };
  switch (spec.kind) {
    case 'text':
      return reader.text(spec.name, { ...spec.rule, ...presence });
    case 'decimal':
      return reader.decimal(spec.name, { ...spec.rule, ...presence });
    case 'timestamp':
      return reader.timestamp(spec.name, presence);
    case 'reference':
      return reader.uuid(spec.name, presence);
  }
}

/** The schema of a field as a client sends it. */
export function inputSchema(spec: FieldSpec): JsonSchema {
  const withNull = (schema: JsonSchema): JsonSchema =>
    isNullable(spec) ? { ...schema, type: [schema.type as string, 'null'], description: spec.description } : schema;
  switch (spec.kind) {
    case 'text': {
      const schema: JsonSchema = { type: 'string', minLength: spec.rule.min ?? 1, maxLength: spec.rule.max, description: spec.description };
      if (spec.rule.pattern) schema.pattern = spec.rule.pattern.regex.source;
      return withNull(schema);
    }
    case 'decimal': {
      const digits = spec.rule.precision - spec.rule.scale;
      const sign = spec.rule.sign === 'positive' ? ' (greater than 0)' : spec.rule.sign === 'non-negative' ? ' (not negative)' : '';
      return {
        type: ['string', 'number'],
        pattern: `^-?\\d{1,${digits}}(\\.\\d{1,${spec.rule.scale}})?$`,
        description: `${spec.description}: a decimal, at most ${digits} digits before the point and ${spec.rule.scale} after${sign}`,
      };
    }
    case 'timestamp':
      return { type: 'string', format: 'date-time', description: spec.description };
    case 'reference':
      return withNull({ type: 'string', format: 'uuid', description: spec.description });
  }
}

/** The schema of a field as the API answers it (decimals are strings). */
export function outputSchema(spec: FieldSpec): JsonSchema {
  const nullable = isNullable(spec);
  const type = (t: string) => (nullable ? [t, 'null'] : t);
  switch (spec.kind) {
    case 'text':
      return { type: type('string'), description: spec.description };
    case 'decimal':
      return { type: 'string', description: `${spec.description} (a decimal string, scale ${spec.rule.scale})` };
    case 'timestamp':
      return { type: 'string', format: 'date-time', description: spec.description };
    case 'reference':
      return { type: type('string'), format: 'uuid', description: spec.description };
  }
}
