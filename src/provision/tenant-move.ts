/**
 * `tenant move <tenant> --to <server>`, as a journalled state machine
 * (tenant_moves; each step is recorded before it acts, so a rerun knows
 * what may exist):
 *   1. locks: the tenant's move lock (a meta session of its own: a rerun
 *      tells a live move from an abandoned one), its credential lock (no
 *      rotation meanwhile) and its migration lock on the source database
 *      (no fleet migrate meanwhile); an abandoned earlier move is finished
 *      or rolled back first (move-recovery.ts);
 *   2. moving: journal row + status `moving`, one meta transaction (servers
 *      answer 503, workers and fleet runs skip it);
 *   3. fenced: the tenant's login loses CONNECT on the source, its sessions end;
 *   4. roles, database: the tenant's roles and database on the target, at its
 *      exact schema version;
 *   5. copy: every table in one snapshot, rows and checksums compared;
 *   6. switch: one meta transaction points the tenant at the target with its
 *      status back (NOTIFY: every server re-reads the row and retires the old pool);
 *   7. kept: the source renamed `<db>_moved_<timestamp>` (or dropped with
 *      `dropSource`), journal `succeeded` with the report.
 * A failure before the switch rolls back (target dropped, source reopened,
 * status restored); after it, the move is done and a rerun finishes step 7.
 */
import type pg from 'pg';
import { redact } from '../redact.js';
import { InvalidStateError, MoveError, TenantToolkitError, messageOf } from '../errors.js';
import { withAdminConnection, withOwnerConnection } from '../pg/admin-connection.js';
import { advisoryKey } from '../pg/identifiers.js';
import { DEFAULT_LOCK_LABEL, releaseLock, takeLock } from '../schema/migration-lock.js';
import type { Tenant } from '../tenants/tenant.js';
import { withCredentialLock } from './credential-rotation.js';
import { copyFromSession } from './database-copy.js';
import { adminOf, targetContext, tenantLogins, usableTarget, withMoveLock, type MoveDeps } from './move-context.js';
import { MOVABLE_STATUSES, getMove, runningMoves, setStep, startMove, switchTenant, type MoveRecord } from './move-journal.js';
import { finishSwitched, recoverMove, rollBackMove, type RecoveryOutcome } from './move-recovery.js';
import { assertTargetFree, buildTargetDatabase, prepareTargetRoles, type TargetServer } from './move-target.js';
import { fenceSource, keptSourceName } from './source-fence.js';
import type { CopyEvent } from './table-copy.js';
import { journalReport, type MoveReport } from './move-report.js';

export type { MoveReport } from './move-report.js';
import { existingRoles } from './tenant-roles.js';

export type MoveStep = 'locked' | 'moving' | 'fenced' | 'roles' | 'database' | 'copy' | 'switched' | 'kept' | 'rollback';

export type MoveEvent = { type: 'step'; step: MoveStep; detail?: string } | { type: 'recovered'; outcome: RecoveryOutcome } | CopyEvent;

export interface MoveOptions {
  actor: string;
  /** Drop the source database at the end instead of keeping it renamed. */
  dropSource?: boolean;
  /** Wait this long for the tenant's migration lock (a fleet migrate running on it); default 60 s. */
  lockWaitMs?: number;
  /** Told of each step and copy progress; awaited for steps (the kill tests stop there). */
  onEvent?: (event: MoveEvent) => void | Promise<void>;
}

export async function moveTenant(deps: MoveDeps, ref: string, targetName: string, options: MoveOptions): Promise<MoveReport> {
  const started = performance.now();
  let tenant = await deps.registry.resolve(ref);
  return withMoveLock(deps, tenant, async () => {
    const recovered = await recoverRunning(deps, tenant, options);
    tenant = await deps.registry.resolve(tenant.id);
    // A rerun of a move killed after its switch: finishing it was the whole job.
    if (recovered?.action === 'finished' && tenant.serverName === targetName) {
      const move = await getMove(deps.metaPool, recovered.moveId);
      if (move) return { ...journalReport(move, tenant, started), recovered };
    }
    const target = await validate(deps, tenant, targetName);
    const report = await withCredentialLock(deps.connections.metaUrl, tenant, () => run(deps, tenant, target, options, started));
    return recovered ? { ...report, recovered } : report;
  });
}

async function recoverRunning(deps: MoveDeps, tenant: Tenant, options: MoveOptions): Promise<RecoveryOutcome | undefined> {
  let last: RecoveryOutcome | undefined;
  for (const move of await runningMoves(deps.metaPool, tenant.id)) {
    last = await recoverMove(deps, move, options.actor, { dropSource: options.dropSource === true });
    await options.onEvent?.({ type: 'recovered', outcome: last });
  }
  return last;
}

async function validate(deps: MoveDeps, tenant: Tenant, targetName: string): Promise<TargetServer> {
  if (!MOVABLE_STATUSES.includes(tenant.status)) {
    throw new InvalidStateError(`tenant "${tenant.slug}" is ${tenant.status}; only ${MOVABLE_STATUSES.join(', ')} tenants can be moved`);
  }
  if (tenant.ownerRole === null) {
    throw new MoveError(`tenant "${tenant.slug}" has no owner role (created before least privilege)`, {
      hint: `run \`tenant credentials isolate ${tenant.slug}\` first`,
    });
  }
  if (tenant.serverName === targetName) {
    throw new InvalidStateError(`tenant "${tenant.slug}" is already on server "${targetName}"`);
  }
  const server = await usableTarget(deps, targetName);
  if (tenant.appRole && !deps.secrets) throw new MoveError('moving an isolated tenant needs the secret store (TENANT_SECRET_KEY)');
  return { name: server.name, host: server.host, port: server.port };
}

async function step(options: MoveOptions, name: MoveStep, detail?: string): Promise<void> {
  await options.onEvent?.({ type: 'step', step: name, ...(detail !== undefined ? { detail } : {}) });
}

async function run(deps: MoveDeps, tenant: Tenant, target: TargetServer, options: MoveOptions, started: number): Promise<MoveReport> {
  const admin = adminOf(deps);
  const owner = tenant.ownerRole as string;
  // The source session: it holds the migration lock until the switch, and later reads the snapshot.
  const switched = await withOwnerConnection(admin, tenant, owner, async (source) => {
    const lock = advisoryKey(DEFAULT_LOCK_LABEL);
    await takeLock(source, lock, { lockWaitMs: options.lockWaitMs ?? 60_000 });
    try {
      await step(options, 'locked');
      const movingSince = performance.now();
      const { move, tenant: moving } = await startMove(deps.metaPool, {
        kind: 'move',
        tenant,
        targetServer: target.name,
        targetDb: tenant.dbName,
        actor: options.actor,
      });
      await step(options, 'moving', move.id);
      try {
        return { ...(await copyPhase(deps, move, moving, target, source, options, movingSince)), move };
      } catch (err) {
        await step(options, 'rollback', messageOf(err)).catch(() => undefined);
        const undone = await rollBackMove(deps, move, options.actor, { failed: redact(messageOf(err)) }).then(
          () => true,
          () => false,
        );
        if (!undone) {
          // The journal still says running: the tenant stays `moving` until a rerun or `tenant repair` rolls it back.
          throw new MoveError(`moving tenant "${tenant.slug}" failed and could not be rolled back yet: ${messageOf(err)}`, {
            cause: err,
            hint: `run \`tenant repair\` (or this move again) once server "${target.name}" and "${tenant.serverName}" are reachable`,
          });
        }
        if (err instanceof TenantToolkitError) throw err;
        throw new MoveError(`moving tenant "${tenant.slug}" failed: ${messageOf(err)}; it stays on server "${tenant.serverName}"`, {
          cause: err,
        });
      }
    } finally {
      await releaseLock(source, lock);
    }
  });
  await step(options, 'switched', target.name);
  const kept = await finishSwitched(deps, switched.tenantAfter, switched.move.id, options.dropSource === true, options.actor);
  await step(options, 'kept', kept.dropped ? 'dropped' : (kept.keptAs ?? ''));
  const { copy, via, move } = switched;
  return {
    moveId: move.id,
    tenant: switched.tenantAfter,
    source: { server: move.sourceServer, dbName: move.sourceDb, keptAs: kept.dropped ? null : kept.keptAs, dropped: kept.dropped },
    target: { server: target.name, dbName: move.targetDb, via },
    tables: copy.tables,
    rows: copy.rows,
    bytes: copy.bytes,
    sequences: copy.sequences,
    durationMs: performance.now() - started,
    downtimeMs: switched.downtimeMs,
  };
}

/** Steps 3-6; the caller rolls back on any failure. */
async function copyPhase(
  deps: MoveDeps,
  move: MoveRecord,
  tenant: Tenant,
  target: TargetServer,
  source: pg.ClientBase,
  options: MoveOptions,
  movingSince: number,
) {
  const admin = adminOf(deps);
  const owner = tenant.ownerRole as string;
  const logins = tenantLogins(deps, tenant);
  await withAdminConnection(admin, { host: tenant.dbHost, port: tenant.dbPort }, (a) => fenceSource(a, tenant.dbName, logins));
  await setStep(deps.metaPool, move.id, 'fenced');
  await step(options, 'fenced');

  const password = tenant.appRole ? (await deps.secrets?.read(tenant.id))?.current : undefined;
  if (tenant.appRole && !password) throw new MoveError(`tenant "${tenant.slug}" has no sealed password to give its login on the target`);
  const via = await withAdminConnection(admin, target, async (a) => {
    await assertTargetFree(a, target, tenant.dbName);
    // Recorded before they are made: a rollback drops only roles that were not already there.
    const preexisting = await existingRoles(a, [owner, ...(tenant.appRole ? [tenant.appRole] : [])]);
    await setStep(deps.metaPool, move.id, 'roles', { preexistingRoles: preexisting });
    await step(options, 'roles', owner);
    await prepareTargetRoles(targetContext(deps), a, {
      owner,
      app: tenant.appRole ? { role: tenant.appRole, password: password as string } : null,
    });
    await setStep(deps.metaPool, move.id, 'database');
    await step(options, 'database', target.name);
    return buildTargetDatabase(targetContext(deps), a, target, {
      dbName: tenant.dbName,
      owner,
      app: logins[0] as string,
      schemaVersion: tenant.schemaVersion,
    });
  });
  await setStep(deps.metaPool, move.id, 'copy', { via });
  await step(options, 'copy');
  const copy = await copyFromSession(
    admin,
    source,
    { address: { dbName: tenant.dbName, dbHost: target.host, dbPort: target.port }, owner },
    (event) => void options.onEvent?.(event),
  );
  const keptAs = keptSourceName(tenant.dbName, new Date());
  const downtimeMs = performance.now() - movingSince;
  const tenantAfter = await switchTenant(deps.metaPool, {
    move,
    target,
    keptAs,
    actor: options.actor,
    report: {
      via,
      tables: copy.tables.map((t) => ({ table: t.table, rows: t.rows, bytes: t.bytes, durationMs: Math.round(t.durationMs) })),
      rows: copy.rows,
      bytes: copy.bytes,
      sequences: copy.sequences,
      downtimeMs: Math.round(downtimeMs),
    },
  });
  return { copy, via, tenantAfter, downtimeMs };
}
