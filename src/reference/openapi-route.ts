/**
 * GET /api/v1/openapi.json: the OpenAPI document of every route the router
 * holds, public and without a tenant. Built on the first request (every
 * route is registered by then: the app builds its router before it serves)
 * and kept for the life of the process.
 */
import { sendJson } from '../server/http-errors.js';
import { buildOpenApiDocument } from './openapi-document.js';
import type { Router } from './router.js';

export const OPENAPI_PATH = '/api/v1/openapi.json';

const DOCUMENT_SCHEMA = {
  type: 'object',
  required: ['openapi', 'info', 'paths'],
  properties: {
    openapi: { const: '3.1.0' },
    info: { type: 'object' },
    paths: { type: 'object' },
    components: { type: 'object' },
  },
};

export function registerOpenApiRoute(router: Router, options: { tenantHeader?: string | undefined } = {}): void {
  let document: unknown;
  router.add(
    'GET',
    OPENAPI_PATH,
    ({ res }) => {
      document ??= buildOpenApiDocument(router.list(), options);
      sendJson(res, 200, document);
    },
    {
      access: 'public',
      doc: {
        summary: 'This document: every route of the API (OpenAPI 3.1)',
        tag: 'Meta',
        response: {
          status: 200,
          schema: DOCUMENT_SCHEMA,
          description: 'The OpenAPI document',
        },
        noTenant: true,
      },
    },
  );
}
