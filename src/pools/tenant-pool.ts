/**
 * One tenant's pg.Pool plus the bookkeeping the pool manager needs: how many
 * leases hold it, when it was last used, and which server connections it
 * really has. The slot it occupies in the pool table is only given back once
 * every one of those connections is gone, which is what keeps the total under
 * max pools x max connections even while evicted pools are still closing.
 *
 * The pool owns its state; the manager only calls transitions, and a
 * transition from the wrong state throws an INTERNAL error (a bug in the
 * caller) instead of corrupting the bookkeeping.
 *
 *            retire(reason)             close() at zero leases
 *   open ─────────────────────> draining ──────────────────────> closing ──> closed
 *     │                                                             ^   (every server
 *     └─────────────── close(reason): idle, evicted, shutdown ──────┘    connection gone)
 *
 *   lease()        open only: a draining pool serves only the leases it has.
 *   release()      any state while leases > 0 (a shutdown closes pools that
 *                  still have leases); stamps lastUsedAt.
 *   retire()       open -> draining, only while leased (without leases the
 *                  pool goes straight to closing).
 *   close()        open | draining -> closing; resolves when closed.
 *   healthCheck()  open only, one at a time.
 */
import pg from 'pg';
import { PoolExhaustedError, TenantToolkitError, isConnectionError } from '../errors.js';
import { guardClient } from '../pg/with-helpers.js';
import { settlesWithin } from '../deadline.js';
import type { Tenant } from '../tenants/tenant.js';
import { GatedPool, type ConnectGate } from './gated-pool.js';
import type { BudgetMember, ServerBudget } from './server-budget.js';

/**
 * open: in the table, serves new leases. draining: out of the table (evicted
 * while busy, suspended, unhealthy), serves only the leases it already has.
 * closing: pool.end() in progress. closed: every connection is gone.
 * (The diagram is at the top of this file.)
 */
export type TenantPoolState = 'open' | 'draining' | 'closing' | 'closed';
/** credentials: the tenant's login changed (isolated, re-owned); new requests use a pool with the new login. */
export type PoolCloseReason = 'idle' | 'evicted' | 'unhealthy' | 'status' | 'replaced' | 'credentials' | 'shutdown';

export interface TenantPoolStats {
  tenantId: string;
  slug: string;
  /** The server's key (host:port) when the pool is budgeted per server. */
  server?: string;
  state: TenantPoolState;
  leases: number;
  connections: { total: number; idle: number; waiting: number };
  openedAt: string;
  lastUsedAt: string;
}

/** A checkout parked until the server budget gives the pool its first connection. */
interface Parked {
  run(): void;
  fail(err: Error): void;
}

export class TenantPool implements BudgetMember {
  readonly pool: pg.Pool;
  readonly openedAt = Date.now();
  #lastUsedAt = Date.now();
  #leases = 0;
  #state: TenantPoolState = 'open';
  #closeReason: PoolCloseReason | undefined;
  #checking = false;
  /** Connections that reached the server and have not been ended yet. */
  private readonly clients = new Set<pg.Client>();
  private closed: Promise<void> | undefined;
  private allGone: (() => void) | undefined;
  /** Connection slots held from the server budget: the pg.Pool's max. */
  #slots = 0;
  /** The most connections the pool may grow to (TENANT_MAX_CONNS_PER_POOL). */
  private readonly ceiling: number;
  /** Idle connections by when they went idle, least recently used first (Map order). */
  private readonly idleSince = new Map<pg.Client, number>();
  /** Idle connections checked out to be closed for another pool. */
  private readonly victims = new Set<pg.Client>();
  private parked: Parked[] = [];

  constructor(
    readonly tenant: Tenant,
    config: pg.PoolConfig,
    onClientError: (err: Error) => void,
    onConnect: () => void = () => undefined,
    /** Makes the pg.Pool with the gate on its connect (default: GatedPool); the pool manager adds the tenant's login (tenant-login.ts). */
    createPool: (config: pg.PoolConfig, gate: ConnectGate | undefined) => pg.Pool = (c, gate) =>
      gate ? new GatedPool(c, gate) : new pg.Pool(c),
    /** The connection budget of the tenant's server; without one the pool grows on its own up to its max. */
    private readonly budget?: ServerBudget,
    /** A new connection failed to open (told with a budget only: its gate sees every opening). */
    private readonly onConnectFailed?: (err: unknown) => void,
  ) {
    this.pool = createPool(config, budget ? this.admit : undefined);
    this.ceiling = this.pool.options.max;
    // Cold start: one connection first. A burst at a cold tenant then costs one
    // connection setup (the expensive part: a server process and SCRAM) and
    // queues briefly on it, instead of opening max connections at once, most
    // of which a soon-evicted pool would never reuse. Same for a database that
    // is down: it is probed by one connection attempt at a time. With a
    // budget, every further connection is a slot taken from it (admit).
    this.pool.options.max = budget ? 0 : 1;
    budget?.join(this);
    this.pool.on('connect', (client) => {
      // Listens for the client's whole life, checked out or idle (see guardClient).
      guardClient(client, onClientError);
      this.clients.add(client);
      if (!budget) this.pool.options.max = this.ceiling;
      // pg queues our query ahead of the caller's on this fresh connection.
      budget?.measureOn(client);
      onConnect();
    });
    this.pool.on('acquire', (client) => this.idleSince.delete(client));
    this.pool.on('release', (_err, client) => {
      if (this.victims.has(client)) return;
      this.idleSince.delete(client);
      this.idleSince.set(client, Date.now());
      // A connection just went idle: a pool waiting on this server may get it closed for it
      // (after pg has handed it to this pool's own waiters, if any).
      if (budget?.wantsIdle) queueMicrotask(() => budget.pump());
    });
    this.pool.on('remove', (client) => {
      this.clients.delete(client);
      this.idleSince.delete(client);
      this.trim();
      if (this.victims.delete(client)) budget?.evictionDone();
      if (this.clients.size === 0) this.allGone?.();
    });
    // pg re-emits idle clients' errors on the pool; guardClient already reported them.
    this.pool.on('error', () => undefined);
  }

  get tenantId(): string {
    return this.tenant.id;
  }

  get state(): TenantPoolState {
    return this.#state;
  }

  /** Leases that hold the pool right now. */
  get leases(): number {
    return this.#leases;
  }

  /** When the last lease was released (the pool's creation until then). */
  get lastUsedAt(): number {
    return this.#lastUsedAt;
  }

  /** Why the pool left service; undefined while it is open. */
  get closeReason(): PoolCloseReason | undefined {
    return this.#closeReason;
  }

  /** A health check is running. */
  get checking(): boolean {
    return this.#checking;
  }

  /** Connections this pool holds on the server right now. */
  get serverConnections(): number {
    return this.clients.size;
  }

  /** Takes a lease. Only an open pool serves new leases. */
  lease(): void {
    this.expect('lease', 'open');
    this.#leases++;
  }

  /** Gives a lease back; returns how many are left. */
  release(): number {
    if (this.#leases === 0) throw this.illegal('release without a lease');
    this.#leases--;
    this.#lastUsedAt = Date.now();
    return this.#leases;
  }

  /** open -> draining: out of service, but its leases keep running; the last release closes it. */
  retire(reason: PoolCloseReason): void {
    this.expect('retire', 'open');
    if (this.#leases === 0) throw this.illegal('retire without leases (close it instead)');
    this.#state = 'draining';
    this.#closeReason = reason;
  }

  /**
   * open | draining -> closing, and on to closed: ends the pool and resolves
   * once every server connection it opened is gone. A reason is required
   * when leaving open and replaces a draining pool's (shutdown wins).
   * A graceful goodbye that gets no answer within graceMs (the peer is gone
   * or the network hangs) is cut, so a dead database cannot hold a slot forever.
   */
  close(graceMs: number, reason?: PoolCloseReason): Promise<void> {
    this.expect('close', 'open', 'draining');
    if (reason === undefined && this.#state === 'open') throw this.illegal('close an open pool without a reason');
    this.#state = 'closing';
    this.#closeReason = reason ?? this.#closeReason;
    this.closed = this.end(graceMs);
    return this.closed;
  }

  /** Resolves once a pool that is closing is closed. */
  whenClosed(): Promise<void> {
    if (!this.closed) throw this.illegal('wait for a close that was never started');
    return this.closed;
  }

  /**
   * Pings the database (see ping); rejects when it is unreachable. One check
   * at a time, and only on an open pool.
   */
  async healthCheck(timeoutMs: number): Promise<void> {
    this.expect('check health', 'open');
    if (this.#checking) throw this.illegal('start a second health check');
    this.#checking = true;
    try {
      await this.ping(timeoutMs);
    } finally {
      this.#checking = false;
    }
  }

  /** Cuts every connection's socket: for peers that do not answer, and for leases never released at shutdown. */
  terminate(): void {
    for (const client of this.clients) client.connection.stream.destroy();
  }

  /**
   * Runs `SELECT 1` on an idle connection. Throws only for failures that mean
   * the database is unreachable; a busy pool is not an unhealthy one.
   */
  private async ping(timeoutMs: number): Promise<void> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      if (isConnectionError(err)) throw err;
      return;
    }
    let broken: Error | undefined;
    try {
      await client.query({ text: 'SELECT 1', query_timeout: timeoutMs } as pg.QueryConfig);
    } catch (err) {
      broken = err as Error;
      if (isConnectionError(err) || /Query read timeout/i.test(broken.message)) throw err;
    } finally {
      client.release(broken);
    }
  }

  /** BudgetMember: idle connections right now. */
  get idleConnections(): number {
    return this.pool.idleCount;
  }

  /** Connection slots the pool holds from its server's budget. */
  get slots(): number {
    return this.#slots;
  }

  /** BudgetMember: when the least recently used idle connection went idle. */
  oldestIdleAt(): number | undefined {
    if (this.pool.idleCount === 0) return undefined;
    for (const at of this.idleSince.values()) return at;
    return undefined;
  }

  /** BudgetMember: closes one idle connection for another pool; its slot returns when it is gone (remove). */
  closeIdleConnection(): boolean {
    if (this.pool.idleCount === 0 || !(this.pool instanceof GatedPool)) return false;
    this.pool.checkoutIdle().then(
      (client) => {
        this.victims.add(client);
        this.idleSince.delete(client);
        client.release(true);
      },
      () => this.budget?.evictionDone(),
    );
    return true;
  }

  /** BudgetMember: the first connection's slot; the parked checkouts go on now, the first opens it. */
  granted(): void {
    this.grow();
    for (const parked of this.parked.splice(0)) parked.run();
  }

  /** BudgetMember: no slot within the acquire timeout. */
  refused(err: Error): void {
    for (const parked of this.parked.splice(0)) parked.fail(err);
  }

  stats(): TenantPoolStats {
    return {
      tenantId: this.tenant.id,
      slug: this.tenant.slug,
      ...(this.budget ? { server: this.budget.server } : {}),
      state: this.#state,
      leases: this.#leases,
      connections: { total: this.pool.totalCount, idle: this.pool.idleCount, waiting: this.pool.waitingCount },
      openedAt: new Date(this.openedAt).toISOString(),
      lastUsedAt: new Date(this.#lastUsedAt).toISOString(),
    };
  }

  /**
   * The budget's gate on every checkout. An idle connection, or a slot not
   * yet used, needs nothing. A pool that is full takes one more slot if it
   * is below its ceiling and no connection of its is being opened (one
   * connection setup at a time): when it has no connection at all it waits for
   * one (parked, one budget request for all its callers); when it has some
   * and the budget is full, the checkout queues on them in pg as before.
   * A granted slot is used synchronously (pg opens the connection inside
   * connect()), so nothing can see it unused and give it back.
   */
  private readonly admit: ConnectGate = <T>(connect: () => Promise<T>): Promise<T> => {
    const budget = this.budget as ServerBudget;
    const pool = this.pool;
    const open = () => connect().catch((err: unknown) => this.failedOpen(err));
    if (this.parked.length === 0) {
      if (pool.idleCount > 0 || pool.totalCount < this.#slots || this.#slots >= this.ceiling || this.#state === 'closing') return open();
      // A connection is being opened: queue on it instead of opening another (cold start, see the constructor).
      if (pool.totalCount > this.clients.size) return open();
      const answer = budget.take(this, pool.totalCount === 0);
      if (answer === 'granted') this.grow();
      if (answer !== 'queued') return open();
    }
    return new Promise<T>((resolve, reject) => {
      this.parked.push({ run: () => void open().then(resolve, reject), fail: reject });
    });
  };

  private failedOpen(err: unknown): never {
    // A connection that failed to open left pg's list without a 'remove'.
    this.trim();
    this.onConnectFailed?.(err);
    throw err;
  }

  private grow(): void {
    this.#slots++;
    this.pool.options.max = this.#slots;
  }

  /** Gives back slots no connection uses, unless checkouts still wait for them in pg or here. */
  private trim(): void {
    if (!this.budget) return;
    const unused = this.#slots - this.pool.totalCount;
    if (unused <= 0 || this.pool.waitingCount > 0 || this.parked.length > 0) return;
    this.#slots -= unused;
    this.pool.options.max = this.#slots;
    this.budget.give(unused);
  }

  private async end(graceMs: number): Promise<void> {
    // pool.end() waits for checked-out clients, so a lease still running a
    // query finishes it; the manager only closes at zero leases, except at
    // shutdown, where it cuts the stragglers (terminate).
    this.refused(new PoolExhaustedError(`the pool of tenant "${this.tenant.slug}" closed while waiting for a connection`));
    await this.pool.end().catch(() => undefined);
    if (this.clients.size > 0) {
      const gone = new Promise<void>((resolve) => (this.allGone = resolve));
      if (!(await settlesWithin(gone, graceMs))) {
        this.terminate();
        await settlesWithin(gone, graceMs);
      }
    }
    this.#state = 'closed';
    // Every connection is gone: whatever is still held goes back to the server's budget.
    const held = this.#slots;
    this.#slots = 0;
    this.budget?.leave(this, held);
  }

  private expect(transition: string, ...legal: TenantPoolState[]): void {
    if (!legal.includes(this.#state)) throw this.illegal(transition);
  }

  private illegal(transition: string): TenantToolkitError {
    return new TenantToolkitError(
      'INTERNAL',
      `tenant pool "${this.tenant.slug}" (${this.#state}, ${this.#leases} leases): cannot ${transition}`,
    );
  }
}
