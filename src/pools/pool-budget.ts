/**
 * How many tenant connections the reference server may hold, when the
 * operator did not say: TENANT_MAX_POOLS x TENANT_MAX_CONNS_PER_POOL left at
 * their defaults (100 x 10) would promise more connections than a stock
 * PostgreSQL has (max_connections 100). A limit left unset is fitted to the
 * server instead: max_connections, less the reserved slots and the
 * connections open now, less a quarter kept for everyone else (the CLI, a
 * worker, another server), split into pools of at most the default size.
 * A limit set explicitly is kept as it is, and warned about if it cannot fit.
 */
import type pg from 'pg';

export interface ServerConnections {
  maxConnections: number;
  /** superuser_reserved_connections + reserved_connections (PostgreSQL 16+). */
  reserved: number;
  /** Client connections open right now (ours included). */
  inUse: number;
}

export interface PoolLimitsInput {
  maxPools: number;
  maxConnsPerPool: number;
}

export interface FittedPoolLimits extends PoolLimitsInput {
  /** Connections the fitted limits may use; undefined when both limits were explicit. */
  budget: number | undefined;
}

/** The share of the free connections the server takes for itself. */
const SHARE = 3 / 4;

/** The server's connection numbers, or undefined if it will not say (the caller then keeps its limits). */
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
 * Fits the limits that were not set explicitly into the server's free
 * connections; `defaults` (the configured values) are the ceilings.
 */
export function fitPoolLimits(
  server: ServerConnections,
  defaults: PoolLimitsInput,
  explicit: { maxPools: boolean; maxConnsPerPool: boolean },
): FittedPoolLimits {
  if (explicit.maxPools && explicit.maxConnsPerPool) return { ...defaults, budget: undefined };
  const free = server.maxConnections - server.reserved - server.inUse;
  const budget = Math.max(1, Math.floor(free * SHARE));
  const maxConnsPerPool = explicit.maxConnsPerPool
    ? defaults.maxConnsPerPool
    : clamp(explicit.maxPools ? Math.floor(budget / defaults.maxPools) : budget, 1, defaults.maxConnsPerPool);
  const maxPools = explicit.maxPools ? defaults.maxPools : clamp(Math.floor(budget / maxConnsPerPool), 1, defaults.maxPools);
  return { maxPools, maxConnsPerPool, budget };
}

/** The warning to log when the limits promise at least as many connections as the server has; undefined if they fit. */
export function overCommitWarning(limits: PoolLimitsInput, server: ServerConnections): string | undefined {
  const cap = limits.maxPools * limits.maxConnsPerPool;
  if (cap < server.maxConnections) return undefined;
  return `warning: TENANT_MAX_POOLS x TENANT_MAX_CONNS_PER_POOL = ${cap} is not below the server's max_connections (${server.maxConnections}); lower them or raise max_connections`;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
