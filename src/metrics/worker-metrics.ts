/** Worker job metrics, from the MultiTenantWorker's events: started, succeeded, failed, skipped, duration. */
import { Counter, Histogram, type Registry } from 'prom-client';
import type { WorkerEvent } from '../worker/worker-runner.js';

/** Seconds: jobs run from milliseconds to many minutes. */
export const JOB_DURATION_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600];

export type ObserveWorkerEvent = (event: WorkerEvent) => void;

export function registerWorkerMetrics(registry: Registry, perTenant: boolean): ObserveWorkerEvent {
  const labelNames = ['job', ...(perTenant ? ['tenant_id'] : [])];
  const registers = [registry];
  const counter = (name: string, help: string) => new Counter({ name, help, labelNames, registers });
  const started = counter('tenant_worker_jobs_started_total', 'Job runs started on a tenant');
  const succeeded = counter('tenant_worker_jobs_succeeded_total', 'Job runs that succeeded');
  const failed = counter('tenant_worker_jobs_failed_total', 'Job runs that failed (one tenant failing stops nothing else)');
  const skipped = counter('tenant_worker_jobs_skipped_total', 'Job runs skipped: still running from last time, or the tenant not servable');
  const duration = new Histogram({
    name: 'tenant_worker_job_duration_seconds',
    help: 'Duration of finished job runs, by job and outcome (succeeded, failed)',
    labelNames: ['job', 'outcome'],
    buckets: JOB_DURATION_BUCKETS,
    registers,
  });
  return (event) => {
    if (event.type === 'tenants-changed' || event.type === 'refresh-failed') return;
    const labels = perTenant ? { job: event.job, tenant_id: event.tenantId } : { job: event.job };
    switch (event.type) {
      case 'job-started':
        started.inc(labels);
        return;
      case 'job-succeeded':
        succeeded.inc(labels);
        duration.observe({ job: event.job, outcome: 'succeeded' }, event.durationMs / 1000);
        return;
      case 'job-failed':
        failed.inc(labels);
        duration.observe({ job: event.job, outcome: 'failed' }, event.durationMs / 1000);
        return;
      case 'job-skipped':
        skipped.inc(labels);
        return;
    }
  };
}
