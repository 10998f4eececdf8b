/**
 * What a route of the reference API declares beside its handler: who may call
 * it and how it is documented. The app enforces `access` before the handler
 * runs; the OpenAPI document (/api/v1/openapi.json) is written from the same
 * declarations, so the two cannot drift apart.
 */
import type { Permission } from '../erp/auth/permissions.js';

/** A JSON Schema (2020-12, as OpenAPI 3.1 uses it). */
export type JsonSchema = Record<string, unknown>;

/**
 * `public`: no token (health, login, refresh, the OpenAPI document);
 * `authenticated`: any valid token of the tenant;
 * a permission: a valid token whose user's roles grant it (admin grants all).
 */
export type RouteAccess = 'public' | 'authenticated' | { permission: Permission };

export interface QueryParameterDoc {
  name: string;
  description: string;
  schema: JsonSchema;
  required?: boolean;
}

export interface RouteDoc {
  /** One line: what the route does. */
  summary: string;
  /** The group in the document (Catalogs, Documents, Reports, Auth, Meta). */
  tag: string;
  /** Query parameters the route reads. */
  query?: QueryParameterDoc[];
  /** The JSON body it takes (none for GET/DELETE). */
  requestBody?: JsonSchema;
  /** The success status (200 unless said) and the body's schema (none: no body, e.g. 204). */
  response: { status: number; schema?: JsonSchema; description?: string };
  /** Error statuses the route can answer beyond the common ones (400, 401, 403, 404 of the tenant, 429, 503). */
  errors?: number[];
  /** The route is reached without X-Tenant-ID (the OpenAPI document). */
  noTenant?: boolean;
}

export interface RouteInfo {
  access: RouteAccess;
  doc: RouteDoc;
}
