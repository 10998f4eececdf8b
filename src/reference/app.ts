/**
 * The reference application as a plain `http` request handler: health
 * endpoints, then the tenant-scoped API behind the TenantDB middleware.
 * No framework: `http.createServer(createApp(deps))` is the whole server.
 */
import type http from 'node:http';
import type pg from 'pg';
import type { PoolManagerStats } from '../pools/pool-manager.js';
import type { ListenerState } from '../pools/status-listener.js';
import type { TenantCacheStats } from '../pools/tenant-cache.js';
import type { LeaseSource } from '../context/tenant-context.js';
import { NotFoundError, TenantToolkitError, toToolkitError } from '../errors.js';
import { registerCurrencyRoutes } from './currency-routes.js';
import { createHealthHandler } from '../server/health-handler.js';
import { sendError } from '../server/http-errors.js';
import { assertNoNulInUrl } from './request-text.js';
import { Router, type RouteHandler } from './router.js';
import { tenantDb } from '../server/tenant-db-middleware.js';

export interface AppDeps {
  pools: LeaseSource & { stats(): PoolManagerStats; readonly isClosing: boolean };
  metaPool: Pick<pg.Pool, 'query'>;
  listener?: { readonly state: ListenerState } | undefined;
  cache?: { stats(): TenantCacheStats };
  /** Header carrying the tenant id (default X-Tenant-ID). */
  tenantHeader?: string;
  /** Every error answered with a 5xx, for the operator's log (never sent to the client). */
  onServerError?: (err: TenantToolkitError, req: http.IncomingMessage) => void;
}

export type App = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export function createApp(deps: AppDeps): App {
  const health = createHealthHandler(deps);
  const api = new Router();
  registerCurrencyRoutes(api);
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
    req: http.IncomingMessage,
    res: http.ServerResponse,
    params: Record<string, string>,
    query: URLSearchParams,
  ) => {
    try {
      const result = handler({ req, res, params, query });
      if (result) result.catch((err: unknown) => fail(req, res, err));
    } catch (err) {
      fail(req, res, err);
    }
  };

  return (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const search = q < 0 ? '' : url.slice(q + 1);
    if (path.startsWith('/health/') && health.handle(req, res)) return;

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
    const query = new URLSearchParams(search);
    try {
      // Before the tenant's pool is leased: bad text never costs a connection.
      assertNoNulInUrl(match.params, query);
    } catch (err) {
      fail(req, res, err);
      return;
    }
    middleware(req, res, (err) => {
      if (err) fail(req, res, err);
      else run(match.handler, req, res, match.params, query);
    });
  };
}
