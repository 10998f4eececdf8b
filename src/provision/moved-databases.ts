/**
 * Source databases a move kept (renamed `<db>_moved_<timestamp>`, recorded
 * in `moved_databases`) until they are dropped on purpose: `tenant move
 * --drop-source` at the end of the move, or `tenant repair --drop-moved`.
 * With the last kept database of a tenant on a server gone (and the tenant
 * living elsewhere), its roles there are dropped too.
 */
import type pg from 'pg';
import { withAdminConnection } from '../pg/admin-connection.js';
import { sqlStateOf } from '../errors.js';
import { insertAudit } from '../tenants/tenant-registry.js';
import { dropDatabase } from './database-admin.js';
import { adminOf, protectedRoles, type MoveDeps } from './move-context.js';
import { dropRoles } from './tenant-roles.js';

export interface MovedDatabase {
  serverName: string;
  dbName: string;
  tenantId: string | null;
  moveId: string | null;
  movedAt: Date;
}

export async function keptDatabases(
  pool: Pick<pg.Pool, 'query'>,
  filter: { tenantId?: string; moveId?: string } = {},
): Promise<MovedDatabase[]> {
  const { rows } = await pool.query<{ server_name: string; db_name: string; tenant_id: string | null; move_id: string | null; moved_at: Date }>(
    `SELECT * FROM moved_databases WHERE dropped_at IS NULL AND ($1::uuid IS NULL OR tenant_id = $1) AND ($2::uuid IS NULL OR move_id = $2)
      ORDER BY moved_at, db_name`,
    [filter.tenantId ?? null, filter.moveId ?? null],
  );
  return rows.map((r) => ({ serverName: r.server_name, dbName: r.db_name, tenantId: r.tenant_id, moveId: r.move_id, movedAt: r.moved_at }));
}

/** SQLSTATE 2BP01: the role still owns something (another kept database of the tenant). */
const DEPENDENT_OBJECTS = '2BP01';

/** Drops one kept database (and the tenant's roles on that server when nothing of it is left there); records it. */
export async function dropKept(deps: MoveDeps, kept: MovedDatabase, actor: string): Promise<string[]> {
  const server = deps.servers.get(kept.serverName);
  const tenant = kept.tenantId ? await deps.registry.getById(kept.tenantId) : undefined;
  const dropped = await withAdminConnection(adminOf(deps), server, async (admin) => {
    await dropDatabase(admin, kept.dbName);
    if (!tenant || tenant.serverName === kept.serverName) return [];
    const { rowCount } = await deps.metaPool.query(
      'SELECT 1 FROM moved_databases WHERE server_name = $1 AND tenant_id = $2 AND dropped_at IS NULL AND db_name <> $3',
      [kept.serverName, tenant.id, kept.dbName],
    );
    if (rowCount) return [];
    const roles: string[] = [];
    for (const role of [tenant.appRole, tenant.ownerRole]) {
      // A role that still owns something there is left alone.
      const done = await dropRoles(admin, [role], protectedRoles(deps)).catch((err: unknown) => {
        if (sqlStateOf(err) === DEPENDENT_OBJECTS) return [];
        throw err;
      });
      roles.push(...done);
    }
    return roles;
  });
  await deps.metaPool.query('UPDATE moved_databases SET dropped_at = now() WHERE server_name = $1 AND db_name = $2', [
    kept.serverName,
    kept.dbName,
  ]);
  if (tenant) {
    await insertAudit(deps.metaPool, tenant, 'move.source_dropped', actor, {
      server: kept.serverName,
      dbName: kept.dbName,
      droppedRoles: dropped,
    });
  }
  return dropped;
}

/** `tenant repair --drop-moved`: every kept database (optionally one tenant's). */
export async function dropMovedDatabases(deps: MoveDeps, actor: string, tenantId?: string): Promise<MovedDatabase[]> {
  const kept = await keptDatabases(deps.metaPool, tenantId ? { tenantId } : {});
  for (const one of kept) await dropKept(deps, one, actor);
  return kept;
}
