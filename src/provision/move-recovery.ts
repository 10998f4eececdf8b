/**
 * Finishing or rolling back a move or clone whose process died (or failed):
 * the journal row says how far it got. A move whose switch committed is
 * done; only keeping its source is left (rename, or drop). Anything earlier
 * is rolled back: the target database and the roles the move made there
 * are dropped, the source's logins get CONNECT back, the tenant its status.
 * A clone's new tenant is discarded as an abandoned create is.
 */
import type pg from 'pg';
import { messageOf, sqlStateOf } from '../errors.js';
import { withAdminConnection } from '../pg/admin-connection.js';
import { withConnection } from '../pg/with-helpers.js';
import type { Tenant } from '../tenants/tenant.js';
import { databaseExists, dropDatabase, withTryLock } from './database-admin.js';
import { adminOf, protectedRoles, tenantLogins, type MoveDeps } from './move-context.js';
import { finishJournal, getMove, moveLockKey, restoreStatus, runningMoves, type MoveRecord } from './move-journal.js';
import { dropKept, keptDatabases } from './moved-databases.js';
import { keepSource, unfenceSource } from './source-fence.js';
import { discardProvisioning } from './tenant-creation.js';
import { dropRoles } from './tenant-roles.js';

export interface RecoveryOutcome {
  moveId: string;
  kind: 'move' | 'clone';
  tenantId: string;
  /** finished: the switch had committed, the source was kept; rolled_back: everything the run made is gone. */
  action: 'finished' | 'rolled_back';
  step: string;
  report?: Record<string, unknown>;
}

/** Steps after which the target database may exist / the move's roles may exist on the target. */
const DATABASE_STEPS = new Set(['database', 'copy']);
const ROLE_STEPS = new Set(['roles', 'database', 'copy']);

export async function recoverMove(
  deps: MoveDeps,
  move: MoveRecord,
  actor: string,
  options: { dropSource?: boolean } = {},
): Promise<RecoveryOutcome> {
  if (move.kind === 'move' && move.step === 'switched') {
    const tenant = await deps.registry.resolve(move.tenantId);
    const kept = await finishSwitched(deps, tenant, move.id, options.dropSource === true, actor);
    return { moveId: move.id, kind: move.kind, tenantId: move.tenantId, action: 'finished', step: move.step, report: kept.report };
  }
  if (move.kind === 'clone') await rollBackClone(deps, move, actor);
  else await rollBackMove(deps, move, actor, {});
  return { moveId: move.id, kind: move.kind, tenantId: move.tenantId, action: 'rolled_back', step: move.step };
}

/** After the switch: the source renamed to its kept name (or dropped), the journal `succeeded`. Idempotent. */
export async function finishSwitched(
  deps: MoveDeps,
  tenant: Tenant,
  moveId: string,
  dropSource: boolean,
  actor: string,
): Promise<{ keptAs: string | null; dropped: boolean; report: Record<string, unknown> }> {
  const move = (await getMove(deps.metaPool, moveId)) as MoveRecord;
  const keptAs = typeof move.report.keptAs === 'string' ? move.report.keptAs : null;
  if (keptAs) {
    const server = deps.servers.find(move.sourceServer) ?? (await deps.servers.refresh()).get(move.sourceServer);
    await withAdminConnection(adminOf(deps), server, async (admin) => {
      if (await databaseExists(admin, move.sourceDb)) await keepSource(admin, move.sourceDb, keptAs);
    });
  }
  let dropped = false;
  if (dropSource && keptAs) {
    for (const kept of await keptDatabases(deps.metaPool, { moveId })) await dropKept(deps, kept, actor);
    dropped = true;
  }
  await finishJournal(deps.metaPool, moveId, 'succeeded', { step: 'kept', report: { sourceDropped: dropped } });
  return { keptAs, dropped, report: { ...move.report, tenant: tenant.slug } };
}

/** SQLSTATE 2BP01: a role still owns something there (it was not ours to drop). */
const DEPENDENT_OBJECTS = '2BP01';

/** Before the switch: undoes what the journal says the move may have made. Idempotent. */
export async function rollBackMove(deps: MoveDeps, move: MoveRecord, actor: string, why: { failed?: string }): Promise<void> {
  const admin = adminOf(deps);
  const tenant = await deps.registry.getById(move.tenantId);
  const target = deps.servers.find(move.targetServer) ?? (await deps.servers.refresh()).get(move.targetServer);
  if (tenant && tenant.serverName !== move.targetServer && ROLE_STEPS.has(move.step)) {
    await withAdminConnection(admin, target, async (a) => {
      if (DATABASE_STEPS.has(move.step)) await dropDatabase(a, move.targetDb);
      const preexisting = Array.isArray(move.report.preexistingRoles) ? (move.report.preexistingRoles as string[]) : [];
      for (const role of [tenant.appRole, tenant.ownerRole]) {
        if (!role || preexisting.includes(role)) continue;
        await dropRoles(a, [role], protectedRoles(deps)).catch((err: unknown) => {
          if (sqlStateOf(err) !== DEPENDENT_OBJECTS) throw err;
        });
      }
    });
  }
  if (tenant && tenant.serverName === move.sourceServer) {
    const source = deps.servers.get(move.sourceServer);
    await withAdminConnection(admin, source, async (a) => {
      if (await databaseExists(a, move.sourceDb)) await unfenceSource(a, move.sourceDb, tenantLogins(deps, tenant));
    });
  }
  await restoreStatus(deps.metaPool, move, actor, why.failed ?? 'abandoned move rolled back');
  await finishJournal(deps.metaPool, move.id, why.failed ? 'failed' : 'rolled_back', { ...(why.failed ? { error: why.failed } : {}) });
}

/** A clone that did not finish: its new tenant (still `provisioning`) is discarded on its server, as an abandoned create is. */
export async function rollBackClone(deps: MoveDeps, move: MoveRecord, actor: string, why: { failed?: string } = {}): Promise<void> {
  const clone = move.cloneId ? await deps.registry.getById(move.cloneId) : undefined;
  if (clone && clone.status !== 'provisioning') {
    // It was activated: the clone is complete, only the journal lagged.
    await finishJournal(deps.metaPool, move.id, 'succeeded', { step: 'activated' });
    return;
  }
  const target = deps.servers.find(move.targetServer) ?? (await deps.servers.refresh()).get(move.targetServer);
  await withAdminConnection(adminOf(deps), target, async (a) => {
    if (clone) {
      await discardProvisioning(
        a,
        { registry: deps.registry, protectedRoles: protectedRoles(deps), secrets: deps.secrets },
        clone,
        actor,
        why.failed ?? 'abandoned clone rolled back',
      );
    } else if (DATABASE_STEPS.has(move.step)) {
      await dropDatabase(a, move.targetDb);
    }
  });
  await finishJournal(deps.metaPool, move.id, why.failed ? 'failed' : 'rolled_back', { ...(why.failed ? { error: why.failed } : {}) });
}

export interface MoveRepairResult {
  recovered: RecoveryOutcome[];
  /** Moves or clones running right now (their lock is held): left alone. */
  busy: string[];
  failed: { moveId: string; error: string }[];
}

/** `tenant repair`: every running journal row whose mover is gone is finished or rolled back. */
export async function repairMoves(deps: MoveDeps, actor: string): Promise<MoveRepairResult> {
  const result: MoveRepairResult = { recovered: [], busy: [], failed: [] };
  for (const move of await runningMoves(deps.metaPool)) {
    await withConnection({ connectionString: deps.connections.metaUrl, application_name: 'metapus-tenant:move' }, async (client: pg.Client) => {
      const held = await withTryLock(client, moveLockKey(move.tenantId), async () => {
        // Read again under the lock: the mover may have finished in between.
        const current = await getMove(deps.metaPool, move.id);
        if (current?.status !== 'running') return;
        result.recovered.push(await recoverMove(deps, current, actor));
      }).catch((err: unknown) => {
        result.failed.push({ moveId: move.id, error: messageOf(err) });
        return { locked: true as const, value: undefined };
      });
      if (!held.locked) result.busy.push(move.id);
    });
  }
  return result;
}
