/**
 * How many connections one process may hold to a PostgreSQL server when the
 * operator did not say (the server registry's `connections` left NULL, or no
 * registry at all): max_connections, less the reserved slots and the
 * connections open now, less a quarter kept for everyone else (the CLI, a
 * worker, another server process). The per-server budget (server-budget.ts)
 * measures each server this way on the first connection this process opens
 * to it.
 */
import type pg from 'pg';

export interface ServerConnections {
  maxConnections: number;
  /** superuser_reserved_connections + reserved_connections (PostgreSQL 16+). */
  reserved: number;
  /** Client connections open right now (ours included). */
  inUse: number;
}

/** The share of the free connections the server takes for itself. */
const SHARE = 3 / 4;

/** The server's connection numbers, or undefined if it will not say (the caller then keeps its fallback). */
export async function readServerConnections(pool: Pick<pg.Pool, 'query'>): Promise<ServerConnections | undefined> {
  try {
    const { rows } = await pool.query<{ max: number; reserved: number; in_use: number }>(
      `SELECT current_setting('max_connections')::int AS max,
              current_setting('superuser_reserved_connections')::int
                + coalesce(current_setting('reserved_connections', true)::int, 0) AS reserved,
              (SELECT count(*)::int FROM pg_stat_activity WHERE backend_type = 'client backend') AS in_use`,
    );
    const row = rows[0];
    return row ? { maxConnections: row.max, reserved: row.reserved, inUse: row.in_use } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The connections this process may use on the server: three quarters of
 * what is free now, at least one (a full server still serves, one
 * connection at a time).
 */
export function connectionBudget(server: ServerConnections): number {
  const free = server.maxConnections - server.reserved - server.inUse;
  return Math.max(1, Math.floor(free * SHARE));
}
