/** Resource helpers: whatever they take, they release in `finally`. */
import pg from 'pg';
import { isConnectionError } from '../errors.js';

/** Socket failures seen on each guarded client; a client listed here is never reused. */
const failures = new WeakMap<pg.ClientBase, Error>();

/**
 * Gives the client an 'error' listener for its whole life. pg's Pool listens
 * only while a client is idle; a socket that dies while it is checked out
 * (TCP reset, backend killed, failover) makes pg.Client emit 'error', and
 * with no listener Node ends the process, and every tenant with it. The
 * failure is remembered so the client is released as broken.
 */
export function guardClient(client: pg.ClientBase, onError?: (err: Error) => void): void {
  client.on('error', (err: Error) => {
    // A dead client can emit twice ('error', then 'end'); report it once.
    if (failures.has(client)) return;
    failures.set(client, err);
    onError?.(err);
  });
}

/** Guards every client the pool opens (see guardClient). Call right after creating the pool. */
export function guardPool(pool: pg.Pool, onError?: (err: Error) => void): pg.Pool {
  pool.on('connect', (client) => guardClient(client, onError));
  // The pool re-emits errors of idle clients; guardClient already saw them.
  pool.on('error', () => undefined);
  return pool;
}

/** The socket failure a guarded client has seen, if any. */
export function clientFailure(client: pg.ClientBase): Error | undefined {
  return failures.get(client);
}

export async function withClient<T>(source: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await source.connect();
  let broken: Error | undefined;
  try {
    return await fn(client);
  } catch (err) {
    // A connection that failed must not go back into the pool.
    if (isConnectionError(err)) broken = err as Error;
    throw err;
  } finally {
    client.release(broken ?? clientFailure(client));
  }
}

/** Opens a single dedicated connection (not pooled) and closes it afterwards. */
export async function withConnection<T>(config: pg.ClientConfig, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(config);
  // A connection that the server drops must not crash the process.
  guardClient(client);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function withTransaction<T>(client: pg.ClientBase, fn: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await fn();
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
