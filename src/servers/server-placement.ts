/**
 * Placement: which registered server a new tenant goes on. The choice is
 * made inside the meta transaction that inserts the tenant's `provisioning`
 * row: the candidate servers' rows are locked (FOR UPDATE, in name order),
 * their tenants counted after the lock is held, one chosen, and the row
 * inserted before the lock is let go. Two creates racing for the last free
 * place on a server therefore see each other's row, and a server is never
 * pushed over its capacity.
 */
import type pg from 'pg';
import { InvalidStateError, NoCapacityError, ServerNotFoundError, UsageError } from '../errors.js';
import { canonicalHost } from '../pg/server-key.js';
import type { ServerStatus } from './server.js';

/** Where a new tenant may go: anywhere with room, one named server, or the server at an address. */
export type PlacementRequest = { kind: 'auto' } | { kind: 'server'; name: string } | { kind: 'address'; host: string; port: number };

/** A server as placement weighs it. */
export interface PlacementCandidate {
  name: string;
  host: string;
  port: number;
  status: ServerStatus;
  /** null: no limit. */
  capacity: number | null;
  /** Tenants that are not deleted, plus moves and clones under way to it. */
  tenants: number;
}

/** Where placement put the tenant: its server and that server's address. */
export interface Placement {
  serverName: string;
  dbHost: string;
  dbPort: number;
}

/** Free places on a server; Infinity without a capacity. */
export function freeCapacity(server: Pick<PlacementCandidate, 'capacity' | 'tenants'>): number {
  return server.capacity === null ? Infinity : Math.max(0, server.capacity - server.tenants);
}

/**
 * The active server with the most free places (no capacity counts as
 * unlimited); ties go to the one with the fewest tenants, then to the name
 * first in order. Undefined when no active server has room.
 */
export function chooseServer<T extends PlacementCandidate>(candidates: readonly T[]): T | undefined {
  const open = candidates.filter((s) => s.status === 'active' && freeCapacity(s) > 0);
  open.sort((a, b) => {
    const fa = freeCapacity(a);
    const fb = freeCapacity(b);
    if (fa !== fb) return fb - fa;
    if (a.tenants !== b.tenants) return a.tenants - b.tenants;
    return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  });
  return open[0];
}

/** Counts what lives on (or is on its way to) each server; a clone's row already counts where it is. */
export const TENANTS_ON_SERVER_SQL = `
  (SELECT count(*) FROM tenants t WHERE t.server_name = s.name AND t.status <> 'deleted')::int
  + (SELECT count(*) FROM tenant_moves m
      WHERE m.target_server = s.name AND m.status = 'running' AND m.source_server <> s.name
        AND (m.kind = 'move' OR m.clone_id IS NULL))::int`;

/**
 * Chooses the server, on a connection inside the caller's transaction (the
 * one that inserts the tenant row): the locks taken here last until it ends.
 */
export async function placeTenant(client: Pick<pg.ClientBase, 'query'>, request: PlacementRequest): Promise<Placement> {
  const pinned = await pinnedServer(client, request);
  // Locked in name order so that two placements never wait on each other crosswise.
  const locked = await client.query<{ name: string }>(
    pinned === undefined
      ? `SELECT name FROM servers WHERE status = 'active' ORDER BY name FOR UPDATE`
      : `SELECT name FROM servers WHERE name = $1 FOR UPDATE`,
    pinned === undefined ? [] : [pinned],
  );
  if (pinned !== undefined && locked.rows.length === 0) throw new ServerNotFoundError(pinned);
  // Counted in a statement of its own, after the locks: it sees every create that held them before.
  const { rows } = await client.query<PlacementCandidate>(
    `SELECT s.name, s.host, s.port, s.status, s.capacity, ${TENANTS_ON_SERVER_SQL} AS tenants
       FROM servers s WHERE s.name = ANY($1) ORDER BY s.name`,
    [locked.rows.map((r) => r.name)],
  );
  if (pinned !== undefined) {
    const server = rows[0] as PlacementCandidate;
    if (server.status !== 'active') {
      throw new InvalidStateError(`server "${server.name}" is ${server.status}: it takes no new tenants`, {
        hint: `run \`tenant server activate ${server.name}\`, or create without --server to let placement choose`,
        details: { server: server.name, status: server.status },
      });
    }
    if (freeCapacity(server) === 0) {
      throw new NoCapacityError(`server "${server.name}" is full (${server.tenants} of ${server.capacity} tenants)`, {
        hint: `raise its capacity (\`tenant server set ${server.name} --capacity N\`) or create without --server`,
        details: { server: server.name, tenants: server.tenants, capacity: server.capacity },
      });
    }
    return { serverName: server.name, dbHost: server.host, dbPort: server.port };
  }
  const chosen = chooseServer(rows);
  if (!chosen) throw new NoCapacityError();
  return { serverName: chosen.name, dbHost: chosen.host, dbPort: chosen.port };
}

/** The server a request pins (by name, or the one registered at an address), or undefined to choose. */
async function pinnedServer(client: Pick<pg.ClientBase, 'query'>, request: PlacementRequest): Promise<string | undefined> {
  if (request.kind === 'auto') return undefined;
  if (request.kind === 'server') return request.name;
  const { rows } = await client.query<{ name: string }>('SELECT name FROM servers WHERE host = $1 AND port = $2', [
    canonicalHost(request.host),
    request.port,
  ]);
  if (!rows[0]) {
    throw new UsageError(`no server is registered at ${request.host}:${request.port}`, {
      hint: 'run `tenant server list` to see the servers (pin one with --server <name>), or register it with `tenant server add`',
      details: { host: request.host, port: request.port },
    });
  }
  return rows[0].name;
}
