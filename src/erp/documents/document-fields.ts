/**
 * The field specs document definitions are written in. One spec says, for a
 * field: its name in JSON, its column, how input is checked (through the
 * shared InputReader) and its JSON Schema. Validation, SQL column lists and
 * the OpenAPI schemas are all derived from the same specs, so a field cannot
 * be checked one way and documented another.
 */
import { orNull, readValue, valueSchema, type FieldRule, type JsonSchema } from '../input/field-rule.js';
import type { InputReader } from '../input/input-reader.js';

export type { JsonSchema } from '../input/field-rule.js';

interface FieldBase {
  /** camelCase name in JSON. */
  name: string;
  /** snake_case column (a constant: SQL identifiers come only from here). */
  column: string;
  description: string;
  /** Required when a document is created (a PATCH may still leave it out). */
  required?: boolean;
}

type Rule<K extends FieldRule['kind']> = Extract<FieldRule, { kind: K }>;

export type FieldSpec =
  | (FieldBase & Rule<'text'> & { nullable?: boolean })
  | (FieldBase & Rule<'decimal'>)
  /** Absent on create means the column default (now()). */
  | (FieldBase & Rule<'timestamp'>)
  | (FieldBase & Rule<'reference'> & { nullable?: boolean });

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
  // Text, decimal, timestamp and reference values are all read as strings.
  return readValue(reader, spec.name, spec, { required: mode === 'create' && spec.required === true, nullable: isNullable(spec) }) as
    string | null | undefined;
}

/** The schema of a field as a client sends it. */
export function inputSchema(spec: FieldSpec): JsonSchema {
  const value = valueSchema(spec);
  let description = spec.description;
  if (spec.kind === 'decimal') {
    const digits = spec.rule.precision - spec.rule.scale;
    const sign = spec.rule.sign === 'positive' ? ' (greater than 0)' : spec.rule.sign === 'non-negative' ? ' (not negative)' : '';
    description = `${spec.description}: a decimal, at most ${digits} digits before the point and ${spec.rule.scale} after${sign}`;
  }
  const schema = { ...value, description };
  return isNullable(spec) ? orNull(schema) : schema;
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
