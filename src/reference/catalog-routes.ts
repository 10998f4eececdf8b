/**
 * /api/v1/catalogs/<catalog>: list, create, read, change, mark for deletion,
 * the same five routes for each of the five catalogs, written from their
 * definitions. Handlers run in the tenant scope of the TenantDB middleware;
 * what a write may do is decided in src/erp/catalogs (catalog-service.ts).
 */
import { expectedVersion, ifMatchOf } from './expected-version.js';
import type http from 'node:http';
import type { CatalogDefinition } from '../erp/catalogs/catalog-definition.js';
import { CATALOG_DEFINITIONS } from '../erp/catalogs/catalog-definitions.js';
import { readCatalogCreate, readCatalogPatch } from '../erp/catalogs/catalog-input.js';
import { MAX_Q_LENGTH, parseCatalogPage } from '../erp/catalogs/catalog-page.js';
import { DEFAULT_LIMIT, MAX_LIMIT } from '../erp/input/list-page.js';
import { CATALOG_NAMES } from '../erp/catalogs/catalog-references.js';
import type { CatalogRecord } from '../erp/catalogs/catalog-repository.js';
import { catalogCreateSchema, catalogListSchema, catalogPatchSchema, catalogRowSchema } from '../erp/catalogs/catalog-schema.js';
import { createCatalogRow, getCatalogRow, listCatalog, markCatalogRowDeleted, updateCatalogRow } from '../erp/catalogs/catalog-service.js';
import { sendJson } from '../server/http-errors.js';
import type { QueryParameterDoc } from './api-route.js';
import { readJson } from './http-body.js';
import type { Router } from './router.js';

export const CATALOGS_PATH = '/api/v1/catalogs';

const READ = { permission: 'catalogs.read' } as const;
const WRITE = { permission: 'catalogs.write' } as const;
const TAG = 'Catalogs';

const LIST_QUERY: QueryParameterDoc[] = [
  { name: 'limit', description: `Rows per page (default ${DEFAULT_LIMIT})`, schema: { type: 'integer', minimum: 1, maximum: MAX_LIMIT } },
  { name: 'cursor', description: 'The nextCursor of the previous page', schema: { type: 'string' } },
  { name: 'q', description: 'Case-insensitive text searched in code and name', schema: { type: 'string', maxLength: MAX_Q_LENGTH } },
  { name: 'include', description: '`deleted`: also rows marked for deletion', schema: { type: 'string', enum: ['deleted'] } },
];

function sendRow(res: http.ServerResponse, status: number, row: CatalogRecord, headers: Record<string, string> = {}): void {
  sendJson(res, status, row, { etag: `"${row.version}"`, ...headers });
}

function registerCatalog(router: Router, def: CatalogDefinition): void {
  const name = def.name;
  const collection = `${CATALOGS_PATH}/${name}`;
  const item = `${collection}/:id`;
  const row = catalogRowSchema(def);

  router.add(
    'GET',
    collection,
    async ({ res, query }) => {
      sendJson(res, 200, await listCatalog(name, parseCatalogPage(query)));
    },
    {
      access: READ,
      doc: {
        summary: `List ${name} (keyset pages by code)`,
        tag: TAG,
        query: LIST_QUERY,
        response: { status: 200, schema: catalogListSchema(def) },
      },
    },
  );

  router.add(
    'POST',
    collection,
    async ({ req, res }) => {
      const created = await createCatalogRow(name, readCatalogCreate(def, await readJson(req)));
      sendRow(res, 201, created, { location: `${collection}/${created.id}` });
    },
    {
      access: WRITE,
      doc: {
        summary: `Create a ${def.noun}`,
        tag: TAG,
        requestBody: catalogCreateSchema(def),
        response: { status: 201, schema: row },
        errors: [409, 413, ...(hasReferences(def) ? [422] : [])],
      },
    },
  );

  router.add(
    'GET',
    item,
    async ({ res, params }) => {
      sendRow(res, 200, await getCatalogRow(name, params.id as string));
    },
    {
      access: READ,
      doc: { summary: `Read a ${def.noun} (also one marked for deletion)`, tag: TAG, response: { status: 200, schema: row }, errors: [404] },
    },
  );

  router.add(
    'PATCH',
    item,
    async ({ req, res, params }) => {
      const patch = readCatalogPatch(def, await readJson(req));
      const version = expectedVersion(patch.version, ifMatchOf(req), true) as number;
      sendRow(res, 200, await updateCatalogRow(name, params.id as string, patch, version));
    },
    {
      access: WRITE,
      doc: {
        summary: `Change the fields sent of a ${def.noun} (version in the body or If-Match); deletionMark false restores it`,
        tag: TAG,
        requestBody: catalogPatchSchema(def),
        response: { status: 200, schema: row },
        errors: [404, 409, 413, ...(hasReferences(def) ? [422] : [])],
      },
    },
  );

  router.add(
    'DELETE',
    item,
    async ({ req, res, params }) => {
      const version = expectedVersion(undefined, ifMatchOf(req), false);
      sendRow(res, 200, await markCatalogRowDeleted(name, params.id as string, version));
    },
    {
      access: WRITE,
      doc: {
        summary: `Mark a ${def.noun} for deletion (idempotent; 409 IN_USE while posted documents use it)`,
        tag: TAG,
        response: { status: 200, schema: row },
        errors: [404, 409],
      },
    },
  );
}

function hasReferences(def: CatalogDefinition): boolean {
  return Object.values(def.fields).some((f) => f.kind === 'reference');
}

export function registerCatalogRoutes(router: Router): void {
  for (const name of CATALOG_NAMES) registerCatalog(router, CATALOG_DEFINITIONS[name]);
}
