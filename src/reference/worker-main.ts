/**
 * `tenant-worker` / `npm run worker`: the reference multi-tenant worker.
 * Metrics: with WORKER_METRICS_PORT set, GET /metrics and /health on
 * WORKER_METRICS_HOST (default 127.0.0.1). Connections show as
 * `metapus:worker:<slug>`. Logs: JSON lines on stderr (LOG_LEVEL).
 * Runs the example job `refresh-stock-balances` (stock-balances-job.ts) on
 * every active tenant, WORKER_CONCURRENCY at a time (default 4), every
 * WORKER_INTERVAL (default 15m). SIGTERM/SIGINT: running jobs get
 * JOBS_DEADLINE_MS to finish, then they are cancelled; the process exits
 * within a bound either way (run-service.ts). One line per event on stderr,
 * redacted.
 */
import { loadConfig } from '../config.js';
import { openTenantServices, type TenantServices } from '../pools/tenant-services.js';
import { formatDuration } from '../duration.js';
import { runService, type Log, type Logger, type Service } from './run-service.js';
import { createMetricsRegistry } from '../metrics/metrics-handler.js';
import { registerTenantMetrics } from '../metrics/tenant-metrics.js';
import { startMetricsServer, type MetricsServer } from '../metrics/metrics-server.js';
import { messageOf } from '../errors.js';
import { openRuntime } from '../runtime/runtime.js';
import { stockBalancesJob } from './stock-balances-job.js';
import { MultiTenantWorker, type WorkerEvent } from '../worker/worker-runner.js';

/** Running jobs get this long after a signal; then they are aborted (and their queries cancelled). */
const JOBS_DEADLINE_MS = 30_000;
const POOLS_DEADLINE_MS = 5_000;

function describe(event: WorkerEvent): string {
  switch (event.type) {
    case 'job-started':
      return `${event.job} started on ${event.slug}`;
    case 'job-succeeded':
      return `${event.job} ok on ${event.slug} (${Math.round(event.durationMs)}ms)`;
    case 'job-failed':
      return `${event.job} FAILED on ${event.slug}: ${event.error.code} ${messageOf(event.error)}`;
    case 'job-skipped':
      return `${event.job} skipped on ${event.slug}: ${event.reason}`;
    case 'tenants-changed':
      return `tenants: ${event.total} active (+${event.added.length} -${event.removed.length})`;
    case 'refresh-failed':
      return `could not read the tenant list: ${messageOf(event.error)}`;
  }
}

/** Job events as log lines: started at debug, failures at error, the rest at info. */
function logEvent(logger: Logger, event: WorkerEvent): void {
  const fields =
    event.type === 'tenants-changed' || event.type === 'refresh-failed'
      ? { event: event.type }
      : { event: event.type, job: event.job, tenantId: event.tenantId, slug: event.slug };
  const duration = 'durationMs' in event ? { durationMs: Math.round(event.durationMs) } : {};
  const code = 'error' in event ? { code: event.error.code } : {};
  const line = { ...fields, ...duration, ...code };
  if (event.type === 'job-started') logger.debug(line, describe(event));
  else if (event.type === 'job-failed' || event.type === 'refresh-failed') logger.error(line, describe(event));
  else logger.info(line, describe(event));
}

async function start(log: Log, logger: Logger): Promise<Service> {
  const config = loadConfig();
  logger.level = config.logLevel;
  const { concurrency, intervalMs, metricsPort, metricsHost } = config.worker;
  const runtime = await openRuntime(config, { onNotice: log, component: 'worker' });
  let services: TenantServices | undefined;
  let metricsServer: MetricsServer | undefined;
  try {
    services = await openTenantServices(runtime, {
      onListenerState(state, error) {
        if (error || state === 'listening') log(`status listener: ${state}${error ? ` (${error})` : ''}`);
      },
      component: 'worker',
    });
    const registry = createMetricsRegistry();
    const metrics = registerTenantMetrics(registry, services, { perTenant: config.metrics.perTenant, http: false });
    const worker = new MultiTenantWorker({
      pools: services.pools,
      tenants: runtime.registry,
      concurrency,
      onEvent(event) {
        metrics.observeWorkerEvent(event);
        logEvent(logger, event);
      },
    });
    if (metricsPort !== undefined) {
      metricsServer = await startMetricsServer({
        registry,
        port: metricsPort,
        host: metricsHost,
        healthy: () => worker.stats().state === 'running',
      });
      log(
        `metrics on http://${metricsServer.host.includes(':') ? `[${metricsServer.host}]` : metricsServer.host}:${metricsServer.port}/metrics`,
      );
    }
    const serving = metricsServer;
    worker.register(stockBalancesJob(intervalMs));
    const open = services;
    services.subscribe({
      onStatusChange: (change) => worker.statusChanged(change),
      onResync: () => void worker.refresh(),
    });
    await worker.start();
    log(
      `worker running (pid ${process.pid}): ${worker.stats().tenants} tenants, concurrency ${concurrency}, every ${formatDuration(intervalMs)}`,
    );

    return {
      stopping: 'finishing running jobs',
      async stop() {
        const { drained } = await worker.stop({ deadlineMs: JOBS_DEADLINE_MS });
        await serving?.close();
        await open.close({ deadlineMs: POOLS_DEADLINE_MS });
        await runtime.close();
        return drained ? 'stopped' : 'stopped (running jobs were cancelled)';
      },
    };
  } catch (err) {
    await metricsServer?.close();
    await services?.close({ deadlineMs: 0 });
    await runtime.close();
    throw err;
  }
}

// The bound covers the jobs' deadline, the 2s the runner gives aborted jobs, and closing the pools.
void runService({ name: 'worker', start, stopBoundMs: JOBS_DEADLINE_MS + 2_000 + POOLS_DEADLINE_MS + 8_000 }, process);
