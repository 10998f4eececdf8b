/**
 * `tenant-server` / `npm run server`: the reference server. Wires config,
 * the meta pool and registry (openRuntime: configured server or the embedded
 * cluster), the pool manager with its status listener, and the app; listens
 * on PORT (default 8080, HOST optional). Connections are budgeted per
 * PostgreSQL server by the pool manager (server-budget.ts). SIGTERM/SIGINT:
 * stop accepting, let in-flight requests finish, drain the pools, close
 * (run-service.ts owns the signals and the bound). Logs: JSON lines on
 * stderr, redacted, one per request (logger.ts; LOG_LEVEL). Metrics: GET
 * /metrics on the same port (TENANT_METRICS_PER_TENANT adds tenant ids).
 * Connections show as `metapus:server:<slug>` / `metapus:server:meta`.
 * API tokens: signed with API_TOKEN_KEY / API_TOKEN_KEY_FILE (the embedded
 * cluster's TENANT_HOME/token.key when neither is set); a configured server
 * without a key does not start. The login limiter is per process.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseConfig, readRawConfig } from '../config.js';
import { openTenantServices } from '../pools/tenant-services.js';
import { runService, type Log, type Logger, type Service } from './run-service.js';
import { createMetricsRegistry, metricsHandler } from '../metrics/metrics-handler.js';
import { registerTenantMetrics } from '../metrics/tenant-metrics.js';
import { createApp, requestIdOf, type RequestInfo } from './app.js';
import { messageOf } from '../errors.js';
import { settlesWithin } from '../deadline.js';
import { openRuntime, type Runtime } from '../runtime/runtime.js';
import type { ApiAuth } from '../erp/auth/api-auth.js';
import { createTokenAuth } from '../erp/auth/token-auth.js';
import { loadTokenKey, tokenTtls } from '../erp/auth/token-key.js';

/** In-flight requests get this long after a signal; then their connections are cut. */
const DRAIN_DEADLINE_MS = 15_000;
const POOLS_DEADLINE_MS = 2_000;

async function start(log: Log, logger: Logger): Promise<Service> {
  const raw = readRawConfig();
  const config = parseConfig(raw);
  logger.level = config.logLevel;
  const { port, host } = config.server;
  // Before any connection: a configured server without a token key stops here, naming the variables.
  // Without META_DATABASE_URL the runtime is the embedded cluster, which keeps its own key file.
  const auth = createTokenAuth({
    key: loadTokenKey(config.api, { embeddedHome: config.metaDatabaseUrl ? undefined : config.tenantHome, onNotice: log }),
    ...tokenTtls(config.api),
  });
  const runtime = await openRuntime(config, { onNotice: log, component: 'server' });
  try {
    return await serve(runtime, auth, log, logger, port, host);
  } catch (err) {
    await runtime.close();
    throw err;
  }
}

/** One line per request: info, warn for 4xx answers that are errors, error for 5xx. */
function logRequest(logger: Logger, info: RequestInfo): void {
  const line = {
    reqId: info.requestId,
    method: info.method,
    route: info.route,
    status: info.status,
    durationMs: Math.round(info.durationMs * 10) / 10,
    ...(info.tenantId ? { tenantId: info.tenantId } : {}),
    ...(info.slug ? { slug: info.slug } : {}),
    ...(info.errorCode ? { code: info.errorCode } : {}),
    ...(info.aborted ? { aborted: true } : {}),
  };
  const message = `${info.method} ${info.route} ${info.status}`;
  if (info.status >= 500) logger.error(line, message);
  else if (info.errorCode) logger.warn(line, message);
  else logger.info(line, message);
}

async function serve(runtime: Runtime, auth: ApiAuth, log: Log, logger: Logger, port: number, host: string | undefined): Promise<Service> {
  const limits = runtime.config.pool;
  // TENANT_MAX_POOLS x TENANT_MAX_CONNS_PER_POOL no longer has to fit a server:
  // each server's connections are budgeted (registry `connections`, or measured).
  const services = await openTenantServices(runtime, {
    onPoolEvent(event) {
      if (event.type === 'pool-unhealthy' || event.type === 'acquire-timeout') logger.warn({ ...event }, `pool: ${event.type} (${event.slug})`);
    },
    onListenerState(state, error) {
      if (error || state === 'listening') log(`status listener: ${state}${error ? ` (${error})` : ''}`);
    },
    component: 'server',
  });
  const registry = createMetricsRegistry();
  const metrics = registerTenantMetrics(registry, services, { perTenant: runtime.config.metrics.perTenant, worker: false });
  const app = createApp({
    auth,
    metrics: metricsHandler(registry),
    onRequest(info) {
      metrics.observeRequest({
        method: info.method,
        route: info.route,
        status: info.status,
        durationSeconds: info.durationMs / 1000,
        errorCode: info.errorCode,
        tenantId: info.tenantId,
      });
      logRequest(logger, info);
    },
    pools: services.pools,
    metaPool: runtime.metaPool,
    listener: services.listener,
    cache: services.cache,
    onServerError(err, req) {
      logger.error({ reqId: requestIdOf(req), code: err.code }, `${req.method ?? ''} ${req.url ?? ''}: ${err.code} ${messageOf(err)}`);
    },
  });

  const server = http.createServer(app);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await services.close({ deadlineMs: 0 });
    throw err;
  }
  server.on('error', (err) => log(`http server error: ${messageOf(err)}`));
  const address = server.address() as AddressInfo;
  log(
    `tenant-server listening on ${host ?? '*'}:${address.port} (pid ${process.pid}; max ${limits.maxPools} pools of up to ${limits.maxConnsPerPool} connections, budgeted per server)`,
  );

  return {
    stopping: 'no longer accepting connections; draining in-flight requests',
    async stop() {
      const httpClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const drained = await settlesWithin(httpClosed, DRAIN_DEADLINE_MS, { unref: true });
      if (!drained) server.closeAllConnections();
      const result = await services.close({ deadlineMs: POOLS_DEADLINE_MS });
      await runtime.close();
      return `stopped (${result.poolsClosed} pools closed${drained && result.drained ? '' : ', some requests were cut'})`;
    },
  };
}

void runService({ name: 'tenant-server', start, stopBoundMs: DRAIN_DEADLINE_MS + POOLS_DEADLINE_MS + 8_000 }, process);
