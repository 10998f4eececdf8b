/**
 * Cached tenant lookups by id, so a request costs no meta-database round trip.
 *
 * - Status changes arrive by LISTEN/NOTIFY and invalidate the entry at once;
 *   the TTL is only a safety net for changes made behind the toolkit's back.
 * - Concurrent misses for one id share one query; each caller may abort its
 *   own wait without failing the others.
 * - Every invalidation bumps a version, so a lookup that was already in
 *   flight cannot put the old row back, and callers can tell that what they
 *   hold went stale while they waited.
 * - When the meta database is unreachable, an expired entry is served rather
 *   than failing every request: nobody can change a status in a database that
 *   is down, and the listener invalidates everything once it reconnects.
 */
import { DatabaseUnavailableError, isConnectionError, messageOf } from '../errors.js';
import type { Tenant } from '../tenants/tenant.js';
import { isUuid } from '../tenants/tenant.js';
import { raceDeadline } from '../deadline.js';

export interface TenantLookup {
  getById(id: string): Promise<Tenant | undefined>;
}

export interface TenantCacheOptions {
  /** How long a found tenant is trusted without a notification (default 30s). */
  ttlMs?: number;
  /** How long "no such tenant" is remembered (default 5s), against floods of unknown ids. */
  negativeTtlMs?: number;
  /** Entries kept at most; the oldest are dropped first (default 10,000). */
  maxEntries?: number;
  /** A lookup slower than this counts as "meta database unavailable" (default 5s). */
  lookupTimeoutMs?: number;
}

interface CacheEntry {
  tenant: Tenant | undefined;
  expiresAt: number;
}

export interface TenantCacheStats {
  size: number;
  hits: number;
  misses: number;
  staleServed: number;
  /** Reads of a tenant row from the meta database (misses and verified hints). */
  lookups: number;
}

export class TenantCache {
  private readonly entries = new Map<string, CacheEntry>();
  private readonly inflight = new Map<string, Promise<Tenant | undefined>>();
  private readonly versions = new Map<string, number>();
  private epoch = 0;
  private readonly ttlMs: number;
  private readonly negativeTtlMs: number;
  private readonly maxEntries: number;
  private readonly lookupTimeoutMs: number;
  private readonly counters = { hits: 0, misses: 0, staleServed: 0, lookups: 0 };

  constructor(
    private readonly lookup: TenantLookup,
    options: TenantCacheOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 30_000;
    this.negativeTtlMs = options.negativeTtlMs ?? 5_000;
    this.maxEntries = options.maxEntries ?? 10_000;
    this.lookupTimeoutMs = options.lookupTimeoutMs ?? 5_000;
  }

  /** Changes whenever `id` (or the whole cache) is invalidated. */
  version(id: string): number {
    return this.epoch + (this.versions.get(key(id)) ?? 0);
  }

  /** The cached tenant if it is present and fresh; never queries (the hot path of every request). */
  peek(id: string): Tenant | undefined {
    const hit = this.entries.get(id) ?? this.entries.get(key(id));
    if (!hit || hit.expiresAt <= Date.now()) return undefined;
    this.counters.hits++;
    return hit.tenant;
  }

  /** The tenant, or undefined when no tenant has this id. */
  get(id: string, signal?: AbortSignal): Promise<Tenant | undefined> {
    const k = key(id);
    if (!isUuid(k)) return Promise.resolve(undefined);
    const hit = this.entries.get(k);
    if (hit && hit.expiresAt > Date.now()) {
      this.counters.hits++;
      return Promise.resolve(hit.tenant);
    }
    this.counters.misses++;
    let flight = this.inflight.get(k);
    if (!flight) {
      const started = (flight = this.load(k, hit));
      this.inflight.set(k, started);
      const forget = () => {
        if (this.inflight.get(k) === started) this.inflight.delete(k);
      };
      started.then(forget, forget);
    }
    return signal ? abortable(flight, signal) : flight;
  }

  /**
   * Reads the tenant's row now, even when a fresh entry exists (a status
   * hint arrived). Only a row that really changed bumps the version, so a
   * hint that changes nothing does not make in-flight acquires look again.
   */
  async refresh(id: string): Promise<Tenant | undefined> {
    const k = key(id);
    if (!isUuid(k)) return undefined;
    this.counters.lookups++;
    const tenant = await withTimeout(this.lookup.getById(k), this.lookupTimeoutMs);
    const before = this.entries.get(k);
    if (!before || !sameRow(before.tenant, tenant)) {
      this.versions.set(k, (this.versions.get(k) ?? 0) + 1);
      this.inflight.delete(k);
    }
    this.store(k, tenant, tenant ? this.ttlMs : this.negativeTtlMs);
    return tenant;
  }

  invalidate(id: string): void {
    const k = key(id);
    this.entries.delete(k);
    this.inflight.delete(k);
    this.versions.set(k, (this.versions.get(k) ?? 0) + 1);
  }

  /** After missed notifications (listener reconnected): forget everything. */
  invalidateAll(): void {
    this.entries.clear();
    this.inflight.clear();
    this.epoch++;
  }

  stats(): TenantCacheStats {
    return { size: this.entries.size, ...this.counters };
  }

  private async load(k: string, stale: CacheEntry | undefined): Promise<Tenant | undefined> {
    const version = this.version(k);
    let tenant: Tenant | undefined;
    this.counters.lookups++;
    try {
      tenant = await withTimeout(this.lookup.getById(k), this.lookupTimeoutMs);
    } catch (err) {
      if (!isConnectionError(err) && !(err instanceof LookupTimeout)) throw err;
      if (stale) {
        this.counters.staleServed++;
        // Trusted a little longer so an outage costs one failed lookup per second, not one per request.
        if (this.version(k) === version) this.store(k, stale.tenant, 1_000);
        return stale.tenant;
      }
      throw new DatabaseUnavailableError(`the meta database is unavailable: ${messageOf(err)}`, { cause: err });
    }
    if (this.version(k) === version) this.store(k, tenant, tenant ? this.ttlMs : this.negativeTtlMs);
    return tenant;
  }

  private store(k: string, tenant: Tenant | undefined, ttlMs: number): void {
    this.entries.delete(k);
    this.entries.set(k, { tenant, expiresAt: Date.now() + ttlMs });
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }
}

class LookupTimeout extends Error {
  constructor(ms: number) {
    super(`tenant lookup timed out after ${ms}ms`);
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return raceDeadline(
    promise,
    ms,
    () => {
      throw new LookupTimeout(ms);
    },
    { unref: true },
  );
}

/** Same status and database: nothing a server acts on has changed. */
function sameRow(a: Tenant | undefined, b: Tenant | undefined): boolean {
  if (!a || !b) return a === b;
  return a.status === b.status && a.dbName === b.dbName && a.dbHost === b.dbHost && a.dbPort === b.dbPort;
}

function key(id: string): string {
  return id.toLowerCase();
}

/** Lets one caller stop waiting for a shared promise without cancelling it for the others. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted', { cause: signal.reason });
}
