/**
 * The `tenant_moves` journal a move or clone is resumed or rolled back from
 * (db/meta/00003_servers.sql), and the meta transactions of a move: start
 * (journal row + status `moving`), switch (the tenant points at the target,
 * its status back, the source recorded as moved) and restore on rollback.
 * Each status change is audited and NOTIFYed in the same transaction, so
 * every server re-reads the row at commit.
 */
import type pg from 'pg';
import { InvalidStateError, MoveError, isUniqueViolation } from '../errors.js';
import { advisoryKey } from '../pg/identifiers.js';
import { withClient, withTransaction } from '../pg/with-helpers.js';
import { insertAudit, notifyTenantChange } from '../tenants/tenant-registry.js';
import { placeTenant } from '../servers/server-placement.js';
import { tenantFromRow, type Tenant, type TenantRow, type TenantStatus } from '../tenants/tenant.js';

export type MoveKind = 'move' | 'clone';
export type MoveStatus = 'running' | 'succeeded' | 'failed' | 'rolled_back';

export interface MoveRecord {
  id: string;
  kind: MoveKind;
  tenantId: string;
  cloneId: string | null;
  sourceServer: string;
  sourceDb: string;
  targetServer: string;
  targetDb: string;
  previousStatus: TenantStatus | null;
  step: string;
  status: MoveStatus;
  actor: string;
  report: Record<string, unknown>;
  error: string | null;
  startedAt: Date;
  finishedAt: Date | null;
}

interface MoveRow {
  id: string;
  kind: MoveKind;
  tenant_id: string;
  clone_id: string | null;
  source_server: string;
  source_db: string;
  target_server: string;
  target_db: string;
  previous_status: TenantStatus | null;
  step: string;
  status: MoveStatus;
  actor: string;
  report: Record<string, unknown>;
  error: string | null;
  started_at: Date;
  finished_at: Date | null;
}

function moveFromRow(row: MoveRow): MoveRecord {
  return {
    id: row.id,
    kind: row.kind,
    tenantId: row.tenant_id,
    cloneId: row.clone_id,
    sourceServer: row.source_server,
    sourceDb: row.source_db,
    targetServer: row.target_server,
    targetDb: row.target_db,
    previousStatus: row.previous_status,
    step: row.step,
    status: row.status,
    actor: row.actor,
    report: row.report,
    error: row.error,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}

/** The lock a live mover (or cloner) of this tenant holds on a meta connection of its own: a free lock means an abandoned journal row. */
export function moveLockKey(tenantId: string): string {
  return advisoryKey(`metapus-tenant:move:${tenantId}`);
}

/** Statuses a tenant may be moved from (and goes back to). */
export const MOVABLE_STATUSES: readonly TenantStatus[] = ['active', 'suspended', 'migration_failed'];

export interface JournalStart {
  kind: MoveKind;
  tenant: Tenant;
  cloneId?: string;
  targetServer: string;
  targetDb: string;
  actor: string;
}

function refuseRunning(err: unknown, tenant: Tenant): never {
  if (isUniqueViolation(err)) {
    throw new InvalidStateError(`tenant "${tenant.slug}" has a move or clone in progress`, {
      hint: 'wait for it, or run `tenant repair` if it was killed',
      cause: err,
    });
  }
  throw err;
}

/** A clone's journal row (the source keeps its status). */
export async function insertJournal(pool: pg.Pool, start: JournalStart): Promise<MoveRecord> {
  const { rows } = await pool
    .query<MoveRow>(
      `INSERT INTO tenant_moves (kind, tenant_id, clone_id, source_server, source_db, target_server, target_db, actor)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
      [
        start.kind,
        start.tenant.id,
        start.cloneId ?? null,
        start.tenant.serverName,
        start.tenant.dbName,
        start.targetServer,
        start.targetDb,
        start.actor,
      ],
    )
    .catch((err: unknown) => refuseRunning(err, start.tenant));
  return moveFromRow(rows[0] as MoveRow);
}

/** One transaction: the journal row, and the tenant `moving` (compare-and-set from a movable status). */
export async function startMove(pool: pg.Pool, start: JournalStart): Promise<{ move: MoveRecord; tenant: Tenant }> {
  return withClient(pool, (client) =>
    withTransaction(client, async () => {
      const { rows: current } = await client.query<TenantRow>('SELECT * FROM tenants WHERE id = $1 FOR UPDATE', [start.tenant.id]);
      const before = current[0];
      if (!before || !MOVABLE_STATUSES.includes(before.status) || before.server_name !== start.tenant.serverName) {
        throw new InvalidStateError(`tenant "${start.tenant.slug}" changed while the move was starting; run the move again`);
      }
      // The target's place is taken by placement's rule, under its lock: racing creates and moves see this move.
      await placeTenant(client, { kind: 'server', name: start.targetServer });
      const { rows } = await client
        .query<MoveRow>(
          `INSERT INTO tenant_moves (kind, tenant_id, source_server, source_db, target_server, target_db, previous_status, step, actor)
           VALUES ('move', $1, $2, $3, $4, $5, $6, 'moving', $7) RETURNING *`,
          [before.id, before.server_name, before.db_name, start.targetServer, start.targetDb, before.status, start.actor],
        )
        .catch((err: unknown) => refuseRunning(err, start.tenant));
      const move = moveFromRow(rows[0] as MoveRow);
      const updated = await client.query<TenantRow>("UPDATE tenants SET status = 'moving', updated_at = now() WHERE id = $1 RETURNING *", [
        before.id,
      ]);
      const tenant = tenantFromRow(updated.rows[0] as TenantRow);
      await insertAudit(client, tenant, 'move.started', start.actor, {
        from: before.status,
        to: 'moving',
        moveId: move.id,
        target: start.targetServer,
      });
      await notifyTenantChange(client, tenant, before.status);
      return { move, tenant };
    }),
  );
}

export async function setStep(pool: Pick<pg.Pool, 'query'>, moveId: string, step: string, report?: Record<string, unknown>): Promise<void> {
  await pool.query('UPDATE tenant_moves SET step = $2, report = report || $3 WHERE id = $1', [moveId, step, report ?? {}]);
}

export async function finishJournal(
  pool: Pick<pg.Pool, 'query'>,
  moveId: string,
  status: Exclude<MoveStatus, 'running'>,
  extra: { step?: string; report?: Record<string, unknown>; error?: string } = {},
): Promise<void> {
  await pool.query(
    `UPDATE tenant_moves SET status = $2, step = coalesce($3, step), report = report || $4, error = $5, finished_at = now() WHERE id = $1`,
    [moveId, status, extra.step ?? null, extra.report ?? {}, extra.error ?? null],
  );
}

export interface SwitchInput {
  move: MoveRecord;
  target: { name: string; host: string; port: number };
  /** The name the source database is kept under. */
  keptAs: string;
  actor: string;
  report: Record<string, unknown>;
}

/**
 * The switch, one meta transaction: the tenant points at the target with
 * its status back, the kept source is recorded, the journal says `switched`
 * (it ends `succeeded` once the source is renamed). Commit = the move happened.
 */
export async function switchTenant(pool: pg.Pool, input: SwitchInput): Promise<Tenant> {
  const { move } = input;
  return withClient(pool, (client) =>
    withTransaction(client, async () => {
      const { rows } = await client.query<TenantRow>(
        `UPDATE tenants SET server_name = $2, db_host = $3, db_port = $4, status = $5, updated_at = now()
          WHERE id = $1 AND status = 'moving' AND server_name = $6 RETURNING *`,
        [move.tenantId, input.target.name, input.target.host, input.target.port, move.previousStatus, move.sourceServer],
      );
      if (!rows[0]) throw new MoveError('the tenant is no longer `moving` on its source server; the move was not switched');
      const tenant = tenantFromRow(rows[0]);
      await client.query(
        `INSERT INTO moved_databases (server_name, db_name, tenant_id, move_id) VALUES ($1, $2, $3, $4)
         ON CONFLICT (server_name, db_name) DO UPDATE SET tenant_id = $3, move_id = $4, moved_at = now(), dropped_at = NULL`,
        [move.sourceServer, input.keptAs, move.tenantId, move.id],
      );
      await client.query(`UPDATE tenant_moves SET step = 'switched', report = report || $2 WHERE id = $1`, [
        move.id,
        { ...input.report, keptAs: input.keptAs },
      ]);
      await insertAudit(client, tenant, 'move.completed', input.actor, {
        from: 'moving',
        to: tenant.status,
        moveId: move.id,
        source: move.sourceServer,
        target: input.target.name,
        keptAs: input.keptAs,
      });
      await notifyTenantChange(client, tenant, 'moving');
      return tenant;
    }),
  );
}

/** Rollback: a `moving` tenant goes back to the status it had, audited and NOTIFYed. */
export async function restoreStatus(pool: pg.Pool, move: MoveRecord, actor: string, reason: string): Promise<Tenant | undefined> {
  return withClient(pool, (client) =>
    withTransaction(client, async () => {
      const { rows } = await client.query<TenantRow>(
        `UPDATE tenants SET status = $2, updated_at = now() WHERE id = $1 AND status = 'moving' RETURNING *`,
        [move.tenantId, move.previousStatus ?? 'active'],
      );
      if (!rows[0]) return undefined;
      const tenant = tenantFromRow(rows[0]);
      await insertAudit(client, tenant, 'move.rolled_back', actor, { from: 'moving', to: tenant.status, moveId: move.id, reason });
      await notifyTenantChange(client, tenant, 'moving');
      return tenant;
    }),
  );
}

/** Running journal rows (of one tenant, or all). */
export async function runningMoves(pool: Pick<pg.Pool, 'query'>, tenantId?: string): Promise<MoveRecord[]> {
  const { rows } = await pool.query<MoveRow>(
    `SELECT * FROM tenant_moves WHERE status = 'running' AND ($1::uuid IS NULL OR tenant_id = $1) ORDER BY started_at`,
    [tenantId ?? null],
  );
  return rows.map(moveFromRow);
}

export async function getMove(pool: Pick<pg.Pool, 'query'>, moveId: string): Promise<MoveRecord | undefined> {
  const { rows } = await pool.query<MoveRow>('SELECT * FROM tenant_moves WHERE id = $1', [moveId]);
  return rows[0] ? moveFromRow(rows[0]) : undefined;
}
