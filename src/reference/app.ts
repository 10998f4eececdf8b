/**
 * The reference application as a plain `http` request handler: health
 * endpoints, `GET /metrics` (when given), then the tenant-scoped API behind
 * the TenantDB middleware. No framework: `http.createServer(createApp(deps))`
 * is the whole server. With `onRequest`, every request gets an id (a valid
 * X-Request-ID from the client, else a new UUID, echoed in the response) and
 * is reported once it ends: route template, status, duration, tenant.
 */
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import type pg from 'pg';
import type { PoolManagerStats } from '../pools/pool-manager.js';
import type { ListenerState } from '../pools/status-listener.js';
import type { TenantCacheStats } from '../pools/tenant-cache.js';
import type { LeaseSource } from '../context/tenant-context.js';
import { ForbiddenError, NotFoundError, TenantToolkitError, toToolkitError } from '../errors.js';
import type { ApiAuth } from '../erp/auth/api-auth.js';
import { hasPermission, type Permission, type Principal } from '../erp/auth/permissions.js';
import type { RouteInfo } from './api-route.js';
import { registerAuthRoutes } from './auth-routes.js';
import { registerCatalogRoutes } from './catalog-routes.js';
import { registerDocumentRoutes } from './document-routes.js';
import { registerOpenApiRoute } from './openapi-route.js';
import { registerReportRoutes } from './report-routes.js';
import { createHealthHandler } from '../server/health-handler.js';
import { answeredErrorCode, sendError } from '../server/http-errors.js';
import { currentTenantScope } from '../context/tenant-context.js';
import { isUuid } from '../tenants/tenant.js';
import { assertNoNulInUrl } from './request-text.js';
import { Router, type RouteHandler } from './router.js';
import { tenantDb } from '../server/tenant-db-middleware.js';

export interface AppDeps {
  /** Bearer tokens, users and their permissions (every API route but login, refresh and the OpenAPI document needs a token). */
  auth: ApiAuth;
  pools: LeaseSource & { stats(): PoolManagerStats; readonly isClosing: boolean };
  metaPool: Pick<pg.Pool, 'query'>;
  listener?: { readonly state: ListenerState } | undefined;
  cache?: { stats(): TenantCacheStats };
  /** Header carrying the tenant id (default X-Tenant-ID). */
  tenantHeader?: string;
  /** Every error answered with a 5xx, for the operator's log (never sent to the client). */
  onServerError?: (err: TenantToolkitError, req: http.IncomingMessage) => void;
  /** Answers GET /metrics (metricsHandler); without it /metrics is an unknown route. */
  metrics?: App;
  /** Told about every request when it ends (logs, metrics). */
  onRequest?: (info: RequestInfo) => void;
}

export type App = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export interface RequestInfo {
  requestId: string;
  method: string;
  /** The route template (`/api/v1/catalogs/currencies/:id`), the health or metrics path, or `unmatched`. */
  route: string;
  status: number;
  durationMs: number;
  /** The tenant the request ran for; only the header's id when it was never entered (an unknown tenant). */
  tenantId: string | undefined;
  slug: string | undefined;
  /** The `code` of the error answered, if any. */
  errorCode: string | undefined;
  /** The client went away before the response was complete. */
  aborted: boolean;
}

/** What a client may send as X-Request-ID: short, printable, no spaces (anything else gets a new id). */
const REQUEST_ID = /^[A-Za-z0-9._:/+=-]{1,128}$/;

const requestIds = new WeakMap<http.IncomingMessage, string>();

/** The request's id (with onRequest), for error logs. */
export function requestIdOf(req: http.IncomingMessage): string | undefined {
  return requestIds.get(req);
}

/** The client's X-Request-ID if it is a sane one, else a new UUID. */
export function requestIdFor(header: string | string[] | undefined): string {
  return typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
}

interface Track {
  route: string;
  tenantId: string | undefined;
  slug: string | undefined;
}

/** Reports the request once it ends; returns what the handlers fill in (route, tenant). */
function track(req: http.IncomingMessage, res: http.ServerResponse, tenantHeader: string, report: (info: RequestInfo) => void): Track {
  const started = performance.now();
  const requestId = requestIdFor(req.headers['x-request-id']);
  requestIds.set(req, requestId);
  res.setHeader('x-request-id', requestId);
  const header = req.headers[tenantHeader];
  const state: Track = {
    route: 'unmatched',
    tenantId: typeof header === 'string' && isUuid(header.trim()) ? header.trim().toLowerCase() : undefined,
    slug: undefined,
  };
  res.once('close', () => {
    report({
      requestId,
      method: req.method ?? 'GET',
      route: state.route,
      status: res.statusCode,
      durationMs: performance.now() - started,
      tenantId: state.tenantId,
      slug: state.slug,
      errorCode: answeredErrorCode(res),
      aborted: !res.writableFinished,
    });
  });
  return state;
}

/** Every route of /api/v1, each with its access rule and documentation (the OpenAPI document lists exactly these). */
export function createApiRouter(auth: ApiAuth, options: { tenantHeader?: string | undefined } = {}): Router {
  const api = new Router();
  registerCatalogRoutes(api);
  registerDocumentRoutes(api);
  registerReportRoutes(api);
  registerAuthRoutes(api, auth);
  registerOpenApiRoute(api, { tenantHeader: options.tenantHeader });
  return api;
}

export function createApp(deps: AppDeps): App {
  const health = createHealthHandler(deps);
  const api = createApiRouter(deps.auth, { tenantHeader: deps.tenantHeader });
  const middleware = tenantDb({
    pools: deps.pools,
    ...(deps.tenantHeader ? { header: deps.tenantHeader } : {}),
    ...(deps.onServerError ? { onServerError: deps.onServerError } : {}),
  });

  const fail = (req: http.IncomingMessage, res: http.ServerResponse, err: unknown) => {
    const { status } = sendError(res, err);
    if (status >= 500) deps.onServerError?.(toToolkitError(err), req);
  };

  const run = (
    handler: RouteHandler,
    info: RouteInfo | undefined,
    req: http.IncomingMessage,
    res: http.ServerResponse,
    params: Record<string, string>,
    query: URLSearchParams,
    tracked: Track | undefined,
  ) => {
    const tenant = tracked ? currentTenantScope()?.tenant : undefined;
    if (tracked && tenant) {
      tracked.tenantId = tenant.id;
      tracked.slug = tenant.slug;
    }
    // A route without a declaration is treated as needing a token: nothing is open by omission.
    const access = info?.access ?? 'authenticated';
    const handle = async () => {
      let principal: Principal | undefined;
      if (access !== 'public') {
        principal = await deps.auth.authenticate(req.headers.authorization);
        if (access !== 'authenticated' && !hasPermission(principal, access.permission)) throw new ForbiddenError(access.permission);
      }
      const require = (permission: Permission) => {
        if (!principal || !hasPermission(principal, permission)) throw new ForbiddenError(permission);
      };
      await handler({ req, res, params, query, principal, require });
    };
    handle().catch((err: unknown) => fail(req, res, err));
  };

  const tenantHeader = (deps.tenantHeader ?? 'x-tenant-id').toLowerCase();
  const { onRequest, metrics } = deps;

  return (req, res) => {
    const tracked = onRequest ? track(req, res, tenantHeader, onRequest) : undefined;
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const search = q < 0 ? '' : url.slice(q + 1);
    if (path.startsWith('/health/') && health.handle(req, res)) {
      if (tracked) tracked.route = path;
      return;
    }
    if (metrics && path === '/metrics') {
      if (tracked) tracked.route = path;
      metrics(req, res);
      return;
    }

    const match = api.match(req.method ?? 'GET', path);
    if (match.kind === 'not-found') {
      fail(req, res, new NotFoundError(`no route for ${req.method ?? 'GET'} ${path.slice(0, 200)}`));
      return;
    }
    if (match.kind === 'method-not-allowed') {
      res.setHeader('allow', match.allowed.join(', '));
      fail(req, res, new TenantToolkitError('METHOD_NOT_ALLOWED', `${req.method ?? ''} is not allowed here`));
      return;
    }
    if (tracked) tracked.route = match.route;
    const query = new URLSearchParams(search);
    try {
      // Before the tenant's pool is leased: bad text never costs a connection.
      assertNoNulInUrl(match.params, query);
    } catch (err) {
      fail(req, res, err);
      return;
    }
    if (match.info?.doc.noTenant) {
      run(match.handler, match.info, req, res, match.params, query, tracked);
      return;
    }
    middleware(req, res, (err) => {
      if (err) fail(req, res, err);
      else run(match.handler, match.info, req, res, match.params, query, tracked);
    });
  };
}
