/**
 * Wires the serving side of core together, the same way for the server, the
 * worker and tests: tenant cache + pool manager + status listener.
 *
 * A status notification is only a hint: the tenant's row is re-read
 * (coalesced per tenant, see StatusVerifier) and, unless the row says the
 * tenant is active, its pool is retired (it closes after in-flight work).
 * Subscribers hear what the row says, not what the message claimed. Every
 * verified hint also drops the tenant's cached secret (a rotation NOTIFYs on
 * the same channel) and retires a pool whose login or address the row no
 * longer names (a move switches the address and NOTIFYs).
 * A listener reconnect means notifications may have been lost: the whole
 * cache and every cached secret are dropped and every open pool's tenant is
 * looked up again.
 */
import type pg from 'pg';
import type { Config } from '../config.js';
import type { ConnectionSettings } from '../pg/connection-settings.js';
import { PoolManager, type PoolCloseResult, type PoolEvent, type PoolLimits } from './pool-manager.js';
import { StatusListener, type ListenerState } from './status-listener.js';
import { StatusVerifier } from './status-verifier.js';
import { TenantCache, type TenantCacheOptions, type TenantLookup } from './tenant-cache.js';
import type { TenantSecretReader } from './tenant-login.js';
import type { ServerConnectionLimits } from './server-budgets.js';
import type { TenantStatusNotification } from '../tenants/tenant-registry.js';
import { isUuid } from '../tenants/tenant.js';
import { applicationName } from '../pg/application-name.js';

export interface TenantServicesDeps {
  config: Config;
  connections: ConnectionSettings;
  registry: TenantLookup;
  /** Passwords of tenants with their own login role (the runtime's TenantSecretStore). */
  secrets: TenantSecretReader;
  /** The server registry (the runtime's ServerDirectory): each server's connection budget. */
  servers?: ServerConnectionLimits;
}

export interface TenantServicesOptions {
  /** Overrides of the limits from config (TENANT_MAX_POOLS and friends). */
  limits?: Partial<PoolLimits>;
  cache?: TenantCacheOptions;
  /** Extra pg pool options for every tenant pool. */
  poolConfig?: Partial<pg.PoolConfig>;
  /**
   * Who this process is in `pg_stat_activity`: tenant connections are
   * `metapus:<component>:<slug>`, the status listener `metapus:<component>:listener`
   * (default `app`; the reference server and worker say `server` and `worker`).
   */
  component?: string;
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
  /** Status hints whose row re-read is still in flight. */
  pendingStatusChecks(): number;
  /** Closes the pool manager (draining leases up to the deadline), then the listener. */
  close(options?: { deadlineMs?: number }): Promise<PoolCloseResult>;
}

export async function openTenantServices(deps: TenantServicesDeps, options: TenantServicesOptions = {}): Promise<TenantServices> {
  const cache = new TenantCache(deps.registry, options.cache);
  const pools = new PoolManager({
    credentials: deps.connections.tenant,
    secrets: deps.secrets,
    limits: { ...deps.config.pool, ...options.limits },
    tenants: cache,
    component: options.component ?? 'app',
    ...(deps.servers ? { servers: deps.servers } : {}),
    ...(options.poolConfig ? { poolConfig: options.poolConfig } : {}),
    ...(options.onPoolEvent ? { onEvent: options.onPoolEvent } : {}),
  });
  const wiring: Wiring = { cache, pools, subscribers: new Set(), hints: new Map() };
  const verifier = verifyStatusHints(wiring);
  const listener = options.listen === false ? undefined : listenForStatus(deps, options, wiring, verifier);
  // A meta database that is briefly down at start is fine: it keeps retrying.
  await listener?.start();

  return {
    cache,
    pools,
    listener,
    pendingStatusChecks: () => verifier.pending,
    subscribe(subscriber) {
      wiring.subscribers.add(subscriber);
      return () => wiring.subscribers.delete(subscriber);
    },
    async close(closeOptions = {}) {
      verifier.close();
      try {
        return await pools.close(closeOptions);
      } finally {
        await listener?.close();
      }
    },
  };
}

/** What the status steps share. */
interface Wiring {
  cache: TenantCache;
  pools: PoolManager;
  subscribers: Set<StatusSubscriber>;
  /** The latest notification per tenant, kept only for its timestamp and previous status. */
  hints: Map<string, TenantStatusNotification>;
}

function notify(subscribers: Set<StatusSubscriber>, fn: (s: StatusSubscriber) => void): void {
  for (const s of subscribers) {
    try {
      fn(s);
    } catch {
      // One faulty subscriber must not stop the others (or the listener).
    }
  }
}

/** Re-reads the row behind each hint; retires the pool unless the row says active, and tells subscribers what the row says. */
function verifyStatusHints({ cache, pools, subscribers, hints }: Wiring): StatusVerifier {
  return new StatusVerifier({
    reread: (id) => cache.refresh(id),
    apply(id, tenant) {
      const hint = hints.get(id);
      hints.delete(id);
      // A credential change (rotation, isolation) arrives on the same channel.
      pools.refreshLogin(id, tenant);
      if (!tenant || tenant.status !== 'active') pools.retireTenant(id, 'status');
      const verified: TenantStatusNotification = {
        id,
        slug: tenant?.slug ?? hint?.slug ?? '',
        // A row that is gone is as good as deleted.
        status: tenant?.status ?? 'deleted',
        previousStatus: hint?.previousStatus ?? null,
        at: hint?.at ?? new Date().toISOString(),
      };
      notify(subscribers, (s) => s.onStatusChange?.(verified));
    },
    // The meta database is unreachable: the listener reconnect that follows re-checks everything.
    onError: (id) => hints.delete(id),
  });
}

function listenForStatus(deps: TenantServicesDeps, options: TenantServicesOptions, wiring: Wiring, verifier: StatusVerifier): StatusListener {
  return new StatusListener({
    connection: { connectionString: deps.connections.metaUrl, application_name: applicationName(options.component ?? 'app', 'listener') },
    ...options.listener,
    onNotification(n) {
      if (!isUuid(n.id)) return;
      // The decision comes from the row, not the message.
      wiring.hints.set(n.id.toLowerCase(), n);
      verifier.hint(n.id);
    },
    onReconnect: () => resync(wiring),
    ...(options.onListenerState ? { onStateChange: options.onListenerState } : {}),
  });
}

/** Notifications may have been lost: forget every cached row and look up every open pool's tenant again. */
function resync({ cache, pools, subscribers }: Wiring): void {
  cache.invalidateAll();
  pools.forgetLogins();
  for (const id of pools.tenantIds()) {
    cache.get(id).then(
      (tenant) => {
        if (tenant) pools.refreshLogin(id, tenant);
        if (!tenant || tenant.status !== 'active') pools.retireTenant(id, 'status');
      },
      () => undefined,
    );
  }
  notify(subscribers, (s) => s.onResync?.());
}
