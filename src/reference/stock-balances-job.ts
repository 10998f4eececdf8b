/**
 * The reference worker's example job: rebuild_stock_balances() (the tenant
 * schema's repair function) in one transaction per tenant. When the job is
 * aborted (the worker stopping past its drain deadline, the job's timeout,
 * the tenant suspended) the running statement is cancelled on the server,
 * so stopping never waits for a rebuild, or a lock, to finish.
 */
import { TenantToolkitError, messageOf } from '../errors.js';
import type { JobContext, WorkerJob } from '../worker/worker-runner.js';

export const STOCK_BALANCES_JOB = 'refresh-stock-balances';
const JOB_TIMEOUT_MS = 5 * 60_000;

export function stockBalancesJob(intervalMs: number): WorkerJob {
  return {
    name: STOCK_BALANCES_JOB,
    intervalMs,
    timeoutMs: JOB_TIMEOUT_MS,
    async run(ctx: JobContext) {
      try {
        await ctx.tx.run(
          async (client) => {
            ctx.signal.throwIfAborted();
            const pid = (client as unknown as { processID?: number }).processID;
            // Another connection of the same role may cancel this backend.
            const cancel = () => void ctx.pool.query('SELECT pg_cancel_backend($1)', [pid]).catch(() => undefined);
            ctx.signal.addEventListener('abort', cancel, { once: true });
            try {
              await client.query('SELECT rebuild_stock_balances()');
            } finally {
              ctx.signal.removeEventListener('abort', cancel);
            }
          },
          { statementTimeoutMs: JOB_TIMEOUT_MS },
        );
      } catch (err) {
        if (!ctx.signal.aborted) throw err;
        throw new TenantToolkitError('CANCELLED', `cancelled: ${messageOf(ctx.signal.reason)}`, { cause: err });
      }
    },
  };
}
