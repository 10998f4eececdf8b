/**
 * A fleet migration run's numbers for batch-job monitoring, in the Prometheus
 * text format: written to a file for node_exporter's textfile collector
 * (`tenant migrate --metrics-file`), or pushed to a Pushgateway
 * (`--pushgateway`). Short-lived jobs cannot be scraped, so they leave their
 * last run's values behind; these are gauges describing that run.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { Gauge, Registry } from 'prom-client';
import { FLEET_TENANT_STATUSES } from '../migrate/fleet-result.js';
import type { FleetOutcome } from '../migrate/fleet-types.js';
import { TenantToolkitError, messageOf } from '../errors.js';
import { redact, redactUrl } from '../redact.js';

const RUN_STATUSES = ['succeeded', 'failed', 'interrupted', 'running'] as const;

/** The run's metrics as Prometheus text. `now` is the end of the run (seconds since the epoch come from it). */
export async function fleetRunMetrics(outcome: FleetOutcome, now: Date = new Date()): Promise<string> {
  const registry = new Registry();
  const registers = [registry];
  const direction = outcome.direction;
  const tenants = new Gauge({
    name: 'tenant_migrate_tenants',
    help: 'Tenants of the last fleet migration run by result (migrated, up-to-date, failed, skipped, ...), over every runner',
    labelNames: ['direction', 'status'],
    registers,
  });
  for (const status of FLEET_TENANT_STATUSES) tenants.set({ direction, status }, outcome.counts[status] ?? 0);
  const migrations = new Gauge({
    name: 'tenant_migrate_migrations',
    help: 'Migrations this runner applied (up) or reverted (down) in the last run, over all its tenants',
    labelNames: ['direction'],
    registers,
  });
  migrations.set(
    { direction },
    outcome.results.reduce((n, r) => n + r.applied.length + r.reverted.length, 0),
  );
  const status = new Gauge({
    name: 'tenant_migrate_run_status',
    help: "The last run's status: 1 for the status it ended with, 0 for the others",
    labelNames: ['direction', 'status'],
    registers,
  });
  for (const s of RUN_STATUSES) status.set({ direction, status: s }, outcome.status === s ? 1 : 0);
  new Gauge({ name: 'tenant_migrate_run_duration_seconds', help: 'How long the last run took on this runner', registers }).set(
    outcome.durationMs / 1000,
  );
  new Gauge({ name: 'tenant_migrate_run_timestamp_seconds', help: 'When the last run ended (Unix time)', registers }).set(
    Math.floor(now.getTime() / 1000),
  );
  if (outcome.status === 'succeeded') {
    new Gauge({
      name: 'tenant_migrate_last_success_timestamp_seconds',
      help: 'When the last run ended successfully (Unix time); absent after a failed run',
      registers,
    }).set(Math.floor(now.getTime() / 1000));
  }
  return registry.metrics();
}

/**
 * Writes `text` to `file` atomically: to a temporary file beside it, then
 * renamed over it, so the textfile collector never reads half a file.
 */
export async function writeMetricsFile(file: string, text: string): Promise<void> {
  const target = path.resolve(file);
  // node_exporter reads *.prom only: the temporary name must not end in .prom.
  const temporary = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.tmp`);
  try {
    await fs.writeFile(temporary, text, { mode: 0o644 });
    await fs.rename(temporary, target);
  } catch (err) {
    await fs.rm(temporary, { force: true }).catch(() => undefined);
    throw new TenantToolkitError('USAGE', `cannot write the metrics file "${file}": ${messageOf(err)}`, { cause: err });
  }
}

/** PUTs `text` to a Prometheus Pushgateway as the group `job/<job>` (replacing that group's metrics). */
export async function pushMetrics(gatewayUrl: string, job: string, text: string, fetchImpl: typeof fetch = fetch): Promise<void> {
  const url = `${gatewayUrl.replace(/\/+$/, '')}/metrics/job/${encodeURIComponent(job)}`;
  let response: Response;
  try {
    response = await fetchImpl(url, { method: 'PUT', body: text, headers: { 'content-type': 'text/plain; version=0.0.4' } });
  } catch (err) {
    throw new TenantToolkitError('USAGE', `cannot push metrics to ${redactUrl(gatewayUrl)}: ${redact(messageOf(err))}`, { cause: err });
  }
  if (!response.ok) {
    throw new TenantToolkitError('USAGE', `the Pushgateway at ${redactUrl(gatewayUrl)} answered ${response.status} ${response.statusText}`);
  }
}
