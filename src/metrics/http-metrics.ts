/**
 * HTTP request metrics: requests by method, route template and status, their
 * duration, and the error codes answered (the tenant errors: 400 missing or
 * invalid id, 403 suspended or deleted, 404 unknown, 503 unavailable or pool
 * exhausted, and the rest of the error table). The route is the template
 * (`/api/v1/catalogs/currencies/:id`), never the raw path: ids in paths would
 * make a series per record.
 */
import { Counter, Histogram, type Registry } from 'prom-client';

export interface RequestObservation {
  method: string;
  /** The route template, or `unmatched` for a path no route knows. */
  route: string;
  status: number;
  durationSeconds: number;
  /** The error code answered (a 4xx/5xx body's `code`), if any. */
  errorCode?: string | undefined;
  /** Only used as a label with perTenant. */
  tenantId?: string | undefined;
}

/** Seconds: a cached lease and a query take a millisecond or two; the tail is a cold pool or a slow query. */
export const HTTP_DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

export type ObserveRequest = (request: RequestObservation) => void;

export function registerHttpMetrics(registry: Registry, perTenant: boolean): ObserveRequest {
  const tenantLabel = perTenant ? ['tenant_id'] : [];
  const registers = [registry];
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by method, route template and status code',
    labelNames: ['method', 'route', 'status', ...tenantLabel],
    registers,
  });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration from arrival to the last byte written, by method, route template and status code',
    labelNames: ['method', 'route', 'status'],
    buckets: HTTP_DURATION_BUCKETS,
    registers,
  });
  const errors = new Counter({
    name: 'tenant_http_errors_total',
    help: 'HTTP error answers by error code (TENANT_NOT_FOUND, TENANT_SUSPENDED, POOL_EXHAUSTED, ...)',
    labelNames: ['code', ...tenantLabel],
    registers,
  });
  return (r) => {
    // A method outside the list is a client's invention: one series for all of them.
    const method = METHODS.has(r.method) ? r.method : 'OTHER';
    const status = String(r.status);
    const labels = { method, route: r.route, status };
    const tenant = perTenant && r.tenantId ? { tenant_id: r.tenantId } : {};
    requests.inc({ ...labels, ...tenant });
    duration.observe(labels, r.durationSeconds);
    if (r.errorCode) errors.inc({ code: r.errorCode, ...tenant });
  };
}
