/**
 * `tenant-server` / `npm run server`: the reference server. Wires config,
 * the meta pool and registry (openRuntime: configured server or the embedded
 * cluster), the pool manager with its status listener, and the app; listens
 * on PORT (default 8080, HOST optional). SIGTERM/SIGINT: stop accepting,
 * let in-flight requests finish, drain the pools, close; a second signal
 * exits at once. Logs go to stderr, redacted.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type pg from 'pg';
import { loadConfig } from '../config.js';
import { openTenantServices } from '../core/tenant-services.js';
import { EXIT, TenantToolkitError, messageOf } from '../errors.js';
import { redact } from '../redact.js';
import { openRuntime } from '../runtime.js';
import { createApp } from './app.js';

const SHUTDOWN_DEADLINE_MS = 15_000;

function log(message: string): void {
  process.stderr.write(`${new Date().toISOString()} ${redact(message)}\n`);
}

async function main(): Promise<void> {
  const config = loadConfig();
  const { port, host } = config.server;
  const runtime = await openRuntime(config, { onNotice: log });
  await warnIfOverCommitted(runtime.metaPool, config.pool.maxPools * config.pool.maxConnsPerPool);
  const services = await openTenantServices(runtime, {
    onPoolEvent(event) {
      if (event.type === 'pool-unhealthy' || event.type === 'acquire-timeout') log(`pool: ${JSON.stringify(event)}`);
    },
    onListenerState(state, error) {
      if (error || state === 'listening') log(`status listener: ${state}${error ? ` (${error})` : ''}`);
    },
  });
  const app = createApp({
    pools: services.pools,
    metaPool: runtime.metaPool,
    listener: services.listener,
    cache: services.cache,
    onServerError(err, req) {
      log(`${req.method ?? ''} ${req.url ?? ''}: ${err.code} ${messageOf(err)}`);
    },
  });

  const server = http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => log(`http server error: ${messageOf(err)}`));
  const address = server.address() as AddressInfo;
  log(`tenant-server listening on ${host ?? '*'}:${address.port} (max ${config.pool.maxPools} pools x ${config.pool.maxConnsPerPool} connections)`);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) {
      log(`${signal} again: exiting without draining`);
      process.exit(EXIT.interrupted);
    }
    stopping = true;
    log(`${signal}: no longer accepting connections; draining in-flight requests`);
    const hardStop = setTimeout(() => {
      log('shutdown took too long; exiting');
      process.exit(EXIT.failed);
    }, SHUTDOWN_DEADLINE_MS + 5_000);
    hardStop.unref();

    const httpClosed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const drained = await Promise.race([httpClosed.then(() => true), delay(SHUTDOWN_DEADLINE_MS).then(() => false)]);
    if (!drained) server.closeAllConnections();
    const result = await services.close({ deadlineMs: 2_000 });
    await runtime.close();
    log(`stopped (${result.poolsClosed} pools closed${drained && result.drained ? '' : ', some requests were cut'})`);
    process.exit(EXIT.ok);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

/** The cap is only a promise if the server can keep it: say so when it cannot (tenants on the meta server). */
async function warnIfOverCommitted(metaPool: pg.Pool, cap: number): Promise<void> {
  const { rows } = await metaPool
    .query<{ max: number }>("SELECT current_setting('max_connections')::int AS max")
    .catch(() => ({ rows: [] as { max: number }[] }));
  const max = rows[0]?.max;
  if (max !== undefined && cap >= max) {
    log(
      `warning: TENANT_MAX_POOLS x TENANT_MAX_CONNS_PER_POOL = ${cap} is not below the server's max_connections (${max}); lower them or raise max_connections`,
    );
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

main().catch((err: unknown) => {
  log(`tenant-server failed to start: ${messageOf(err)}`);
  if (err instanceof TenantToolkitError && err.hint) log(`hint: ${err.hint}`);
  process.exit(err instanceof TenantToolkitError ? err.exitCode : EXIT.failed);
});
