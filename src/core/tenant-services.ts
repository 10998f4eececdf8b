/**
 * Wires the serving side of core together, the same way for the server, the
 * worker and tests: tenant cache + pool manager + status listener.
 *
 * A status notification invalidates the tenant's cache entry and, unless the
 * tenant is active, retires its pool (it closes after in-flight work). A
 * listener reconnect means notifications may have been lost: the whole cache
 * is dropped and every open pool's tenant is looked up again.
 */
import type pg from 'pg';
import type { Config } from '../config.js';
import type { ConnectionSettings } from './connection-settings.js';
import { PoolManager, type PoolCloseResult, type PoolEvent, type PoolLimits } from './pool-manager.js';
import { StatusListener, type ListenerState } from './status-listener.js';
import { TenantCache, type TenantCacheOptions, type TenantLookup } from './tenant-cache.js';
import type { TenantStatusNotification } from './tenant-registry.js';

export interface TenantServicesDeps {
  config: Config;
  connections: ConnectionSettings;
  registry: TenantLookup;
}

export interface TenantServicesOptions {
  /** Overrides of the limits from config (TENANT_MAX_POOLS and friends). */
  limits?: Partial<PoolLimits>;
  cache?: TenantCacheOptions;
  /** Extra pg pool options for every tenant pool (e.g. application_name). */
  poolConfig?: Partial<pg.PoolConfig>;
  /** LISTEN for status changes (default true). */
  listen?: boolean;
  listener?: { backoffMs?: { initial: number; max: number }; pingIntervalMs?: number };
  onPoolEvent?: (event: PoolEvent) => void;
  onListenerState?: (state: ListenerState, error?: string) => void;
}

export interface StatusSubscriber {
  onStatusChange?(notification: TenantStatusNotification): void;
  /** Notifications may have been missed (listener reconnected): re-read whatever you derived from them. */
  onResync?(): void;
}

export interface TenantServices {
  cache: TenantCache;
  pools: PoolManager;
  listener: StatusListener | undefined;
  subscribe(subscriber: StatusSubscriber): () => void;
  /** Closes the pool manager (draining leases up to the deadline), then the listener. */
  close(options?: { deadlineMs?: number }): Promise<PoolCloseResult>;
}

export async function openTenantServices(deps: TenantServicesDeps, options: TenantServicesOptions = {}): Promise<TenantServices> {
  const cache = new TenantCache(deps.registry, options.cache);
  const pools = new PoolManager({
    credentials: deps.connections.tenant,
    limits: { ...deps.config.pool, ...options.limits },
    tenants: cache,
    ...(options.poolConfig ? { poolConfig: options.poolConfig } : {}),
    ...(options.onPoolEvent ? { onEvent: options.onPoolEvent } : {}),
  });
  const subscribers = new Set<StatusSubscriber>();
  const each = (fn: (s: StatusSubscriber) => void) => {
    for (const s of subscribers) {
      try {
        fn(s);
      } catch {
        // One faulty subscriber must not stop the others (or the listener).
      }
    }
  };

  let listener: StatusListener | undefined;
  if (options.listen !== false) {
    listener = new StatusListener({
      connection: { connectionString: deps.connections.metaUrl },
      ...options.listener,
      onNotification(n) {
        cache.invalidate(n.id);
        if (n.status !== 'active') pools.retireTenant(n.id, 'status');
        each((s) => s.onStatusChange?.(n));
      },
      onReconnect() {
        cache.invalidateAll();
        for (const id of pools.tenantIds()) {
          cache.get(id).then(
            (tenant) => {
              if (!tenant || tenant.status !== 'active') pools.retireTenant(id, 'status');
            },
            () => undefined,
          );
        }
        each((s) => s.onResync?.());
      },
      ...(options.onListenerState ? { onStateChange: options.onListenerState } : {}),
    });
    // A meta database that is briefly down at start is fine: it keeps retrying.
    await listener.start();
  }

  return {
    cache,
    pools,
    listener,
    subscribe(subscriber) {
      subscribers.add(subscriber);
      return () => subscribers.delete(subscriber);
    },
    async close(closeOptions = {}) {
      try {
        return await pools.close(closeOptions);
      } finally {
        await listener?.close();
      }
    },
  };
}
