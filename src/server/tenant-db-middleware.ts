/**
 * TenantDB middleware for Node's http request/response, Express/Connect style
 * `(req, res, next)`: resolves X-Tenant-ID to a leased tenant pool and runs
 * the rest of the request inside that tenant's scope (getTenant(), getPool(),
 * getTxManager()).
 *
 *   missing / malformed header   400 TENANT_ID_MISSING / INVALID_TENANT_ID
 *   unknown tenant               404 TENANT_NOT_FOUND
 *   suspended / deleted          403 TENANT_SUSPENDED / TENANT_DELETED
 *   provisioning / migr. failed  503 TENANT_UNAVAILABLE + Retry-After
 *   moving (tenant move)         503 TENANT_UNAVAILABLE + Retry-After
 *   pool table full, DB down     503 POOL_EXHAUSTED / DATABASE_UNAVAILABLE
 *
 * By default it answers these itself (`{ code, message }` JSON). With
 * `passErrors: true` it calls `next(err)` instead, the error carrying
 * `status`, `code`, `headers` and a safe `body`, so an Express/Connect app's
 * own error handler formats it.
 *
 * The lease is released when the response finishes or the client goes away,
 * but never before the request's transaction manager has given back its
 * connections, so a pool cannot be closed under a query still running.
 */
import type http from 'node:http';
import type pg from 'pg';
import type { TenantLease } from '../pools/pool-manager.js';
import type { LeaseSource, TenantScope } from '../context/tenant-context.js';
import { runWithTenant } from '../context/tenant-context.js';
import { isUuid, type Tenant } from '../tenants/tenant.js';
import { TransactionManager } from '../context/transaction-manager.js';
import { TenantToolkitError, toToolkitError } from '../errors.js';
import { sendError, toPassedError } from './http-errors.js';

export const TENANT_HEADER = 'x-tenant-id';

export type NextFunction = (err?: unknown) => void;
export type Middleware = (req: http.IncomingMessage, res: http.ServerResponse, next: NextFunction) => void;

export interface TenantDbOptions {
  pools: LeaseSource & {
    /** Optional synchronous fast path (PoolManager has it): a lease without waiting, or undefined. */
    tryAcquire?(tenantId: string): TenantLease | undefined;
  };
  /** Header carrying the tenant id (default X-Tenant-ID). */
  header?: string;
  /** Told about every error answered with a 5xx (for logging; do not send it to clients). Not called with passErrors. */
  onServerError?: (err: TenantToolkitError, req: http.IncomingMessage) => void;
  /**
   * Hand errors to `next(err)` instead of answering them: the error has
   * `status`/`statusCode`, `code`, `expose`, `headers` and `body` (see
   * PassedError), for the app's own error handler. Default false.
   */
  passErrors?: boolean;
}

/**
 * The request's scope. Its abort signal is created only if someone asks for
 * it (most requests never do); a disconnect before that still shows, because
 * a signal created later starts aborted.
 */
class RequestScope implements TenantScope {
  readonly tenant: Tenant;
  readonly pool: pg.Pool;
  readonly tx: TransactionManager;
  private controller: AbortController | undefined;
  private disconnected = false;

  constructor(lease: TenantLease, controller: AbortController | undefined) {
    this.tenant = lease.tenant;
    this.pool = lease.pool;
    this.tx = new TransactionManager(lease.pool, lease.tenant.slug);
    this.controller = controller;
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.disconnected) this.controller.abort(disconnectReason());
    }
    return this.controller.signal;
  }

  clientGone(): void {
    this.disconnected = true;
    this.controller?.abort(disconnectReason());
  }
}

function disconnectReason(): Error {
  return new Error('the client disconnected');
}

export function tenantDb(options: TenantDbOptions): Middleware {
  const header = (options.header ?? TENANT_HEADER).toLowerCase();
  const display = options.header ?? 'X-Tenant-ID';
  const { pools } = options;

  const answer = (req: http.IncomingMessage, res: http.ServerResponse, err: unknown) => {
    const { status } = sendError(res, err);
    if (status >= 500) options.onServerError?.(toToolkitError(err), req);
  };
  const fail = (req: http.IncomingMessage, res: http.ServerResponse, err: unknown, next: NextFunction) => {
    if (options.passErrors) next(toPassedError(err));
    else answer(req, res, err);
  };

  /** Runs the rest of the request in the tenant's scope; the lease goes back once the response is over and its connections are. */
  const enter = (req: http.IncomingMessage, res: http.ServerResponse, next: NextFunction, lease: TenantLease, controller?: AbortController) => {
    const scope = new RequestScope(lease, controller);
    // 'close' follows 'finish' on every response, and also fires when the client goes away first.
    res.once('close', () => {
      if (!res.writableFinished) scope.clientGone();
      if (scope.tx.activeConnections === 0) lease.release();
      else void scope.tx.whenIdle().then(() => lease.release());
    });
    try {
      runWithTenant(scope, () => next());
    } catch (err) {
      // next() itself threw: a handler error the chain did not catch; calling next again would run the chain twice.
      answer(req, res, err);
    }
  };

  return (req, res, next) => {
    const raw = req.headers[header];
    const value = typeof raw === 'string' ? raw.trim() : raw;
    if (value === undefined || value === '') {
      fail(req, res, new TenantToolkitError('TENANT_ID_MISSING', `the ${display} header is required`), next);
      return;
    }
    if (typeof value !== 'string' || !isUuid(value)) {
      fail(req, res, new TenantToolkitError('INVALID_TENANT_ID', `the ${display} header must be one tenant UUID`), next);
      return;
    }

    // Hot path: tenant cached and its pool open; no promise, no waiting.
    const ready = pools.tryAcquire?.(value);
    if (ready) {
      enter(req, res, next, ready);
      return;
    }

    const controller = new AbortController();
    const onEarlyClose = () => controller.abort(disconnectReason());
    res.once('close', onEarlyClose);
    pools.acquire(value, { signal: controller.signal }).then(
      (lease) => {
        res.off('close', onEarlyClose);
        if (controller.signal.aborted) {
          lease.release();
          return;
        }
        enter(req, res, next, lease, controller);
      },
      (err: unknown) => {
        res.off('close', onEarlyClose);
        // Nobody is listening any more; there is no one to answer.
        if (controller.signal.aborted) return;
        fail(req, res, err, next);
      },
    );
  };
}
