/**
 * GET /api/v1/openapi.json against the real app: the document is OpenAPI
 * 3.1 in structure (responses everywhere, unique operation ids, every $ref
 * resolves, every path parameter declared), and its operations are exactly
 * the routes the server answers: the router's list and the document match
 * both ways, and a real request to each documented operation reaches a
 * handler (never the "no route" 404 or a 405).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TenantServices } from '../../src/pools/tenant-services.js';
import type { Tenant } from '../../src/tenants/tenant.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { createApiRouter, createApp } from '../../src/reference/app.js';
import { buildOpenApiDocument, openApiPath, operationIdOf, type OpenApiDocument } from '../../src/reference/openapi-document.js';
import { OPENAPI_PATH } from '../../src/reference/openapi-route.js';
import { Router } from '../../src/reference/router.js';
import { createTenants, openServices } from '../support/tenant-fixtures.js';
import { createTestEnvironment } from '../support/test-environment.js';
import { startHttpServer, type TestHttpServer } from '../support/http-server.js';
import { roleHeaders, staticAuth } from '../support/static-auth.js';

const env = createTestEnvironment();
let rt: Runtime;
let tenant: Tenant;
let services: TenantServices;
let server: TestHttpServer | undefined;
let document: OpenApiDocument;

const METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace']);

/** Every operation of the document as [method, path, operation]. */
function operations(doc: OpenApiDocument): [string, string, Record<string, any>][] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.has(method))
      .map(([method, op]): [string, string, Record<string, any>] => [method, path, op]),
  );
}

/** Every `$ref` anywhere in the value, with where it was found. */
function refs(value: unknown, at = '#'): { ref: string; at: string }[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => refs(v, `${at}/${i}`));
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([k, v]) => (k === '$ref' && typeof v === 'string' ? [{ ref: v, at }] : refs(v, `${at}/${k}`)));
}

/** Resolves a local JSON pointer (`#/components/schemas/Error`), or undefined. */
function resolve(doc: unknown, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  let node: unknown = doc;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (typeof node !== 'object' || node === null || !(key in node)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** The parameter itself when it is a $ref to components. */
function deref(doc: OpenApiDocument, p: Record<string, any>): Record<string, any> {
  return typeof p.$ref === 'string' ? (resolve(doc, p.$ref) as Record<string, any>) : p;
}

/** The structural problems of a document (empty: none). */
function problems(doc: OpenApiDocument): string[] {
  const found: string[] = [];
  if (doc.openapi !== '3.1.0') found.push(`openapi is ${String(doc.openapi)}`);
  const info = doc.info as Record<string, unknown> | undefined;
  if (typeof info?.title !== 'string' || typeof info.version !== 'string') found.push('info needs title and version');
  const ids = new Map<string, string>();
  for (const [method, path, op] of operations(doc)) {
    const where = `${method.toUpperCase()} ${path}`;
    if (!path.startsWith('/')) found.push(`${where}: path must start with /`);
    if (typeof op.operationId !== 'string' || op.operationId === '') found.push(`${where}: no operationId`);
    else if (ids.has(op.operationId)) found.push(`${where}: operationId ${op.operationId} also on ${ids.get(op.operationId)}`);
    else ids.set(op.operationId, where);
    const statuses = Object.keys(op.responses ?? {});
    if (statuses.length === 0) found.push(`${where}: no responses`);
    if (!statuses.some((s) => /^2\d\d$/.test(s))) found.push(`${where}: no success response`);
    for (const [status, response] of Object.entries(op.responses ?? {})) {
      const r = deref(doc, response as Record<string, any>);
      if (typeof r?.description !== 'string') found.push(`${where}: response ${status} has no description`);
    }
    const params = ((op.parameters ?? []) as Record<string, any>[]).map((p) => deref(doc, p));
    const declared = params.filter((p) => p?.in === 'path').map((p) => p.name as string);
    const inPath = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] as string);
    if ([...declared].sort().join() !== [...inPath].sort().join())
      found.push(`${where}: path parameters ${declared.join()} vs ${inPath.join()}`);
    for (const p of params) {
      if (p?.in === 'path' && p.required !== true) found.push(`${where}: path parameter ${p.name} must be required`);
      if (!['path', 'query', 'header', 'cookie'].includes(p?.in)) found.push(`${where}: parameter ${p?.name} has in=${p?.in}`);
      if (typeof p?.schema !== 'object') found.push(`${where}: parameter ${p?.name} has no schema`);
    }
    for (const requirement of (op.security ?? []) as Record<string, unknown>[]) {
      for (const scheme of Object.keys(requirement)) {
        if (!resolve(doc, `#/components/securitySchemes/${scheme}`)) found.push(`${where}: unknown security scheme ${scheme}`);
      }
    }
  }
  for (const { ref, at } of refs(doc)) if (resolve(doc, ref) === undefined) found.push(`${at}: $ref ${ref} does not resolve`);
  return found;
}

/** A request that reaches the operation's path: ids are random UUIDs, bodies an empty object. */
async function call(method: string, path: string, op: Record<string, any>): Promise<{ status: number; body: any }> {
  const url = path.replace(/\{[^}]+\}/g, () => randomUUID());
  const headers: Record<string, string> = roleHeaders(tenant.id, 'admin');
  const withBody = op.requestBody !== undefined;
  if (withBody) headers['content-type'] = 'application/json';
  const response = await fetch(`${server?.base}${url}`, {
    method: method.toUpperCase(),
    headers,
    ...(withBody ? { body: '{}' } : {}),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text === '' ? undefined : (JSON.parse(text) as unknown),
  };
}

beforeAll(async () => {
  rt = await env.runtime();
  [tenant] = (await createTenants(rt, 1, 'oas')) as [Tenant];
  services = await openServices(rt);
  server = await startHttpServer(
    createApp({
      auth: staticAuth(),
      pools: services.pools,
      metaPool: rt.metaPool,
      cache: services.cache,
    }),
  );
  const response = await fetch(`${server.base}${OPENAPI_PATH}`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  document = (await response.json()) as OpenApiDocument;
});
afterAll(async () => {
  await server?.stop();
  await services?.close({ deadlineMs: 1_000 });
  await env.cleanup();
});

describe('GET /api/v1/openapi.json', () => {
  it('is served without a tenant and without a token, and documents itself that way', () => {
    const self = document.paths[OPENAPI_PATH]?.get;
    expect(self).toBeDefined();
    expect(self?.security).toEqual([]);
    expect(self?.parameters.map((p) => deref(document, p).name as string)).not.toContain('X-Tenant-ID');
  });

  it('is an OpenAPI 3.1 document in structure', () => {
    expect(problems(document)).toEqual([]);
    expect(document.servers).toEqual([{ url: '/' }]);
    expect(resolve(document, '#/components/securitySchemes/bearer')).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
  });

  it('lists exactly the routes the router holds, each with its access and documentation', () => {
    const routes = createApiRouter(staticAuth()).list();
    const fromRouter = routes.map((r) => `${r.method.toLowerCase()} ${openApiPath(r.pattern)}`).sort();
    const fromDocument = operations(document)
      .map(([method, path]) => `${method} ${path}`)
      .sort();
    expect(fromDocument).toEqual(fromRouter);
    for (const route of routes) {
      const op = document.paths[openApiPath(route.pattern)]?.[route.method.toLowerCase()] as Record<string, any>;
      const where = `${route.method} ${route.pattern}`;
      const access = route.info?.access ?? 'authenticated';
      expect(op.security, where).toEqual(access === 'public' ? [] : [{ bearer: [] }]);
      if (typeof access === 'object') expect(op['x-permission'], where).toBe(access.permission);
      const tenantHeader = (op.parameters as Record<string, any>[]).some((p) => deref(document, p).name === 'X-Tenant-ID');
      expect(tenantHeader, where).toBe(route.info?.doc.noTenant !== true);
      if (route.info) {
        expect(op.summary, where).toBe(route.info.doc.summary);
        expect(Object.keys(op.responses), where).toContain(String(route.info.doc.response.status));
        for (const status of route.info.doc.errors ?? []) expect(Object.keys(op.responses), where).toContain(String(status));
        if (access !== 'public') expect(Object.keys(op.responses), where).toContain('401');
      }
    }
  });

  it('documents only operations the server answers: none gets "no route" or 405', async () => {
    const unanswered: string[] = [];
    for (const [method, path, op] of operations(document)) {
      const { status, body } = await call(method, path, op);
      const noRoute = status === 404 && typeof body?.message === 'string' && body.message.startsWith('no route');
      if (noRoute || status === 405) unanswered.push(`${method.toUpperCase()} ${path}: ${status} ${JSON.stringify(body)}`);
    }
    expect(unanswered).toEqual([]);
    // And the check can tell: an undocumented path is "no route".
    expect(await call('get', '/api/v1/not-documented', {})).toMatchObject({
      status: 404,
      body: { code: 'NOT_FOUND' },
    });
  });
});

describe('buildOpenApiDocument', () => {
  const noop = () => undefined;
  const router = new Router()
    .add('GET', '/api/v1/things', noop, {
      access: { permission: 'catalogs.read' },
      doc: {
        summary: 'List things',
        tag: 'Things',
        query: [
          {
            name: 'limit',
            description: 'page size',
            schema: { type: 'integer' },
          },
        ],
        response: { status: 200, schema: { type: 'object' } },
      },
    })
    .add('POST', '/api/v1/things/:id/post', noop, {
      access: 'authenticated',
      doc: {
        summary: 'Post a thing',
        tag: 'Things',
        requestBody: { type: 'object' },
        response: { status: 204 },
        errors: [409, 422],
      },
    })
    .add('POST', '/api/v1/open', noop, {
      access: 'public',
      doc: {
        summary: 'Open',
        tag: 'Meta',
        response: { status: 200 },
        noTenant: true,
      },
    })
    .add('DELETE', '/api/v1/undeclared/:key', noop);
  const doc = buildOpenApiDocument(router.list());

  it('turns each declaration into an operation', () => {
    expect(problems(doc)).toEqual([]);
    const list = doc.paths['/api/v1/things']?.get as Record<string, any>;
    expect(list).toMatchObject({
      operationId: 'getThings',
      tags: ['Things'],
      security: [{ bearer: [] }],
      'x-permission': 'catalogs.read',
    });
    expect(list.parameters).toContainEqual({
      name: 'limit',
      in: 'query',
      description: 'page size',
      required: false,
      schema: { type: 'integer' },
    });
    expect(Object.keys(list.responses).sort()).toEqual(['200', '400', '401', '403', '404', '503']);

    const post = doc.paths['/api/v1/things/{id}/post']?.post as Record<string, any>;
    expect(post.operationId).toBe('postThingsByIdPost');
    expect(post.parameters[0]).toEqual({
      name: 'id',
      in: 'path',
      required: true,
      schema: { type: 'string', format: 'uuid' },
    });
    expect(post.requestBody).toEqual({
      required: true,
      content: { 'application/json': { schema: { type: 'object' } } },
    });
    expect(post.responses['204']).toEqual({ description: 'No content' });
    expect(post.responses['422']).toEqual({
      $ref: '#/components/responses/UnknownReference',
    });
    expect(resolve(doc, '#/components/responses/Conflict')).toMatchObject({
      content: {
        'application/json': { schema: { $ref: '#/components/schemas/Error' } },
      },
    });

    const open = doc.paths['/api/v1/open']?.post as Record<string, any>;
    expect(open.security).toEqual([]);
    expect(open.parameters).toEqual([]);
    expect(Object.keys(open.responses)).toEqual(['200']);

    // Undeclared: needs a token, as the app treats it.
    const undeclared = doc.paths['/api/v1/undeclared/{key}']?.delete as Record<string, any>;
    expect(undeclared.security).toEqual([{ bearer: [] }]);
    expect(undeclared.parameters[0]).toMatchObject({
      name: 'key',
      in: 'path',
      required: true,
      schema: { type: 'string' },
    });
    expect(resolve(doc, '#/components/responses/Unavailable')).toMatchObject({
      headers: { 'Retry-After': expect.any(Object) },
    });
  });

  it('finds what is broken: a dangling $ref, a duplicate operationId, an undeclared path parameter', () => {
    const broken = structuredClone(doc);
    const list = broken.paths['/api/v1/things']?.get as Record<string, any>;
    list.responses['500'] = { $ref: '#/components/responses/Nope' };
    (broken.paths['/api/v1/open']?.post as Record<string, any>).operationId = 'getThings';
    (broken.paths['/api/v1/things/{id}/post']?.post as Record<string, any>).parameters = [];
    const found = problems(broken);
    expect(found).toHaveLength(4);
    expect(found).toEqual(
      expect.arrayContaining([
        'POST /api/v1/open: operationId getThings also on GET /api/v1/things',
        'GET /api/v1/things: response 500 has no description',
        'POST /api/v1/things/{id}/post: path parameters  vs id',
        expect.stringMatching(/: \$ref #\/components\/responses\/Nope does not resolve$/),
      ]),
    );
  });

  it('names operations by method and path', () => {
    expect(operationIdOf('GET', '/api/v1/catalogs/currencies/:id')).toBe('getCatalogsCurrenciesById');
    expect(operationIdOf('POST', '/api/v1/documents/goods-receipts/:id/unpost')).toBe('postDocumentsGoodsReceiptsByIdUnpost');
    expect(openApiPath('/api/v1/a/:id/b/:lineNo')).toBe('/api/v1/a/{id}/b/{lineNo}');
  });
});
