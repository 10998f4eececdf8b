/**
 * Metrics of the serving core: the pool manager, the tenant cache and the
 * status listener. Gauges and most counters are read from their stats() when
 * Prometheus scrapes (nothing is done per request for them); evictions,
 * acquire timeouts, failed connections and failed health checks come from
 * pool events, and the acquire wait from the manager's observer, which is
 * only called while someone observes.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { PoolCloseReason } from '../pools/tenant-pool.js';
import type { PoolManager, PoolObservation } from '../pools/pool-manager.js';
import type { TenantCache } from '../pools/tenant-cache.js';
import type { StatusListener } from '../pools/status-listener.js';

/** What the pool metrics read: TenantServices has all three. */
export interface ObservedServices {
  pools: Pick<PoolManager, 'stats' | 'observe'>;
  cache?: Pick<TenantCache, 'stats'>;
  listener?: Pick<StatusListener, 'stats'> | undefined;
}

/** The eviction reasons we count, from why a pool closed (shutdown is not an eviction). */
export type EvictionReason = 'idle' | 'lru' | 'status' | 'health';

export function evictionReason(reason: PoolCloseReason): EvictionReason | undefined {
  switch (reason) {
    case 'idle':
      return 'idle';
    case 'evicted':
      return 'lru';
    case 'status':
    case 'replaced':
    case 'credentials':
      // The tenant's row changed: suspended, deleted, moved, or its login changed.
      return 'status';
    case 'unhealthy':
      return 'health';
    case 'shutdown':
      return undefined;
  }
}

/** Seconds: from a cached lease (well under 1ms) to a cold pool behind a full table (the acquire timeout). */
export const ACQUIRE_WAIT_BUCKETS = [0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A counter whose value is a running total kept elsewhere: it takes the growth at each scrape. */
export function totalCounter(registry: Registry, name: string, help: string, read: () => number): Counter {
  let seen = 0;
  return new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      const now = read();
      if (now > seen) this.inc(now - seen);
      seen = Math.max(seen, now);
    },
  });
}

/** Registers the pool, cache and listener metrics; returns the function that stops observing the pools. */
export function registerPoolMetrics(registry: Registry, services: ObservedServices, perTenant: boolean): () => void {
  const { pools, cache, listener } = services;
  const tenantLabel = perTenant ? ['tenant_id'] : [];
  const registers = [registry];

  new Gauge({
    name: 'tenant_pools',
    help: 'Tenant pools by state: open (serving), draining (retired, finishing its leases), closing',
    labelNames: ['state'],
    registers,
    collect() {
      const s = pools.stats();
      this.set({ state: 'open' }, s.open);
      this.set({ state: 'draining' }, s.draining);
      this.set({ state: 'closing' }, s.closing);
    },
  });
  new Gauge({
    name: 'tenant_pools_max',
    help: 'The most tenant pools this process keeps (TENANT_MAX_POOLS)',
    registers,
    collect() {
      this.set(pools.stats().maxPools);
    },
  });
  new Gauge({
    name: 'tenant_pool_connections',
    help: 'Connections to tenant databases by server and state, idle or used (OpenTelemetry db.client.connection.count)',
    labelNames: ['server', 'state'],
    registers,
    collect() {
      this.reset();
      const s = pools.stats();
      const byServer = new Map<string, { idle: number; used: number }>();
      for (const server of s.servers) byServer.set(server.server, { idle: 0, used: 0 });
      for (const t of s.tenants) {
        const key = t.server ?? '';
        const row = byServer.get(key) ?? { idle: 0, used: 0 };
        row.idle += t.connections.idle;
        row.used += t.connections.total - t.connections.idle;
        byServer.set(key, row);
      }
      for (const [server, row] of byServer) {
        this.set({ server, state: 'idle' }, row.idle);
        this.set({ server, state: 'used' }, row.used);
      }
    },
  });
  new Gauge({
    name: 'tenant_pool_connection_limit',
    help: 'The connection budget of this process on each server (OpenTelemetry db.client.connection.max); absent while measured',
    labelNames: ['server'],
    registers,
    collect() {
      this.reset();
      for (const server of pools.stats().servers) if (server.limit !== undefined) this.set({ server: server.server }, server.limit);
    },
  });
  new Gauge({
    name: 'tenant_pool_pending_requests',
    help: 'Requests waiting for a tenant pool or a connection (OpenTelemetry db.client.connection.pending_requests)',
    registers,
    collect() {
      const s = pools.stats();
      this.set(s.waitingForPool + s.connections.waiting + s.servers.reduce((n, server) => n + server.waiting, 0));
    },
  });
  new Gauge({
    name: 'tenant_pool_leases',
    help: 'Leases held on tenant pools right now (requests and jobs in a tenant scope)',
    registers,
    collect() {
      this.set(pools.stats().leases);
    },
  });
  totalCounter(registry, 'tenant_pools_opened_total', 'Tenant pools opened', () => pools.stats().counters.opened);
  totalCounter(
    registry,
    'tenant_pool_connections_opened_total',
    'Connections opened to tenant databases',
    () => pools.stats().counters.connectionsOpened,
  );
  totalCounter(
    registry,
    'tenant_pool_server_connection_evictions_total',
    "Idle connections of one pool closed to make room for another's on a full server",
    () => pools.stats().servers.reduce((n, server) => n + server.evicted, 0),
  );

  const acquireWait = new Histogram({
    name: 'tenant_pool_acquire_wait_seconds',
    help: "Time to lease a tenant's pool: cache lookup, pool creation and waiting for a slot (OpenTelemetry db.client.connection.wait_time)",
    buckets: ACQUIRE_WAIT_BUCKETS,
    registers,
  });
  const acquireTimeouts = new Counter({
    name: 'tenant_pool_acquire_timeouts_total',
    help: 'Leases or connections refused after TENANT_ACQUIRE_TIMEOUT (every pool or the server budget busy): HTTP 503 POOL_EXHAUSTED',
    labelNames: tenantLabel,
    registers,
  });
  const evictions = new Counter({
    name: 'tenant_pool_evictions_total',
    help: 'Tenant pools taken out of service, by reason: idle, lru (room for another tenant), status (row changed), health (failed check)',
    labelNames: ['reason', ...tenantLabel],
    registers,
  });
  const connectFailures = new Counter({
    name: 'tenant_pool_connect_failures_total',
    help: 'New connections to a tenant database that failed to open (database down, login refused, timed out)',
    labelNames: tenantLabel,
    registers,
  });
  const healthFailures = new Counter({
    name: 'tenant_pool_health_check_failures_total',
    help: 'Health checks of an open pool that found its database unreachable (the pool is then retired)',
    labelNames: tenantLabel,
    registers,
  });
  // Pre-create the label sets that exist without a tenant label, so they read 0 before the first event.
  if (!perTenant) {
    acquireTimeouts.inc(0);
    connectFailures.inc(0);
    healthFailures.inc(0);
    for (const reason of ['idle', 'lru', 'status', 'health'] as const) evictions.inc({ reason }, 0);
  }
  const tenant = (o: { tenantId: string }) => (perTenant ? { tenant_id: o.tenantId } : {});

  const stop = pools.observe((o: PoolObservation) => {
    switch (o.type) {
      case 'acquired':
        acquireWait.observe(o.waitMs / 1000);
        return;
      case 'acquire-timeout':
        acquireTimeouts.inc(tenant(o));
        return;
      case 'pool-closed': {
        const reason = evictionReason(o.reason);
        if (reason) evictions.inc({ reason, ...tenant(o) });
        return;
      }
      case 'connect-failed':
        connectFailures.inc(tenant(o));
        return;
      case 'pool-unhealthy':
        healthFailures.inc(tenant(o));
        return;
      default:
        return;
    }
  });

  if (cache) {
    totalCounter(registry, 'tenant_cache_hits_total', 'Tenant lookups answered from the cache', () => cache.stats().hits);
    totalCounter(registry, 'tenant_cache_misses_total', 'Tenant lookups not in the cache (or expired)', () => cache.stats().misses);
    totalCounter(registry, 'tenant_cache_meta_lookups_total', 'Tenant rows read from the meta database', () => cache.stats().lookups);
    totalCounter(
      registry,
      'tenant_cache_stale_served_total',
      'Expired tenants served because the meta database was unreachable',
      () => cache.stats().staleServed,
    );
    new Gauge({
      name: 'tenant_cache_entries',
      help: 'Tenants in the cache (found or not found)',
      registers,
      collect() {
        this.set(cache.stats().size);
      },
    });
  }
  if (listener) {
    new Gauge({
      name: 'tenant_status_listener_connected',
      help: '1 while the status listener is LISTENing on the meta database, else 0',
      registers,
      collect() {
        this.set(listener.stats().state === 'listening' ? 1 : 0);
      },
    });
    totalCounter(
      registry,
      'tenant_status_listener_reconnects_total',
      'Reconnects of the status listener (each drops the tenant cache)',
      () => listener.stats().reconnects,
    );
    totalCounter(registry, 'tenant_status_notifications_total', 'Status notifications received', () => listener.stats().notifications);
  }
  return stop;
}
