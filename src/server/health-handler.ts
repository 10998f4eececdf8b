/**
 * Health endpoints, JSON:
 *   /health/live     the process answers (no I/O)
 *   /health/ready    the meta database answers and we are not shutting down; 503 otherwise
 *   /health/tenants  pool table, cache and listener statistics
 * Tenant databases are deliberately not part of readiness: one tenant's
 * database being down must not take the whole server out of the balancer.
 */
import type http from 'node:http';
import type pg from 'pg';
import type { PoolManagerStats } from '../pools/pool-manager.js';
import type { ListenerState } from '../pools/status-listener.js';
import type { TenantCacheStats } from '../pools/tenant-cache.js';
import { messageOf } from '../errors.js';
import { redact } from '../redact.js';
import { raceDeadline } from '../deadline.js';
import { sendJson } from './http-errors.js';

export interface HealthDeps {
  metaPool: Pick<pg.Pool, 'query'>;
  pools: { stats(): PoolManagerStats; readonly isClosing: boolean };
  listener?: { readonly state: ListenerState } | undefined;
  cache?: { stats(): TenantCacheStats };
  /** How long the meta database may take to answer readiness (default 2s). */
  readyTimeoutMs?: number;
}

export type RequestHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void | Promise<void>;

export interface HealthHandler {
  live: RequestHandler;
  ready: RequestHandler;
  tenants: RequestHandler;
  /** Answers /health/* paths; false for any other path. */
  handle(req: http.IncomingMessage, res: http.ServerResponse): boolean;
}

export function createHealthHandler(deps: HealthDeps): HealthHandler {
  const readyTimeoutMs = deps.readyTimeoutMs ?? 2_000;

  const live: RequestHandler = (_req, res) => sendJson(res, 200, { status: 'ok' });

  const ready: RequestHandler = async (_req, res) => {
    const listener = deps.listener?.state ?? 'disabled';
    if (deps.pools.isClosing) {
      sendJson(res, 503, { status: 'shutting-down', listener });
      return;
    }
    const meta = await probe(deps.metaPool, readyTimeoutMs);
    if (meta === 'ok') sendJson(res, 200, { status: 'ready', meta, listener });
    // The reason stays server-side: it can carry host names and ports.
    else sendJson(res, 503, { status: 'unavailable', meta: 'unreachable', listener }, { 'retry-after': '5' });
  };

  const tenants: RequestHandler = (_req, res) => {
    sendJson(res, 200, {
      pools: deps.pools.stats(),
      cache: deps.cache?.stats() ?? null,
      listener: deps.listener?.state ?? 'disabled',
    });
  };

  const routes: Record<string, RequestHandler> = { '/health/live': live, '/health/ready': ready, '/health/tenants': tenants };

  return {
    live,
    ready,
    tenants,
    handle(req, res) {
      const path = (req.url ?? '/').split('?')[0] as string;
      const route = routes[path];
      if (!route) return false;
      void Promise.resolve(route(req, res)).catch(() => {
        if (!res.headersSent) sendJson(res, 500, { code: 'INTERNAL', message: 'internal server error' });
      });
      return true;
    },
  };
}

/** 'ok', or a one-line reason. Never waits longer than timeoutMs. */
async function probe(metaPool: Pick<pg.Pool, 'query'>, timeoutMs: number): Promise<string> {
  const query = metaPool.query('SELECT 1').then(
    () => 'ok',
    (err: unknown) => redact(messageOf(err)),
  );
  return raceDeadline(query, timeoutMs, () => `no answer within ${timeoutMs}ms`);
}
