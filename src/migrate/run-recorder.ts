/**
 * Writes a fleet run's outcomes to the meta database without losing any.
 * An outcome that cannot be written (the meta database is down) is kept and
 * sent again with the next write; at the end, every kept outcome is
 * retried with backoff for a bounded time. Whatever still
 * could not be written is returned, so the caller can report it as
 * unrecorded (history then shows those rows `unrecorded`, never `pending`).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay } from '../pools/status-listener.js';
import { messageOf } from '../errors.js';
import type { MigrationRuns, RunTenantRecord } from './migration-runs.js';

/** How long the end of a run keeps trying to write to an unreachable meta database, by default. */
export const DEFAULT_RECORD_RETRY_MS = 30_000;

export interface RecordRetry {
  attempt: number;
  delayMs: number;
  /** Outcomes still waiting to be written. */
  pending: number;
  message: string;
}

export interface RecordResult {
  /** The run's final status and every outcome were written. */
  recorded: boolean;
  /** Tenants whose outcome is not in the run history. */
  unrecorded: string[];
  error?: string;
}

export class RunRecorder {
  private readonly kept = new Map<string, RunTenantRecord>();
  private failing = false;

  constructor(
    private readonly runs: MigrationRuns,
    readonly runId: string,
    readonly runnerId: string,
    private readonly on: { firstFailure(message: string): void; retry(retry: RecordRetry): void },
  ) {}

  /** One tenant's outcome; never throws (a failed write is kept for the next one). */
  async tenant(record: RunTenantRecord): Promise<void> {
    this.kept.set(record.tenantId, record);
    const batch = [...this.kept.values()];
    try {
      await this.runs.finishTenants(this.runId, batch, this.runnerId);
      this.forget(batch);
    } catch (err) {
      if (!this.failing) this.on.firstFailure(messageOf(err));
      this.failing = true;
    }
  }

  /** One try at writing what is kept (before a claim: the run's stop rule must see every outcome); throws when it cannot. */
  async writeKept(): Promise<void> {
    const batch = [...this.kept.values()];
    if (batch.length === 0) return;
    await this.runs.finishTenants(this.runId, batch, this.runnerId);
    this.forget(batch);
  }

  /** Writes what is kept, retried until written or retryForMs has passed. */
  async flush(retryForMs: number): Promise<RecordResult> {
    const deadline = Date.now() + Math.max(0, retryForMs);
    for (let attempt = 1; ; attempt += 1) {
      const batch = [...this.kept.values()];
      if (batch.length === 0) return { recorded: true, unrecorded: [] };
      try {
        await this.runs.finishTenants(this.runId, batch, this.runnerId);
        this.forget(batch);
        return { recorded: true, unrecorded: [] };
      } catch (err) {
        const message = messageOf(err);
        const delayMs = backoffDelay(attempt - 1, 500, 5_000);
        if (Date.now() + delayMs > deadline) return { recorded: false, unrecorded: [...this.kept.keys()], error: message };
        this.on.retry({ attempt, delayMs, pending: this.kept.size, message });
        await sleep(delayMs);
      }
    }
  }

  /** Outcomes not written yet. */
  get pending(): number {
    return this.kept.size;
  }

  private forget(batch: readonly RunTenantRecord[]): void {
    // Only what was written: an outcome kept meanwhile stays.
    for (const record of batch) if (this.kept.get(record.tenantId) === record) this.kept.delete(record.tenantId);
  }
}
