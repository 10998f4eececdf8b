/**
 * A request-scoped transaction manager over one tenant pool.
 *
 * `tx.run(fn)` checks out a connection, opens a transaction and commits (or
 * rolls back) around `fn`. A `tx.run` inside another one, in the same async
 * call chain, becomes a SAVEPOINT on the same connection. `tx.query()` runs
 * on the current transaction's connection when there is one, else on a
 * connection of its own. Which transaction is "current" is tracked with
 * AsyncLocalStorage, so two independent branches of one request never share
 * a transaction by accident.
 *
 * Connections go back to the pool in `finally`; a connection that failed is
 * destroyed, not reused. SQL errors never destroy a connection (pg's own
 * pool.query does), so a 409 does not cost a reconnect.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type pg from 'pg';
import {
  DatabaseUnavailableError,
  PoolExhaustedError,
  QueryTimeoutError,
  UsageError,
  isAuthenticationError,
  isConnectionError,
  isStatementTimeout,
  messageOf,
  toToolkitError,
} from '../errors.js';
import { clientFailure } from '../pg/with-helpers.js';
import { withSpan } from '../tracing.js';

export type IsolationLevel = 'read committed' | 'repeatable read' | 'serializable';
const ISOLATION_LEVELS: readonly IsolationLevel[] = ['read committed', 'repeatable read', 'serializable'];

export interface TxOptions {
  /** statement_timeout for this transaction (or savepoint) only, in milliseconds; 0 disables it. */
  statementTimeoutMs?: number;
  /** Outermost transaction only. */
  isolation?: IsolationLevel;
  /** Outermost transaction only. */
  readOnly?: boolean;
}

export type QueryInput = string | pg.QueryConfig;

interface Frame {
  manager: TransactionManager;
  client: pg.PoolClient;
  depth: number;
  /** Serializes savepoints opened by parallel branches of this transaction. */
  lock: Mutex;
  seq: number;
}

const frames = new AsyncLocalStorage<Frame>();

export class TransactionManager {
  private active = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly pool: pg.Pool,
    /** Used in error messages (the tenant slug). */
    private readonly label = 'tenant',
  ) {}

  /** true inside a `run` of this manager. */
  get inTransaction(): boolean {
    return this.frame() !== undefined;
  }

  /** Connections this manager has checked out right now. */
  get activeConnections(): number {
    return this.active;
  }

  /** A transaction; the outermost one is traced as the span `tenant.transaction` (no-op without an OpenTelemetry SDK). */
  async run<T>(fn: (client: pg.PoolClient) => Promise<T>, options: TxOptions = {}): Promise<T> {
    const frame = this.frame();
    if (frame) return this.nested(frame, fn, options);
    return withSpan('tenant.transaction', { 'tenant.slug': this.label }, () => this.outermost(fn, options));
  }

  private async outermost<T>(fn: (client: pg.PoolClient) => Promise<T>, options: TxOptions): Promise<T> {
    const client = await this.checkout();
    let broken: Error | undefined;
    try {
      await client.query(beginSql(options));
      const result = await frames.run({ manager: this, client, depth: 1, lock: new Mutex(), seq: 0 }, () => fn(client));
      await client.query('COMMIT');
      return result;
    } catch (err) {
      if (isBroken(err)) broken = err as Error;
      else {
        await client.query('ROLLBACK').catch((rollbackError: unknown) => {
          broken = rollbackError as Error;
        });
      }
      throw this.translate(err);
    } finally {
      this.checkin(client, broken);
    }
  }

  /** Runs one statement in the current transaction, or on its own connection outside one. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: QueryInput, values?: unknown[]): Promise<pg.QueryResult<R>> {
    const frame = this.frame();
    if (frame) {
      return frame.client.query<R>(text as string, values).catch((err: unknown) => {
        throw this.translate(err);
      });
    }
    // Outside a transaction: checkout, query, release with callbacks and a
    // single promise; this is the path of most requests, so it stays lean.
    this.active++;
    return new Promise<pg.QueryResult<R>>((resolve, reject) => {
      this.pool.connect((connectError, client, done) => {
        if (connectError || !client) {
          this.settle();
          reject(this.checkoutError(connectError));
          return;
        }
        const finish = (err: Error | null, result: pg.QueryResult<R>) => {
          // SQL errors keep the connection; only a broken one is destroyed.
          done(err && isConnectionError(err) ? err : clientFailure(client));
          this.settle();
          if (err) reject(this.translate(err));
          else resolve(result);
        };
        // A QueryConfig carries its own values; an explicit array would replace them.
        if (values === undefined) client.query<R>(text as pg.QueryConfig, finish);
        else client.query<R>(text as string, values, finish);
      });
    });
  }

  /** Resolves when no connection is checked out through this manager. */
  whenIdle(): Promise<void> {
    if (this.active === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private frame(): Frame | undefined {
    const frame = frames.getStore();
    return frame?.manager === this ? frame : undefined;
  }

  private nested<T>(frame: Frame, fn: (client: pg.PoolClient) => Promise<T>, options: TxOptions): Promise<T> {
    if (options.isolation !== undefined || options.readOnly !== undefined) {
      throw new UsageError('isolation and readOnly can only be set on the outermost tx.run()');
    }
    const timeout = options.statementTimeoutMs === undefined ? undefined : timeoutValue(options.statementTimeoutMs);
    return frame.lock.run(async () => {
      const { client } = frame;
      const savepoint = `sp_${frame.depth}_${++frame.seq}`;
      await client.query(`SAVEPOINT ${savepoint}`);
      try {
        let previous: string | undefined;
        if (timeout !== undefined) {
          const { rows } = await client.query<{ value: string }>("SELECT current_setting('statement_timeout') AS value");
          previous = rows[0]?.value;
          await client.query(`SET LOCAL statement_timeout = ${timeout}`);
        }
        const child: Frame = { manager: this, client, depth: frame.depth + 1, lock: new Mutex(), seq: 0 };
        const result = await frames.run(child, () => fn(client));
        await client.query(`RELEASE SAVEPOINT ${savepoint}`);
        // SET LOCAL outlives a released savepoint; put the outer value back.
        if (previous !== undefined) await client.query("SELECT set_config('statement_timeout', $1, true)", [previous]);
        return result;
      } catch (err) {
        // Rolling back to the savepoint also undoes its SET LOCAL.
        if (!isBroken(err)) {
          await client.query(`ROLLBACK TO SAVEPOINT ${savepoint}; RELEASE SAVEPOINT ${savepoint}`).catch(() => undefined);
        }
        throw this.translate(err);
      }
    });
  }

  private async checkout(): Promise<pg.PoolClient> {
    this.active++;
    try {
      return await this.pool.connect();
    } catch (err) {
      this.settle();
      throw this.checkoutError(err);
    }
  }

  private checkoutError(err: unknown): unknown {
    if (/timeout exceeded when trying to connect/i.test(messageOf(err))) {
      return new PoolExhaustedError(`every connection of tenant "${this.label}" is busy; try again shortly`);
    }
    if (isAuthenticationError(err)) return toToolkitError(err);
    if (isConnectionError(err)) {
      return new DatabaseUnavailableError(`the database of tenant "${this.label}" is unavailable: ${messageOf(err)}`, {
        cause: err,
      });
    }
    return err;
  }

  private checkin(client: pg.PoolClient, broken: Error | undefined): void {
    // A socket that died while checked out (the client's guard saw it) is never reused.
    client.release(broken ?? clientFailure(client));
    this.settle();
  }

  private settle(): void {
    this.active--;
    if (this.active === 0 && this.idleWaiters.length > 0) {
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  private translate(err: unknown): unknown {
    if (isStatementTimeout(err)) {
      return new QueryTimeoutError(`a query of tenant "${this.label}" ran longer than its statement timeout`, { cause: err });
    }
    if (isConnectionError(err) && !(err instanceof DatabaseUnavailableError)) {
      return new DatabaseUnavailableError(`the database of tenant "${this.label}" is unavailable: ${messageOf(err)}`, {
        cause: err,
      });
    }
    return err;
  }
}

/** The connection itself failed (not just the statement): it must not be reused. */
function isBroken(err: unknown): boolean {
  return err instanceof DatabaseUnavailableError || isConnectionError(err);
}

function beginSql(options: TxOptions): string {
  let sql = 'BEGIN';
  if (options.isolation !== undefined) {
    if (!ISOLATION_LEVELS.includes(options.isolation)) throw new UsageError(`unknown isolation level "${options.isolation}"`);
    sql += ` ISOLATION LEVEL ${options.isolation.toUpperCase()}`;
  }
  if (options.readOnly) sql += ' READ ONLY';
  // One round trip: BEGIN and SET LOCAL go as a single simple-protocol query.
  if (options.statementTimeoutMs !== undefined) sql += `; SET LOCAL statement_timeout = ${timeoutValue(options.statementTimeoutMs)}`;
  return sql;
}

/** The only value ever spliced into SQL here: a validated integer. */
function timeoutValue(ms: number): number {
  if (!Number.isInteger(ms) || ms < 0 || ms > 2_147_483_647) {
    throw new UsageError(`statementTimeoutMs must be a non-negative integer, got ${ms}`);
  }
  return ms;
}

/** A promise-chain lock: runs callers one after another. */
class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
