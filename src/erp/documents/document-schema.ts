/**
 * JSON Schemas of a document type's bodies and answers, written from the
 * same field specs that drive validation (document-input.ts) and SQL
 * (document-repository.ts): the documentation cannot list a field the API
 * does not read, or miss one it does.
 */
import { LINES_MAX, LINES_MIN, type DocumentDefinition } from './document-definitions.js';
import { inputSchema, outputSchema, type FieldSpec, type JsonSchema } from './document-fields.js';

function properties(specs: readonly FieldSpec[], schema: (spec: FieldSpec) => JsonSchema): Record<string, JsonSchema> {
  return Object.fromEntries(specs.map((spec) => [spec.name, schema(spec)]));
}

function lineInput(def: DocumentDefinition): JsonSchema {
  return {
    type: 'object',
    additionalProperties: false,
    required: def.lines.filter((f) => f.required).map((f) => f.name),
    properties: properties(def.lines, inputSchema),
  };
}

function linesInput(def: DocumentDefinition): JsonSchema {
  const unique = def.uniqueItems ? '; one line per item' : '';
  return {
    type: 'array',
    minItems: LINES_MIN,
    maxItems: LINES_MAX,
    items: lineInput(def),
    description: `The lines in order (lineNo is the position, from 1)${unique}`,
  };
}

/** POST body. */
export function createSchema(def: DocumentDefinition): JsonSchema {
  return {
    type: 'object',
    additionalProperties: false,
    required: [...def.header.filter((f) => f.required).map((f) => f.name), 'lines'],
    properties: { ...properties(def.header, inputSchema), lines: linesInput(def) },
  };
}

/** PATCH body: any header field, `lines` to replace them all, the version read, deletionMark. */
export function patchSchema(def: DocumentDefinition): JsonSchema {
  return {
    type: 'object',
    additionalProperties: false,
    properties: {
      ...properties(def.header, inputSchema),
      lines: { ...linesInput(def), description: 'Replaces every line when given' },
      version: { type: 'integer', minimum: 1, description: 'The version read (or send If-Match); required one way or the other' },
      deletionMark: { type: 'boolean', description: 'true marks for deletion, false restores' },
    },
  };
}

/** Optional body of /post and /unpost. */
export const POSTING_BODY_SCHEMA: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { version: { type: 'integer', minimum: 1, description: 'When given (or If-Match), a stale version is refused with 409' } },
};

function header(def: DocumentDefinition): Record<string, JsonSchema> {
  return {
    id: { type: 'string', format: 'uuid' },
    ...properties(def.header, outputSchema),
    ...(def.priced ? { totalAmount: { type: 'string', description: 'Sum of the line amounts (a decimal string)' } } : {}),
    posted: { type: 'boolean' },
    postedAt: { type: ['string', 'null'], format: 'date-time' },
    deletionMark: { type: 'boolean' },
    version: { type: 'integer', description: 'Optimistic concurrency: send it back with PATCH (also the ETag)' },
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
    createdBy: { type: ['string', 'null'], format: 'uuid' },
  };
}

/** A document in a list: the header only. */
export function headerSchema(def: DocumentDefinition): JsonSchema {
  const props = header(def);
  return { type: 'object', required: Object.keys(props), properties: props };
}

/** A document with its lines. */
export function documentSchema(def: DocumentDefinition): JsonSchema {
  const lineProps = { lineNo: { type: 'integer', minimum: 1 }, ...properties([...def.lines, ...def.lineOutputs], outputSchema) };
  const props = {
    ...header(def),
    lines: { type: 'array', items: { type: 'object', required: Object.keys(lineProps), properties: lineProps } },
  };
  return { type: 'object', required: Object.keys(props), properties: props };
}

export function listSchema(def: DocumentDefinition): JsonSchema {
  return {
    type: 'object',
    required: ['items', 'nextCursor'],
    properties: { items: { type: 'array', items: headerSchema(def) }, nextCursor: { type: ['string', 'null'] } },
  };
}
