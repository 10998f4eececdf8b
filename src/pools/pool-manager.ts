/**
 * One pg.Pool per tenant behind a capped, reference-counted table.
 *
 * - Pools are created lazily; concurrent first requests for a tenant share
 *   one slot request (single flight), and one waiter giving up does not fail
 *   the others.
 * - The table holds at most `maxPools` pools, counting pools that are still
 *   draining or closing, and each pool at most `maxConnsPerPool` connections.
 * - Connections are counted per server (server-budget.ts): at most that
 *   server's budget from this manager, pools growing one connection at a
 *   time under demand; a full server closes an idle connection of another
 *   pool (least demand, then least recently used) before anyone waits.
 * - When the table is full the least recently used pool without leases is
 *   evicted; if every pool is leased, acquire waits up to `acquireTimeoutMs`
 *   and then fails with PoolExhaustedError (HTTP 503).
 * - A pool is never ended under a lease: retiring a busy pool (status change,
 *   failed health check, a new address or login) only takes it out of the
 *   table; it closes when its last lease is released.
 */
import type pg from 'pg';
import { PoolExhaustedError, ShuttingDownError, TenantNotFoundError, messageOf } from '../errors.js';
import type { TenantCredentials } from '../pg/connection-settings.js';
import { RecencyMap } from './recency-map.js';
import { SlotQueue, type SlotRequest } from './slot-queue.js';
import type { Tenant } from '../tenants/tenant.js';
import { Lease, assertServable, cancelledError, type TenantLease } from './tenant-lease.js';
import { raceDeadline, settlesWithin } from '../deadline.js';
import { TenantPool, type PoolCloseReason, type TenantPoolStats } from './tenant-pool.js';
import { TenantLogins, sameLogin, type TenantSecretReader } from './tenant-login.js';
import { ServerBudgets, type ServerConnectionLimits } from './server-budgets.js';
import type { ServerBudgetStats } from './server-budget.js';
import { TenantDemand } from './tenant-demand.js';
import { applicationName } from '../pg/application-name.js';
import { withSpan } from '../tracing.js';

export { assertServable, cancelledError, type TenantLease } from './tenant-lease.js';

export interface PoolLimits {
  maxPools: number;
  maxConnsPerPool: number;
  idleTimeoutMs: number;
  connectTimeoutMs: number;
  acquireTimeoutMs: number;
  healthCheckIntervalMs: number;
}

/** Where tenants come from: the TenantCache, whose version changes on every invalidation. */
export interface TenantSource {
  get(tenantId: string, signal?: AbortSignal): Promise<Tenant | undefined>;
  version(tenantId: string): number;
  /** A fresh cached tenant without any I/O, if the source has one (enables tryAcquire). */
  peek?(tenantId: string): Tenant | undefined;
}

export type PoolEvent =
  | { type: 'pool-opened'; tenantId: string; slug: string }
  | { type: 'pool-closed'; tenantId: string; slug: string; reason: PoolCloseReason }
  | { type: 'pool-unhealthy'; tenantId: string; slug: string; error: string }
  | { type: 'client-error'; tenantId: string; slug: string; error: string }
  | { type: 'acquire-timeout'; tenantId: string; slug: string; waitedMs: number }
  /** A new connection to the tenant's database failed to open (database down, login refused). */
  | { type: 'connect-failed'; tenantId: string; slug: string; error: string };

/**
 * What observers (metrics) hear besides the PoolEvents: every lease handed
 * out and how long it waited. Only made when someone observes.
 */
export type PoolObservation = PoolEvent | { type: 'acquired'; tenantId: string; slug: string; waitMs: number };

export type PoolObserver = (observation: PoolObservation) => void;

export interface PoolManagerOptions {
  /** The shared login: tenants without their own role (appRole null) use it; host/port/sslmode defaults for all. */
  credentials: TenantCredentials;
  /** Where tenants with their own login role find its password (the TenantSecretStore). */
  secrets?: TenantSecretReader;
  limits: PoolLimits;
  tenants: TenantSource;
  /** Extra pg pool options (e.g. application_name); limits always win. */
  poolConfig?: Partial<pg.PoolConfig>;
  /**
   * The server registry (the runtime's ServerDirectory): a server's
   * `connections` is this manager's budget there. Without it, or where it is
   * null, the budget is measured on the server (pool-budget.ts).
   */
  servers?: ServerConnectionLimits;
  /**
   * Who the pools are, for `pg_stat_activity`: each tenant connection's
   * application_name is `metapus:<component>:<tenant slug>` (server, worker).
   * Default `app`. An application_name in poolConfig wins.
   */
  component?: string;
  onEvent?: (event: PoolEvent) => void;
}

export interface PoolManagerStats {
  pools: number;
  open: number;
  draining: number;
  closing: number;
  maxPools: number;
  maxConnsPerPool: number;
  maxConnections: number;
  connections: { total: number; idle: number; waiting: number };
  leases: number;
  waitingForPool: number;
  /** Per server: its connection budget and how much of it is used. */
  servers: ServerBudgetStats[];
  /** Since start: pools opened/closed/evicted/closed idle/found unhealthy, acquire timeouts, server connections opened. */
  counters: {
    opened: number;
    closed: number;
    evicted: number;
    idleClosed: number;
    unhealthy: number;
    acquireTimeouts: number;
    connectionsOpened: number;
  };
  tenants: TenantPoolStats[];
}

export interface PoolCloseResult {
  /** true when every lease was released before the deadline. */
  drained: boolean;
  leasesAtDeadline: number;
  poolsClosed: number;
}

export class PoolManager {
  private readonly live = new RecencyMap<string, TenantPool>();
  /** Every pool not yet fully closed: open, draining and closing. Its size is what the cap limits. */
  private readonly all = new Set<TenantPool>();
  private readonly queue: SlotQueue;
  private closingCount = 0;
  private leaseCount = 0;
  private closingDown = false;
  private drainWaiters: (() => void)[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly counters = { opened: 0, closed: 0, evicted: 0, idleClosed: 0, unhealthy: 0, acquireTimeouts: 0, connectionsOpened: 0 };
  private readonly limits: PoolLimits;
  private readonly logins: TenantLogins;
  private readonly budgets: ServerBudgets;
  /** Requests per tenant lately: which idle connections a full server closes first. */
  private readonly demand = new TenantDemand();
  private readonly releaseLease = (entry: TenantPool) => this.released(entry);
  /** Metrics and other observers (observe()); empty costs nothing on the request path. */
  private readonly observers = new Set<PoolObserver>();

  constructor(private readonly options: PoolManagerOptions) {
    this.limits = { ...options.limits };
    this.logins = new TenantLogins(options.credentials, options.secrets);
    this.queue = new SlotQueue(this.limits.acquireTimeoutMs, (request) => this.timedOut(request));
    this.budgets = new ServerBudgets(options.servers, {
      timeoutMs: this.limits.acquireTimeoutMs,
      onTimeout: (member, waitedMs) => this.budgetTimedOut(member as TenantPool, waitedMs),
      // A server that will not say what it has gets what the table could hold.
      fallback: this.limits.maxPools * this.limits.maxConnsPerPool,
      demand: (member) => this.demand.of((member as TenantPool).tenantId),
    });
    // Idle pools are looked at a few times per idle timeout, at most every 30s.
    const sweepEvery = Math.min(30_000, Math.max(50, Math.floor(this.limits.idleTimeoutMs / 4)));
    this.timers.push(setInterval(() => this.closeIdle(), sweepEvery).unref());
    this.timers.push(setInterval(() => void this.checkHealth(), this.limits.healthCheckIntervalMs).unref());
  }

  get isClosing(): boolean {
    return this.closingDown;
  }

  /**
   * Tells `observer` every pool event and every lease handed out (with its
   * wait); returns the function that stops it. Observers must not throw.
   */
  observe(observer: PoolObserver): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  /**
   * Leases the tenant's pool, creating it if needed. Release the lease when
   * done. Traced as the span `tenant.pool.acquire` (a no-op without an
   * OpenTelemetry SDK).
   */
  acquire(tenantId: string, options: { signal?: AbortSignal } = {}): Promise<TenantLease> {
    const started = performance.now();
    return withSpan('tenant.pool.acquire', { 'tenant.id': tenantId }, async (span) => {
      const lease = await this.leaseFor(tenantId, options.signal);
      span.setAttribute('tenant.slug', lease.tenant.slug);
      if (this.observers.size > 0) this.acquired(lease.tenant, performance.now() - started);
      return lease;
    });
  }

  private async leaseFor(tenantId: string, signal: AbortSignal | undefined): Promise<TenantLease> {
    for (let attempt = 0; ; attempt++) {
      this.assertOpen();
      if (signal?.aborted) throw cancelledError(signal);
      const version = this.options.tenants.version(tenantId);
      let tenant: Tenant | undefined;
      try {
        tenant = await this.options.tenants.get(tenantId, signal);
      } catch (err) {
        if (signal?.aborted) throw cancelledError(signal);
        throw err;
      }
      this.assertOpen();
      // Invalidated while we looked (e.g. suspended): look again rather than act on a stale status.
      if (this.options.tenants.version(tenantId) !== version && attempt < 3) continue;
      if (!tenant) throw new TenantNotFoundError(tenantId);
      assertServable(tenant);
      this.demand.hit(tenant.id);
      const entry = this.live.get(tenant.id);
      if (entry && sameAddress(entry.tenant, tenant) && sameLogin(entry.tenant, tenant)) {
        this.live.touch(tenant.id);
        return this.lease(entry, tenant);
      }
      if (entry) this.retire(entry, sameAddress(entry.tenant, tenant) ? 'credentials' : 'replaced');
      return this.waitForPool(tenant, signal);
    }
  }

  /**
   * The synchronous fast path of acquire(): a lease when the tenant is cached,
   * active and already has an open pool; undefined otherwise (call acquire()).
   */
  tryAcquire(tenantId: string): TenantLease | undefined {
    if (this.closingDown) return undefined;
    const tenant = this.options.tenants.peek?.(tenantId);
    if (!tenant || tenant.status !== 'active') return undefined;
    const entry = this.live.get(tenant.id);
    if (!entry || !sameAddress(entry.tenant, tenant) || !sameLogin(entry.tenant, tenant)) return undefined;
    this.demand.hit(tenant.id);
    this.live.touch(tenant.id);
    if (this.observers.size > 0) this.acquired(tenant, 0);
    return this.lease(entry, tenant);
  }

  /** Takes the tenant's pool out of service; it closes once in-flight leases are released. */
  retireTenant(tenantId: string, reason: PoolCloseReason = 'status'): void {
    const entry = this.live.get(tenantId);
    if (entry) this.retire(entry, reason);
    this.queue.markRetired(tenantId);
  }

  /**
   * A status/credential hint was verified against the tenant's row: its
   * cached secret is dropped (the next connection reads it again), and an
   * open pool whose address (a move: database, host, port, server) or login
   * (isolated, re-owned) no longer matches the row is retired; in-flight
   * leases finish on it, new requests get a new pool at the row's address.
   * `tenant` undefined: the row was not read (only the secret is dropped).
   */
  refreshLogin(tenantId: string, tenant?: Tenant): void {
    this.logins.forget(tenantId);
    const entry = this.live.get(tenantId.toLowerCase()) ?? this.live.get(tenantId);
    if (!entry || !tenant) return;
    if (!sameAddress(entry.tenant, tenant)) this.retire(entry, 'replaced');
    else if (!sameLogin(entry.tenant, tenant)) this.retire(entry, 'credentials');
  }

  /** Drops every cached tenant secret (notifications may have been missed). */
  forgetLogins(): void {
    this.logins.forgetAll();
  }

  /** Tenants that currently have an open pool. */
  tenantIds(): string[] {
    return [...this.live.keys()];
  }

  /** Pings every pool that has an idle connection; failing pools are retired. */
  async checkHealth(): Promise<void> {
    const checks: Promise<void>[] = [];
    for (const entry of this.live.values()) {
      // A pool with no idle connection is either empty (nothing to check) or
      // busy (evidently working); pinging it would only queue behind requests.
      if (entry.checking || entry.pool.idleCount === 0) continue;
      checks.push(entry.healthCheck(this.limits.connectTimeoutMs).catch((err: unknown) => this.unhealthy(entry, err)));
    }
    await Promise.all(checks);
  }

  /** Closes pools unused for longer than the idle timeout. */
  closeIdle(now = Date.now()): void {
    for (const entry of this.live.values()) {
      if (entry.leases === 0 && now - entry.lastUsedAt >= this.limits.idleTimeoutMs) this.retire(entry, 'idle');
    }
  }

  stats(): PoolManagerStats {
    const tenants = [...this.all].map((entry) => entry.stats());
    const connections = { total: 0, idle: 0, waiting: 0 };
    for (const t of tenants) {
      connections.total += t.connections.total;
      connections.idle += t.connections.idle;
      connections.waiting += t.connections.waiting;
    }
    const waitingForPool = this.queue.waiters;
    const count = (state: string) => tenants.filter((t) => t.state === state).length;
    return {
      pools: this.all.size,
      open: this.live.size,
      draining: count('draining'),
      closing: count('closing'),
      maxPools: this.limits.maxPools,
      maxConnsPerPool: this.limits.maxConnsPerPool,
      maxConnections: this.limits.maxPools * this.limits.maxConnsPerPool,
      connections,
      leases: this.leaseCount,
      waitingForPool,
      servers: this.budgets.stats(),
      counters: { ...this.counters },
      tenants,
    };
  }

  /**
   * Stops accepting, waits for leases to be released (up to the deadline),
   * then ends every pool. Connections still checked out at the deadline are cut.
   */
  async close(options: { deadlineMs?: number } = {}): Promise<PoolCloseResult> {
    this.closingDown = true;
    for (const timer of this.timers) clearInterval(timer);
    this.queue.rejectAll(new ShuttingDownError());
    const drained = await this.waitForLeases(options.deadlineMs ?? 10_000);
    const leasesAtDeadline = this.leaseCount;
    const poolsClosed = await this.closeAll(drained);
    return { drained, leasesAtDeadline, poolsClosed };
  }

  private assertOpen(): void {
    if (this.closingDown) throw new ShuttingDownError();
  }

  private lease(entry: TenantPool, tenant: Tenant): TenantLease {
    entry.lease();
    this.leaseCount++;
    return new Lease(tenant, entry, this.releaseLease);
  }

  private released(entry: TenantPool): void {
    const left = entry.release();
    this.leaseCount--;
    if (left === 0) {
      if (entry.state === 'draining') this.closeEntry(entry);
      // A pool just became evictable: someone may be waiting for its slot.
      else if (this.queue.length > 0) this.pump();
    }
    if (this.leaseCount === 0 && this.drainWaiters.length > 0) {
      for (const resolve of this.drainWaiters.splice(0)) resolve();
    }
  }

  private waitForPool(tenant: Tenant, signal: AbortSignal | undefined): Promise<TenantLease> {
    const { lease, started } = this.queue.join(tenant, signal);
    if (started) this.pump();
    return lease;
  }

  /** Hands free slots to queued requests in order, evicting idle pools to make room. */
  private pump(): void {
    if (this.closingDown) return;
    while (this.queue.length > 0 && this.all.size < this.limits.maxPools) {
      this.grant(this.queue.head() as SlotRequest);
    }
    // Pools already closing will free slots on their own; evict only for the rest.
    let needed = this.queue.length - this.closingCount;
    while (needed > 0) {
      const victim = this.live.oldest((entry) => entry.leases === 0);
      if (!victim) break;
      this.counters.evicted++;
      this.retire(victim, 'evicted');
      needed--;
    }
  }

  private grant(request: SlotRequest): void {
    this.queue.remove(request);
    const entry = this.createEntry(request.tenant);
    if (!request.retired) this.live.set(entry.tenantId, entry);
    for (const waiter of request.waiters) {
      waiter.detach();
      waiter.resolve(this.lease(entry, waiter.tenant));
    }
    // Retired while it waited: these waiters are served, then it drains.
    // ('evicted' as before: retireTenant's reason is not kept on the request.)
    if (request.retired) this.retire(entry, 'evicted');
  }

  private unhealthy(entry: TenantPool, err: unknown): void {
    // Retired meanwhile (status change, eviction): nothing left to report.
    if (entry.state !== 'open') return;
    this.counters.unhealthy++;
    this.emit({ type: 'pool-unhealthy', tenantId: entry.tenantId, slug: entry.tenant.slug, error: messageOf(err) });
    this.retire(entry, 'unhealthy');
  }

  private timedOut(request: SlotRequest): Error {
    this.counters.acquireTimeouts++;
    const waitedMs = Date.now() - request.startedAt;
    this.emit({ type: 'acquire-timeout', tenantId: request.tenant.id, slug: request.tenant.slug, waitedMs });
    return new PoolExhaustedError(
      `all ${this.limits.maxPools} tenant pools are in use; no pool for tenant "${request.tenant.slug}" within ${waitedMs}ms`,
    );
  }

  private budgetTimedOut(entry: TenantPool, waitedMs: number): Error {
    this.counters.acquireTimeouts++;
    this.emit({ type: 'acquire-timeout', tenantId: entry.tenantId, slug: entry.tenant.slug, waitedMs });
    const budget = this.budgets.for(entry.tenant);
    return new PoolExhaustedError(
      `all ${budget.limit ?? 1} connections of the budget for server ${budget.server} are in use; no connection for tenant "${entry.tenant.slug}" within ${waitedMs}ms`,
    );
  }

  private createEntry(tenant: Tenant): TenantPool {
    const config = this.logins.clientConfig(tenant, {
      application_name: applicationName(this.options.component ?? 'app', tenant.slug),
      ...this.options.poolConfig,
      max: this.limits.maxConnsPerPool,
      // Connections inside a live pool are dropped sooner than the pool itself.
      idleTimeoutMillis: Math.min(this.limits.idleTimeoutMs, 60_000),
      connectionTimeoutMillis: this.limits.connectTimeoutMs,
      // TCP keepalive notices a database host that vanished without a reset.
      keepAlive: true,
    });
    const entry = new TenantPool(
      tenant,
      config,
      (err) => this.emit({ type: 'client-error', tenantId: tenant.id, slug: tenant.slug, error: messageOf(err) }),
      () => this.counters.connectionsOpened++,
      (c, gate) => this.logins.createPool(tenant, c, gate),
      this.budgets.for(tenant),
      (err) => this.emit({ type: 'connect-failed', tenantId: tenant.id, slug: tenant.slug, error: messageOf(err) }),
    );
    this.all.add(entry);
    this.counters.opened++;
    this.emit({ type: 'pool-opened', tenantId: tenant.id, slug: tenant.slug });
    return entry;
  }

  /** Takes an open pool out of the table: it drains if leased, else closes now. Retiring twice is a no-op. */
  private retire(entry: TenantPool, reason: PoolCloseReason): void {
    if (entry.state !== 'open') return;
    this.forget(entry);
    if (reason === 'idle') this.counters.idleClosed++;
    if (entry.leases > 0) entry.retire(reason);
    else this.closeEntry(entry, reason);
  }

  private forget(entry: TenantPool): void {
    if (this.live.get(entry.tenantId) === entry) this.live.delete(entry.tenantId);
  }

  /** Starts closing an open or draining pool; its slot is freed (and given on) once it is closed. */
  private closeEntry(entry: TenantPool, reason?: PoolCloseReason): void {
    this.closingCount++;
    void entry.close(this.limits.connectTimeoutMs, reason).then(() => {
      this.closingCount--;
      this.all.delete(entry);
      this.counters.closed++;
      // A tenant without a pool keeps no password in memory.
      if (!this.live.get(entry.tenantId)) this.logins.forget(entry.tenantId);
      this.emit({ type: 'pool-closed', tenantId: entry.tenantId, slug: entry.tenant.slug, reason: entry.closeReason ?? 'evicted' });
      this.pump();
    });
  }

  /** Shutdown: closes every pool, cutting connections still leased when not drained; returns how many. */
  private async closeAll(drained: boolean): Promise<number> {
    const entries = [...this.all];
    for (const entry of entries) {
      this.forget(entry);
      if (entry.state === 'open' || entry.state === 'draining') this.closeEntry(entry, 'shutdown');
    }
    const closes = Promise.all(entries.map((entry) => entry.whenClosed()));
    if (drained) {
      await closes;
    } else {
      // Someone still holds a lease: their connections are cut so shutdown ends.
      for (const entry of entries) entry.terminate();
      await settlesWithin(closes, 1000);
    }
    return entries.length;
  }

  private waitForLeases(deadlineMs: number): Promise<boolean> {
    if (this.leaseCount === 0) return Promise.resolve(true);
    const drained = new Promise<boolean>((resolve) => this.drainWaiters.push(() => resolve(true)));
    return raceDeadline(drained, deadlineMs, () => this.leaseCount === 0);
  }

  private emit(event: PoolEvent): void {
    try {
      this.options.onEvent?.(event);
    } catch {
      // A faulty listener must not break pool bookkeeping.
    }
    if (this.observers.size > 0) this.tell(event);
  }

  private acquired(tenant: Tenant, waitMs: number): void {
    this.tell({ type: 'acquired', tenantId: tenant.id, slug: tenant.slug, waitMs });
  }

  private tell(observation: PoolObservation): void {
    for (const observer of this.observers) {
      try {
        observer(observation);
      } catch {
        // Same rule as onEvent.
      }
    }
  }
}

/** Where the tenant's database is: a pool opened for one address is wrong for another (a move, a clone swap). */
function sameAddress(a: Tenant, b: Tenant): boolean {
  return a.dbName === b.dbName && a.dbHost === b.dbHost && a.dbPort === b.dbPort && a.serverName === b.serverName;
}
