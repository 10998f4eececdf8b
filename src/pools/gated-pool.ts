/**
 * A pg.Pool whose connect (and so query, which connects through it) passes a
 * gate first: the tenant's login rule (tenant-login.ts) and the server's
 * connection budget (tenant-pool.ts) each wrap the checkout. Checking out an
 * idle connection costs the gates' bookkeeping only; what they guard is the
 * opening of a new connection.
 */
import pg from 'pg';
import { messageOf } from '../errors.js';

/** Runs a checkout (pg.Pool#connect) under a rule: may wait, retry or refuse. */
export type ConnectGate = <T>(connect: () => Promise<T>) => Promise<T>;

type ConnectCallback = (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void;

/** Both gates, the outer one first (it sees the inner one's failures as the checkout's). */
export function composeGates(outer: ConnectGate | undefined, inner: ConnectGate | undefined): ConnectGate | undefined {
  if (!outer || !inner) return outer ?? inner;
  return (connect) => outer(() => inner(connect));
}

export class GatedPool extends pg.Pool {
  constructor(
    config: pg.PoolConfig,
    private readonly connectGate: ConnectGate,
  ) {
    super(config);
  }

  override connect(): Promise<pg.PoolClient>;
  override connect(callback: ConnectCallback): void;
  override connect(callback?: ConnectCallback): Promise<pg.PoolClient> | undefined {
    const opened = this.connectGate(() => super.connect());
    if (!callback) return opened;
    opened.then(
      (client) => callback(undefined, client, (release?: unknown) => client.release(release as Error | boolean | undefined)),
      (err: unknown) => callback(err instanceof Error ? err : new Error(messageOf(err)), undefined, () => undefined),
    );
    return undefined;
  }

  /**
   * Checks out an idle connection past the gates, to close it (the budget's
   * eviction). Only call it while idleCount > 0: pg hands an idle connection
   * to the oldest waiter on the next tick, before any timer can remove it,
   * so no new connection is opened for this.
   */
  checkoutIdle(): Promise<pg.PoolClient> {
    return super.connect();
  }
}
