/**
 * The OpenAPI 3.1 document of /api/v1, written from the routes' own
 * declarations (`router.list()`: access + doc), so what is documented is
 * what the server answers. Every error response points at one `Error`
 * schema: the body http-errors.ts sends (`{code, message, fields?, lines?}`).
 */
import type { JsonSchema, RouteAccess, RouteDoc } from './api-route.js';
import type { RegisteredRoute } from './router.js';

export type OpenApiDocument = Record<string, unknown> & {
  openapi: '3.1.0';
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: Record<string, Record<string, unknown>>;
};

export type OpenApiOperation = Record<string, unknown> & {
  operationId: string;
  parameters: Record<string, unknown>[];
  responses: Record<string, unknown>;
};

export interface OpenApiOptions {
  /** The header carrying the tenant id (the app's `tenantHeader`, default X-Tenant-ID). */
  tenantHeader?: string | undefined;
}

/** Why each error status can happen, for its shared response; a status not listed gets a generic line. */
const ERROR_RESPONSES: Record<number, { name: string; description: string }> = {
  400: {
    name: 'BadRequest',
    description: 'The request is invalid (`fields` names every bad field or parameter), or X-Tenant-ID is missing or malformed.',
  },
  401: {
    name: 'Unauthenticated',
    description: 'No bearer token, or it is invalid, expired, for another tenant, or its user is disabled.',
  },
  403: {
    name: 'Forbidden',
    description: "The user's roles lack the permission, or the tenant is suspended or deleted.",
  },
  404: {
    name: 'NotFound',
    description: 'The tenant or the row does not exist.',
  },
  409: {
    name: 'Conflict',
    description: 'A conflict: a duplicate, a stale version, a posted document, a row in use, or not enough stock (`lines`).',
  },
  413: {
    name: 'PayloadTooLarge',
    description: 'The request body is too large.',
  },
  422: {
    name: 'UnknownReference',
    description: 'A referenced row does not exist or is marked for deletion (`fields` names the references).',
  },
  429: {
    name: 'RateLimited',
    description: 'Too many attempts; retry after `Retry-After` seconds.',
  },
  503: {
    name: 'Unavailable',
    description: "The tenant's database is unavailable or busy, or the server is shutting down; retry after `Retry-After` seconds.",
  },
};

/** Statuses with a Retry-After header (http-errors.ts sets it on these). */
const RETRY_STATUSES = new Set([429, 503]);

const ERROR_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['code', 'message'],
  properties: {
    code: {
      type: 'string',
      description: 'A stable error code (the README lists them), e.g. VALIDATION_FAILED, STALE_VERSION.',
    },
    message: { type: 'string', description: 'One line for a human.' },
    fields: {
      type: 'object',
      description: 'VALIDATION_FAILED and UNKNOWN_REFERENCE: the field path (e.g. `lines[2].quantity`) -> what is wrong.',
      additionalProperties: { type: 'string' },
    },
    lines: {
      type: 'array',
      description: 'INSUFFICIENT_STOCK: the lines that would take a balance below zero.',
      items: {
        type: 'object',
        required: ['lineNo', 'nomenclatureId', 'requested', 'available'],
        properties: {
          lineNo: { type: 'integer' },
          nomenclatureId: { type: 'string', format: 'uuid' },
          requested: { type: 'string', description: 'decimal' },
          available: { type: 'string', description: 'decimal' },
        },
      },
    },
  },
};

const SUCCESS_DESCRIPTIONS: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  204: 'No content',
};

/** The errors every route can answer, by what it needs: a tenant (its lookup and database) and a token. */
function commonErrors(access: RouteAccess, doc: RouteDoc): number[] {
  const statuses = new Set<number>(doc.noTenant ? [] : [400, 403, 404, 503]);
  if (access !== 'public') statuses.add(401);
  if (typeof access === 'object') statuses.add(403);
  for (const status of doc.errors ?? []) statuses.add(status);
  return [...statuses].sort((a, b) => a - b);
}

/** `/api/v1/catalogs/currencies/:id` -> `/api/v1/catalogs/currencies/{id}`. */
export function openApiPath(pattern: string): string {
  return pattern.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');
}

/** The path's `:param` names in order. */
export function pathParameters(pattern: string): string[] {
  return [...pattern.matchAll(/:([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1] as string);
}

/** `POST /api/v1/documents/goods-receipts/:id/post` -> `postDocumentsGoodsReceiptsByIdPost` (unique per method and path). */
export function operationIdOf(method: string, pattern: string): string {
  const words = pattern
    .replace(/^\/api\/v\d+\//, '')
    .split('/')
    .filter((s) => s.length > 0)
    .flatMap((segment) => (segment.startsWith(':') ? ['by', segment.slice(1)] : segment.split(/[^A-Za-z0-9]+/)))
    .filter((w) => w.length > 0);
  return method.toLowerCase() + words.map((w) => (w[0] as string).toUpperCase() + w.slice(1)).join('');
}

function securityOf(access: RouteAccess): Record<string, string[]>[] {
  // An empty list overrides nothing globally but says it plainly: no token.
  return access === 'public' ? [] : [{ bearer: [] }];
}

function descriptionOf(access: RouteAccess): string {
  if (access === 'public') return 'No token needed.';
  if (access === 'authenticated') return 'Any valid access token of the tenant.';
  return `Needs the permission \`${access.permission}\`.`;
}

function errorRef(status: number): Record<string, string> {
  return { $ref: `#/components/responses/${errorResponseName(status)}` };
}

function errorResponseName(status: number): string {
  return ERROR_RESPONSES[status]?.name ?? `Error${status}`;
}

function operationOf(route: RegisteredRoute, tenantParameter: Record<string, unknown>): { operation: OpenApiOperation; errors: number[] } {
  // The app treats an undeclared route as needing a token; the document says the same.
  const access = route.info?.access ?? 'authenticated';
  const doc: RouteDoc = route.info?.doc ?? {
    summary: `${route.method} ${route.pattern}`,
    tag: 'Other',
    response: { status: 200 },
  };
  const parameters: Record<string, unknown>[] = pathParameters(route.pattern).map((name) => ({
    name,
    in: 'path',
    required: true,
    schema: name === 'id' ? { type: 'string', format: 'uuid' } : { type: 'string' },
  }));
  if (!doc.noTenant) parameters.push(tenantParameter);
  for (const q of doc.query ?? []) {
    parameters.push({
      name: q.name,
      in: 'query',
      description: q.description,
      required: q.required ?? false,
      schema: q.schema,
    });
  }
  const { status, schema, description } = doc.response;
  const success: Record<string, unknown> = {
    description: description ?? SUCCESS_DESCRIPTIONS[status] ?? 'Success',
  };
  if (schema) success.content = { 'application/json': { schema } };
  const errors = commonErrors(access, doc);
  const responses: Record<string, unknown> = { [String(status)]: success };
  for (const e of errors) responses[String(e)] = errorRef(e);
  const operation: OpenApiOperation = {
    operationId: operationIdOf(route.method, route.pattern),
    summary: doc.summary,
    description: descriptionOf(access),
    tags: [doc.tag],
    security: securityOf(access),
    parameters,
    responses,
  };
  if (typeof access === 'object') operation['x-permission'] = access.permission;
  if (doc.requestBody)
    operation.requestBody = {
      required: true,
      content: { 'application/json': { schema: doc.requestBody } },
    };
  return { operation, errors };
}

export function buildOpenApiDocument(routes: readonly RegisteredRoute[], options: OpenApiOptions = {}): OpenApiDocument {
  const header = options.tenantHeader ?? 'X-Tenant-ID';
  const tenantParameter = { $ref: '#/components/parameters/TenantId' };
  const paths: OpenApiDocument['paths'] = {};
  const used = new Set<number>();
  const tags = new Set<string>();
  for (const route of routes) {
    const { operation, errors } = operationOf(route, tenantParameter);
    for (const e of errors) used.add(e);
    for (const tag of operation.tags as string[]) tags.add(tag);
    const path = openApiPath(route.pattern);
    (paths[path] ??= {})[route.method.toLowerCase()] = operation;
  }
  const responses: Record<string, unknown> = {};
  for (const status of [...used].sort((a, b) => a - b)) {
    responses[errorResponseName(status)] = {
      description: ERROR_RESPONSES[status]?.description ?? `Error ${status}.`,
      content: {
        'application/json': { schema: { $ref: '#/components/schemas/Error' } },
      },
      ...(RETRY_STATUSES.has(status)
        ? {
            headers: {
              'Retry-After': {
                description: 'Seconds to wait before retrying.',
                schema: { type: 'integer', minimum: 0 },
              },
            },
          }
        : {}),
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'metapus-tenant reference ERP API',
      version: '1.0.0',
      description:
        'Catalogs, stock documents and reports of one tenant per request. Every tenant route needs the tenant header; ' +
        'every route but login, refresh and this document needs a bearer access token (POST /api/v1/auth/login).',
    },
    servers: [{ url: '/' }],
    tags: [...tags].sort().map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
      },
      parameters: {
        TenantId: {
          name: header,
          in: 'header',
          required: true,
          description: 'The tenant the request is for (its UUID).',
          schema: { type: 'string', format: 'uuid' },
        },
      },
      schemas: { Error: ERROR_SCHEMA },
      responses,
    },
  };
}
