/**
 * `npm run worker`: the reference multi-tenant worker. Runs the example job
 * `refresh-stock-balances` (the tenant schema's rebuild_stock_balances())
 * on every active tenant, WORKER_CONCURRENCY at a time (default 4), every
 * WORKER_INTERVAL (default 15m). SIGTERM/SIGINT: finish running jobs, close.
 * One line per event on stderr, redacted.
 */
import { loadConfig } from '../config.js';
import { openTenantServices } from '../core/tenant-services.js';
import { getTxManager } from '../core/tenant-context.js';
import { formatDuration } from '../duration.js';
import { EXIT, TenantToolkitError, messageOf } from '../errors.js';
import { redact } from '../redact.js';
import { openRuntime } from '../runtime.js';
import { MultiTenantWorker, type WorkerEvent } from './worker-runner.js';

function log(message: string): void {
  process.stderr.write(`${new Date().toISOString()} ${redact(message)}\n`);
}

function describe(event: WorkerEvent): string {
  switch (event.type) {
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

async function main(): Promise<void> {
  const config = loadConfig();
  const { concurrency, intervalMs } = config.worker;
  const runtime = await openRuntime(config, { onNotice: log });
  const services = await openTenantServices(runtime, {
    onListenerState(state, error) {
      if (error || state === 'listening') log(`status listener: ${state}${error ? ` (${error})` : ''}`);
    },
  });
  const worker = new MultiTenantWorker({
    pools: services.pools,
    tenants: runtime.registry,
    concurrency,
    onEvent: (event) => log(describe(event)),
  });
  worker.register({
    name: 'refresh-stock-balances',
    intervalMs,
    timeoutMs: 5 * 60_000,
    async run() {
      // Rebuilds balances from the movement journal; locks only this tenant's two tables.
      await getTxManager().run(() => getTxManager().query('SELECT rebuild_stock_balances()'), { statementTimeoutMs: 5 * 60_000 });
    },
  });
  services.subscribe({
    onStatusChange: (change) => worker.statusChanged(change),
    onResync: () => void worker.refresh(),
  });
  await worker.start();
  log(`worker running: ${worker.stats().tenants} tenants, concurrency ${concurrency}, every ${formatDuration(intervalMs)}`);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) {
      log(`${signal} again: exiting without waiting for jobs`);
      process.exit(EXIT.interrupted);
    }
    stopping = true;
    log(`${signal}: finishing running jobs`);
    const { drained } = await worker.stop({ deadlineMs: 30_000 });
    await services.close({ deadlineMs: 5_000 });
    await runtime.close();
    log(drained ? 'stopped' : 'stopped (some jobs were aborted)');
    process.exit(EXIT.ok);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  log(`worker failed to start: ${messageOf(err)}`);
  if (err instanceof TenantToolkitError && err.hint) log(`hint: ${err.hint}`);
  process.exit(err instanceof TenantToolkitError ? err.exitCode : EXIT.failed);
});
