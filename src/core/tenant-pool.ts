/**
 * One tenant's pg.Pool plus the bookkeeping the pool manager needs: how many
 * leases hold it, when it was last used, and which server connections it
 * really has. The slot it occupies in the pool table is only given back once
 * every one of those connections is gone, which is what keeps the total under
 * max pools x max connections even while evicted pools are still closing.
 */
import pg from 'pg';
import { isConnectionError } from '../errors.js';
import { guardClient } from './db.js';
import type { Tenant } from './tenant.js';

/**
 * open: in the table, serves new leases. draining: out of the table (evicted
 * while busy, suspended, unhealthy), serves only the leases it already has.
 * closing: pool.end() in progress. closed: every connection is gone.
 */
export type TenantPoolState = 'open' | 'draining' | 'closing' | 'closed';
export type PoolCloseReason = 'idle' | 'evicted' | 'unhealthy' | 'status' | 'replaced' | 'shutdown';

export interface TenantPoolStats {
  tenantId: string;
  slug: string;
  state: TenantPoolState;
  leases: number;
  connections: { total: number; idle: number; waiting: number };
  openedAt: string;
  lastUsedAt: string;
}

export class TenantPool {
  readonly pool: pg.Pool;
  readonly openedAt = Date.now();
  lastUsedAt = Date.now();
  refs = 0;
  state: TenantPoolState = 'open';
  closeReason: PoolCloseReason | undefined;
  checking = false;
  /** Connections that reached the server and have not been ended yet. */
  private readonly clients = new Set<pg.Client>();
  private closed: Promise<void> | undefined;
  private allGone: (() => void) | undefined;

  constructor(
    readonly tenant: Tenant,
    config: pg.PoolConfig,
    onClientError: (err: Error) => void,
    onConnect: () => void = () => undefined,
  ) {
    this.pool = new pg.Pool(config);
    // Cold start: one connection first. A burst at a cold tenant then costs one
    // connection setup (the expensive part: a server process and SCRAM) and
    // queues briefly on it, instead of opening max connections at once, most
    // of which a soon-evicted pool would never reuse. Same for a database that
    // is down: it is probed by one connection attempt at a time.
    const max = this.pool.options.max;
    this.pool.options.max = 1;
    this.pool.on('connect', (client) => {
      // Listens for the client's whole life, checked out or idle (see guardClient).
      guardClient(client, onClientError);
      this.clients.add(client);
      this.pool.options.max = max;
      onConnect();
    });
    this.pool.on('remove', (client) => {
      this.clients.delete(client);
      if (this.clients.size === 0) this.allGone?.();
    });
    // pg re-emits idle clients' errors on the pool; guardClient already reported them.
    this.pool.on('error', () => undefined);
  }

  get tenantId(): string {
    return this.tenant.id;
  }

  /** Connections this pool holds on the server right now. */
  get serverConnections(): number {
    return this.clients.size;
  }

  /**
   * Ends the pool; resolves once every server connection it opened is closed.
   * A graceful goodbye that gets no answer within graceMs (the peer is gone
   * or the network hangs) is cut, so a dead database cannot hold a slot forever.
   */
  close(graceMs: number): Promise<void> {
    this.closed ??= (async () => {
      // pool.end() waits for checked-out clients, so a lease still running a
      // query finishes it; the manager only calls this at zero references.
      await this.pool.end().catch(() => undefined);
      if (this.clients.size > 0) {
        const gone = new Promise<void>((resolve) => (this.allGone = resolve));
        if (!(await settlesWithin(gone, graceMs))) {
          this.terminate();
          await settlesWithin(gone, graceMs);
        }
      }
      this.state = 'closed';
    })();
    return this.closed;
  }

  /** Cuts every connection's socket: for peers that do not answer, and for leases never released at shutdown. */
  terminate(): void {
    for (const client of this.clients) client.connection.stream.destroy();
  }

  /**
   * Runs `SELECT 1` on an idle connection. Throws only for failures that mean
   * the database is unreachable; a busy pool is not an unhealthy one.
   */
  async ping(timeoutMs: number): Promise<void> {
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

  stats(): TenantPoolStats {
    return {
      tenantId: this.tenant.id,
      slug: this.tenant.slug,
      state: this.state,
      leases: this.refs,
      connections: { total: this.pool.totalCount, idle: this.pool.idleCount, waiting: this.pool.waitingCount },
      openedAt: new Date(this.openedAt).toISOString(),
      lastUsedAt: new Date(this.lastUsedAt).toISOString(),
    };
  }
}

async function settlesWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}
