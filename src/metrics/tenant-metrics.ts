/**
 * The toolkit's metrics on the caller's prom-client registry, in one call:
 *
 *   const registry = new Registry();
 *   collectDefaultMetrics({ register: registry });         // process metrics, if you want them
 *   const metrics = registerTenantMetrics(registry, services, { perTenant: config.metrics.perTenant });
 *   // HTTP: metrics.observeRequest({ method, route, status, durationSeconds, errorCode })
 *   // worker: new MultiTenantWorker({ ..., onEvent: metrics.observeWorkerEvent })
 *   // GET /metrics: metricsHandler(registry)
 *
 * Cardinality guard: no series carries a tenant id unless `perTenant` is true
 * (TENANT_METRICS_PER_TENANT=1): a fleet of 10,000 tenants would otherwise
 * make 10,000 series per metric.
 */
import type { Registry } from 'prom-client';
import { registerPoolMetrics, type ObservedServices } from './pool-metrics.js';
import { registerHttpMetrics, type ObserveRequest } from './http-metrics.js';
import { registerWorkerMetrics, type ObserveWorkerEvent } from './worker-metrics.js';

export interface TenantMetricsOptions {
  /** Label tenant-level series with `tenant_id` (TENANT_METRICS_PER_TENANT). Default false. */
  perTenant?: boolean;
  /** Register the HTTP metrics (default true). */
  http?: boolean;
  /** Register the worker job metrics (default true). */
  worker?: boolean;
}

export interface TenantMetrics {
  /** Count one answered HTTP request (call it when the response finishes). */
  observeRequest: ObserveRequest;
  /** Pass the worker's events here (MultiTenantWorkerOptions.onEvent). */
  observeWorkerEvent: ObserveWorkerEvent;
  /** Stops observing the pool manager (the metrics stay registered). */
  close(): void;
}

export function registerTenantMetrics(registry: Registry, services: ObservedServices, options: TenantMetricsOptions = {}): TenantMetrics {
  const perTenant = options.perTenant === true;
  const stop = registerPoolMetrics(registry, services, perTenant);
  const observeRequest = options.http === false ? () => undefined : registerHttpMetrics(registry, perTenant);
  const observeWorkerEvent = options.worker === false ? () => undefined : registerWorkerMetrics(registry, perTenant);
  return { observeRequest, observeWorkerEvent, close: stop };
}
