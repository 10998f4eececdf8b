/**
 * The connections one pool manager may hold to one PostgreSQL server, shared
 * by every tenant pool whose database lives there.
 *
 * A pool holds slots: as many as its pg.Pool may have connections (its
 * `max`). It starts with none, takes one when it opens its first connection
 * and one more each time a checkout finds every connection busy, up to
 * TENANT_MAX_CONNS_PER_POOL; it gives them back as its connections close
 * (idle timeout, errors, eviction, pool close).
 *
 * When the server's budget is full:
 * - a pool that has no connection at all waits, first come first served (one
 *   place per pool, whatever the number of its callers), up to the acquire
 *   timeout; an idle connection of another pool on the server is closed for
 *   it at once (the least recently used one of the tenants asked for least,
 *   see coldestIdle), so nobody waits for a timeout while an idle connection
 *   sits elsewhere;
 * - a pool that already has connections does not wait: its request queues on
 *   its own connections (a query takes far less than a new connection), and
 *   one idle connection elsewhere is closed so the slot is free next time.
 *
 * The limit comes from the server registry (`connections`), or, when that is
 * NULL or there is no registry, is measured on the first connection opened to
 * the server (pool-budget.ts: a share of what max_connections leaves free);
 * until then the server gets one connection at a time.
 */
import type pg from 'pg';
import { connectionBudget, readServerConnections } from './pool-budget.js';

/** What the budget needs of a tenant pool (TenantPool implements it). */
export interface BudgetMember {
  /** Connections it has on the server now. */
  readonly serverConnections: number;
  /** Of those, idle now. */
  readonly idleConnections: number;
  /** When its least recently used idle connection went idle; undefined when none is idle. */
  oldestIdleAt(): number | undefined;
  /** Starts closing one idle connection (the slot comes back through give()); false when none is idle. */
  closeIdleConnection(): boolean;
  /** Its queued request got a slot (already counted as used). */
  granted(): void;
  /** Its queued request failed (timeout). */
  refused(err: Error): void;
}

export interface ServerBudgetStats {
  /** host:port (pg/server-key.ts). */
  server: string;
  /** undefined while it is being measured. */
  limit: number | undefined;
  /** Where the limit comes from: the registry, measured on the server, or the fallback when the server would not say. */
  source: 'registry' | 'measured' | 'fallback' | 'measuring';
  used: number;
  waiting: number;
  pools: number;
  /** Since start: idle connections of other pools closed to make room. */
  evicted: number;
}

export interface ServerBudgetOptions {
  /** How long a pool without connections waits for a slot. */
  timeoutMs: number;
  /** The error a waiter that timed out fails with (the caller counts and reports it). */
  onTimeout(member: BudgetMember, waitedMs: number): Error;
  /** The limit when the server cannot be measured (the process-wide cap). */
  fallback: number;
  /** How much the pool's tenant was asked for lately (tenant-demand.ts); without it, recency alone picks victims. */
  demand?: (member: BudgetMember) => number;
}

interface Waiting {
  member: BudgetMember;
  startedAt: number;
  timer: NodeJS.Timeout;
}

/**
 * The pool whose idle connection is least likely to be wanted soon, other
 * than `except`. First a pool with more than one idle connection: closing
 * one leaves it another, so its next request does not pay for a new
 * connection (and a busy pool regrows without making anyone wait). Then the
 * least demand per connection held (a hot tenant's fourth connection is worth
 * less than a warm tenant's only one), then the one idle longest. With no
 * demand known this is plain least recently used.
 */
export function coldestIdle<M extends Pick<BudgetMember, 'oldestIdleAt' | 'serverConnections' | 'idleConnections'>>(
  members: Iterable<M>,
  except?: M,
  demand: (member: M) => number = () => 0,
): M | undefined {
  let victim: M | undefined;
  let best = Infinity;
  let since = Infinity;
  for (const member of members) {
    if (member === except) continue;
    const at = member.oldestIdleAt();
    if (at === undefined) continue;
    const worth = member.idleConnections > 1 ? -1 : demand(member) / Math.max(1, member.serverConnections);
    if (worth < best || (worth === best && at < since)) {
      victim = member;
      best = worth;
      since = at;
    }
  }
  return victim;
}

export class ServerBudget {
  private readonly members = new Set<BudgetMember>();
  private readonly queue: Waiting[] = [];
  private used = 0;
  /** Idle connections being closed for someone; their slots are on the way. */
  private evicting = 0;
  private evictedTotal = 0;
  #limit: number | undefined;
  private source: ServerBudgetStats['source'];
  private probing = false;

  constructor(
    readonly server: string,
    /** From the registry; undefined: measure the server on the first connection. */
    limit: number | undefined,
    private readonly options: ServerBudgetOptions,
  ) {
    this.#limit = limit;
    this.source = limit === undefined ? 'measuring' : 'registry';
  }

  get limit(): number | undefined {
    return this.#limit;
  }

  /** Pools queued for their first connection. */
  get waiting(): number {
    return this.queue.length;
  }

  /** A connection going idle now would be closed at once: pools wait, or the reserve is short. */
  get wantsIdle(): boolean {
    return this.queue.length > 0 || this.room < this.reserve;
  }

  /** Until the server is measured it gets one connection: the one that measures it. */
  private get room(): number {
    return (this.#limit ?? 1) - this.used;
  }

  join(member: BudgetMember): void {
    this.members.add(member);
  }

  /** The pool closed: it leaves the queue and gives back whatever it still holds. */
  leave(member: BudgetMember, slots: number): void {
    this.members.delete(member);
    const index = this.queue.findIndex((w) => w.member === member);
    if (index >= 0) clearTimeout((this.queue.splice(index, 1)[0] as Waiting).timer);
    this.give(slots);
  }

  /**
   * A pool wants one more connection. `granted`: it has the slot now.
   * `queued`: it has no connection (must) and waits for granted()/refused().
   * `refused`: it has connections and queues its request on them.
   */
  take(member: BudgetMember, must: boolean): 'granted' | 'queued' | 'refused' {
    if (this.queue.length === 0 && this.room > 0) {
      this.used++;
      // The reserve may need topping up.
      if (this.room < this.reserve) this.pump();
      return 'granted';
    }
    if (!must) {
      // One spare eviction at a time for growth, so a busy pool's every checkout does not close another connection.
      if (this.evicting <= this.queue.length) this.evictOne(member);
      return 'refused';
    }
    const waiting: Waiting = { member, startedAt: Date.now(), timer: setTimeout(() => this.expire(waiting), this.options.timeoutMs) };
    waiting.timer.unref();
    this.queue.push(waiting);
    this.pump();
    return 'queued';
  }

  /** Slots given back (connections closed). */
  give(slots: number): void {
    if (slots <= 0) return;
    this.used = Math.max(0, this.used - slots);
    this.pump();
  }

  /** An eviction finished (its connection is gone, or it found none to close). */
  evictionDone(): void {
    this.evicting = Math.max(0, this.evicting - 1);
    this.pump();
  }

  /**
   * Hands free slots to the queue in order, then closes idle connections for
   * the waiters no slot is on its way to. Also called when a connection goes
   * idle somewhere while pools wait.
   */
  pump(): void {
    while (this.queue.length > 0 && this.room > 0) {
      const next = this.queue.shift() as Waiting;
      clearTimeout(next.timer);
      this.used++;
      next.member.granted();
    }
    let needed = this.queue.length + Math.max(0, this.reserve - this.room) - this.evicting;
    while (needed > 0 && this.evictOne(undefined)) needed--;
  }

  /**
   * Free slots kept at rest on a large budget (2%: 4 of 200), by closing idle
   * connections ahead of need: a tenant without a connection then connects
   * at once instead of first waiting for another's connection to close.
   */
  private get reserve(): number {
    return this.#limit === undefined ? 0 : Math.floor(this.#limit / 50);
  }

  /**
   * Measures the server on a fresh connection (see pool-budget.ts) when no
   * limit was registered; one measurement per budget.
   */
  measureOn(client: Pick<pg.Pool, 'query'>): void {
    if (this.source !== 'measuring' || this.probing) return;
    this.probing = true;
    void readServerConnections(client).then((numbers) => {
      this.#limit = numbers ? connectionBudget(numbers) : this.options.fallback;
      this.source = numbers ? 'measured' : 'fallback';
      this.pump();
    });
  }

  stats(): ServerBudgetStats {
    return {
      server: this.server,
      limit: this.#limit,
      source: this.source,
      used: this.used,
      waiting: this.queue.length,
      pools: this.members.size,
      evicted: this.evictedTotal,
    };
  }

  /** Closes the coldest idle connection of a pool other than `except` (coldestIdle). */
  private evictOne(except: BudgetMember | undefined): boolean {
    const victim = coldestIdle(this.members, except, this.options.demand);
    if (!victim || !victim.closeIdleConnection()) return false;
    this.evicting++;
    this.evictedTotal++;
    return true;
  }

  private expire(waiting: Waiting): void {
    const index = this.queue.indexOf(waiting);
    if (index < 0) return;
    this.queue.splice(index, 1);
    waiting.member.refused(this.options.onTimeout(waiting.member, Date.now() - waiting.startedAt));
    this.pump();
  }
}
