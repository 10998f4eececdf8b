/**
 * JSON Schemas (2020-12, as OpenAPI 3.1 takes them) of a catalog's row, its
 * POST and PATCH bodies and its list, written from the same definition that
 * drives validation: the document cannot list a field the API does not read.
 */
import { VERSION_RULE, orNull, valueSchema, type JsonSchema } from '../input/field-rule.js';
import type { CatalogDefinition, CatalogField } from './catalog-definition.js';

export type { JsonSchema } from '../input/field-rule.js';

const UUID = { type: 'string', format: 'uuid' } as const;
const TIMESTAMP = { type: 'string', format: 'date-time' } as const;
const VERSION = { type: 'integer', minimum: VERSION_RULE.min, maximum: VERSION_RULE.max } as const;

function fieldSchema(field: CatalogField, withDefault: boolean): JsonSchema {
  const description = field.kind === 'reference' ? `${field.description} (must exist and not be marked for deletion)` : field.description;
  const value: JsonSchema = { description, ...valueSchema(field) };
  const schema = field.nullable ? orNull(value) : value;
  if (withDefault && 'default' in field) schema.default = field.default;
  if (withDefault && field.nullable && !('default' in field)) schema.default = null;
  return schema;
}

function fieldSchemas(def: CatalogDefinition, withDefault: boolean): Record<string, JsonSchema> {
  return Object.fromEntries(Object.entries(def.fields).map(([name, field]) => [name, fieldSchema(field, withDefault)]));
}

/** A row as every catalog route answers it. */
export function catalogRowSchema(def: CatalogDefinition): JsonSchema {
  const properties = {
    id: UUID,
    ...fieldSchemas(def, false),
    deletionMark: { type: 'boolean', description: 'Marked for deletion (hidden from lists without include=deleted)' },
    version: { ...VERSION, description: 'Send it back with PATCH (or as If-Match) to change the row' },
    createdAt: TIMESTAMP,
    updatedAt: TIMESTAMP,
  };
  return { type: 'object', title: def.noun, properties, required: Object.keys(properties), additionalProperties: false };
}

/** POST: the required fields, defaults for the rest; nothing else. */
export function catalogCreateSchema(def: CatalogDefinition): JsonSchema {
  return {
    type: 'object',
    properties: fieldSchemas(def, true),
    required: Object.entries(def.fields)
      .filter(([, f]) => f.required)
      .map(([name]) => name),
    additionalProperties: false,
  };
}

/** PATCH: any of the fields, deletionMark, and version (required unless If-Match carries it). */
export function catalogPatchSchema(def: CatalogDefinition): JsonSchema {
  return {
    type: 'object',
    properties: {
      ...fieldSchemas(def, false),
      deletionMark: { type: 'boolean', description: 'true marks the row for deletion, false restores it' },
      version: { ...VERSION, description: 'The version you read; required unless sent as If-Match' },
    },
    additionalProperties: false,
  };
}

export function catalogListSchema(def: CatalogDefinition): JsonSchema {
  return {
    type: 'object',
    properties: {
      items: { type: 'array', items: catalogRowSchema(def) },
      nextCursor: { type: ['string', 'null'], description: 'Pass as cursor for the next page; null on the last page' },
    },
    required: ['items', 'nextCursor'],
    additionalProperties: false,
  };
}
