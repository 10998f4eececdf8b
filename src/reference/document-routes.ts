/**
 * /api/v1/documents/{goods-receipts,goods-issues,inventory-counts}: one
 * generic route module for the three document types (list, read, create,
 * edit, mark for deletion, post, unpost). Routes only translate HTTP (query
 * parameters, If-Match, ETag, Location) to the document service; bodies are
 * read by the definitions through the InputReader. Each route is declared
 * with its permission and its documentation, built from the definitions.
 */
import { VERSION_RULE } from '../erp/input/field-rule.js';
import { expectedVersion, ifMatchOf } from './expected-version.js';
import type http from 'node:http';
import { ValidationError } from '../errors.js';
import { DOCUMENT_DEFINITIONS, type DocumentDefinition } from '../erp/documents/document-definitions.js';
import { readDocumentInput } from '../erp/documents/document-input.js';
import type { DocumentView } from '../erp/documents/document-repository.js';
import { POSTING_BODY_SCHEMA, createSchema, documentSchema, listSchema, patchSchema } from '../erp/documents/document-schema.js';
import { documentService } from '../erp/documents/document-service.js';
import { InputReader } from '../erp/input/input-reader.js';
import { finishQuery, readPage, type KeyPart } from '../erp/input/list-page.js';
import { sendJson } from '../server/http-errors.js';
import type { QueryParameterDoc } from './api-route.js';
import { readJson } from './http-body.js';
import type { Router } from './router.js';

export const DOCUMENTS_PATH = '/api/v1/documents';

/** 1000 lines of ~150 bytes do not fit the default 64 KiB. */
const BODY_LIMIT_BYTES = 1024 * 1024;
/** Sort key of the lists: date (UTC, microseconds), id. */
const LIST_KEY: readonly KeyPart[] = ['timestamp', 'uuid'];
const Q_MAX = 200;

const LIST_QUERY: QueryParameterDoc[] = [
  { name: 'limit', description: 'Rows per page, 1-500 (default 50)', schema: { type: 'integer', minimum: 1, maximum: 500 } },
  { name: 'cursor', description: 'nextCursor of the previous page', schema: { type: 'string' } },
  { name: 'q', description: 'Case-insensitive search in number and comment', schema: { type: 'string', maxLength: Q_MAX } },
  { name: 'include', description: '`deleted` also lists documents marked for deletion', schema: { type: 'string', enum: ['deleted'] } },
];

const REPOST_QUERY: QueryParameterDoc[] = [
  {
    name: 'repost',
    description: '`true` edits the document and posts it (again) in the same transaction, posted or not (needs documents.post too)',
    schema: { type: 'string', enum: ['true', 'false'] },
  },
];

/** /post and /unpost take an optional body: `{version}` or nothing. */
async function readOptionalVersion(req: http.IncomingMessage): Promise<number | undefined> {
  const length = req.headers['content-length'];
  const hasBody = (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
  if (!hasBody) return undefined;
  const reader = new InputReader(await readJson(req));
  const version = reader.integer('version', VERSION_RULE);
  reader.rejectUnknown().finish('the request body is invalid');
  return version ?? undefined;
}

function repostFlag(query: URLSearchParams): boolean {
  const value = query.get('repost');
  if (value === null || value === 'false') return false;
  if (value === 'true') return true;
  throw new ValidationError({ repost: 'must be true or false' }, 'the query parameters are invalid');
}

function answer(res: http.ServerResponse, status: number, view: DocumentView, headers: Record<string, string> = {}): void {
  sendJson(res, status, view, { etag: `"${view.version}"`, ...headers });
}

function registerType(router: Router, def: DocumentDefinition): void {
  const base = `${DOCUMENTS_PATH}/${def.path}`;
  const item = `${base}/:id`;
  const tag = 'Documents';
  const one = documentSchema(def);
  const read = { permission: 'documents.read' } as const;
  const write = { permission: 'documents.write' } as const;
  const post = { permission: 'documents.post' } as const;

  router.add(
    'GET',
    base,
    async ({ res, query }) => {
      const fields: Record<string, string> = {};
      const page = readPage(query, LIST_KEY, fields);
      const q = query.get('q')?.trim();
      if (q !== undefined && [...q].length > Q_MAX) fields.q = `must be at most ${Q_MAX} characters`;
      const include = query.get('include');
      if (include !== null && include !== 'deleted') fields.include = 'must be deleted (or left out)';
      finishQuery(fields);
      const list = await documentService.list(def, { ...page, q: q || undefined, includeDeleted: include === 'deleted' });
      sendJson(res, 200, list);
    },
    {
      access: read,
      doc: {
        summary: `List ${def.title.toLowerCase()} (headers, newest first)`,
        tag,
        query: LIST_QUERY,
        response: { status: 200, schema: listSchema(def) },
      },
    },
  );

  router.add(
    'POST',
    base,
    async ({ req, res, principal }) => {
      const input = readDocumentInput(def, await readJson(req, BODY_LIMIT_BYTES), 'create');
      const view = await documentService.create(def, input, principal?.userId);
      answer(res, 201, view, { location: `${base}/${view.id}` });
    },
    {
      access: write,
      doc: {
        summary: `Create a ${def.noun} (not posted)`,
        tag,
        requestBody: createSchema(def),
        response: { status: 201, schema: one },
        errors: [409, 413, 422],
      },
    },
  );

  router.add(
    'GET',
    item,
    async ({ res, params }) => {
      answer(res, 200, await documentService.get(def, params.id as string));
    },
    { access: read, doc: { summary: `Read a ${def.noun} with its lines`, tag, response: { status: 200, schema: one } } },
  );

  router.add(
    'PATCH',
    item,
    async (ctx) => {
      const { req, res, params, query } = ctx;
      const repost = repostFlag(query);
      if (repost) ctx.require('documents.post');
      const input = readDocumentInput(def, await readJson(req, BODY_LIMIT_BYTES), 'patch');
      const version = expectedVersion(input.version, ifMatchOf(req), true) as number;
      answer(res, 200, await documentService.update(def, params.id as string, input, { expectedVersion: version, repost }));
    },
    {
      access: write,
      doc: {
        summary: `Edit a ${def.noun}: the fields given change, lines (when given) are replaced; a posted one only with ?repost=true`,
        tag,
        query: REPOST_QUERY,
        requestBody: patchSchema(def),
        response: { status: 200, schema: one },
        errors: [409, 413, 422],
      },
    },
  );

  router.add(
    'DELETE',
    item,
    async ({ req, res, params }) => {
      answer(res, 200, await documentService.remove(def, params.id as string, expectedVersion(undefined, ifMatchOf(req), false)));
    },
    {
      access: write,
      doc: {
        summary: `Mark a ${def.noun} for deletion (idempotent; a posted one must be unposted first)`,
        tag,
        response: { status: 200, schema: one },
        errors: [409],
      },
    },
  );

  router.add(
    'POST',
    `${item}/post`,
    async ({ req, res, params }) => {
      const version = expectedVersion(await readOptionalVersion(req), ifMatchOf(req), false);
      answer(res, 200, await documentService.post(def, params.id as string, version));
    },
    {
      access: post,
      doc: {
        summary: `Post a ${def.noun} to the stock register (again, if it is posted)${def.checksStock ? '; refused when stock would go below zero' : ''}`,
        tag,
        requestBody: POSTING_BODY_SCHEMA,
        response: { status: 200, schema: one },
        errors: [409, 422],
      },
    },
  );

  router.add(
    'POST',
    `${item}/unpost`,
    async ({ req, res, params }) => {
      const version = expectedVersion(await readOptionalVersion(req), ifMatchOf(req), false);
      answer(res, 200, await documentService.unpost(def, params.id as string, version));
    },
    {
      access: post,
      doc: {
        summary: `Unpost a ${def.noun}: its movements are removed (idempotent)`,
        tag,
        requestBody: POSTING_BODY_SCHEMA,
        response: { status: 200, schema: one },
        errors: [409],
      },
    },
  );
}

export function registerDocumentRoutes(router: Router): void {
  for (const def of DOCUMENT_DEFINITIONS) registerType(router, def);
}
