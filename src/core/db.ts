/** Resource helpers: whatever they take, they release in `finally`. */
import pg from 'pg';
import { isConnectionError } from '../errors.js';

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
    client.release(broken);
  }
}

/** Opens a single dedicated connection (not pooled) and closes it afterwards. */
export async function withConnection<T>(config: pg.ClientConfig, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(config);
  // An idle connection that the server drops must not crash the process.
  client.on('error', () => undefined);
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

// Connection URLs are read in one place (socket folders and sslmode included).
export { withDatabase, databaseOf } from './connection-url.js';
