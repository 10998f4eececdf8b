/**
 * `tenant clone <tenant> --slug new --name "…" [--server s]`: a new tenant
 * (its own roles and secret) holding a copy of another's data, through the
 * move's copy path. The source keeps serving: its data is read in one
 * snapshot and its status never changes. The clone is created like any
 * tenant (a `provisioning` row under the slug's create lock, so an
 * abandoned clone is cleaned by `tenant repair` or the next create of the
 * slug), built at the source's schema version, filled, verified, then
 * activated. A journal row (kind `clone`) records it.
 */
import { databaseOf } from '../connection-url.js';
import { redact } from '../redact.js';
import { InvalidStateError, MoveError, TenantExistsError, TenantToolkitError, messageOf } from '../errors.js';
import type pg from 'pg';
import { withAdminConnection } from '../pg/admin-connection.js';
import { placeTenant } from '../servers/server-placement.js';
import { randomPassword } from '../secrets/random-password.js';
import { scramSha256Verifier } from '../secrets/scram-verifier.js';
import { DEFAULT_PLAN, serverOf, validatePlan, type Tenant } from '../tenants/tenant.js';
import { copyDatabase } from './database-copy.js';
import { adminOf, protectedRoles, targetContext, usableTarget, withMoveLock, type MoveDeps } from './move-context.js';
import { MOVABLE_STATUSES, finishJournal, insertJournal, setStep } from './move-journal.js';
import { rollBackClone } from './move-recovery.js';
import { assertTargetFree, buildTargetDatabase, type TargetServer } from './move-target.js';
import type { TableCopied } from './table-copy.js';
import { abandonedCreate, discardProvisioning, withCreateLock } from './tenant-creation.js';
import type { MoveEvent, MoveStep } from './tenant-move.js';
import { tenantDatabaseName, tenantRoleNames, validateDisplayName, validateSlug } from './tenant-naming.js';
import { createAppRole, createOwnerRole } from './tenant-roles.js';

export interface CloneInput {
  slug: string;
  name: string;
  plan?: string;
  /** Pins the server; default: cloneServer(). */
  server?: string;
}

export interface CloneOptions {
  actor: string;
  onEvent?: (event: MoveEvent) => void | Promise<void>;
}

export interface CloneReport {
  moveId: string;
  source: Tenant;
  tenant: Tenant;
  server: string;
  via: 'template' | 'migrations';
  tables: TableCopied[];
  rows: number;
  bytes: number;
  sequences: number;
  durationMs: number;
}

/** Where a clone goes unless pinned: the one place server choice lives (placement plugs in here). */
export function cloneServer(source: Tenant, pinned: string | undefined): string {
  return pinned ?? serverOf(source);
}

export async function cloneTenant(deps: MoveDeps, ref: string, input: CloneInput, options: CloneOptions): Promise<CloneReport> {
  const started = performance.now();
  const reserved = [databaseOf(deps.connections.metaUrl), deps.template.name];
  const slug = validateSlug(input.slug, reserved);
  const name = validateDisplayName(input.name);
  const plan = validatePlan(input.plan ?? DEFAULT_PLAN);
  const dbName = tenantDatabaseName(deps.namePrefix, slug, reserved);
  const source = await deps.registry.resolve(ref);
  if (!MOVABLE_STATUSES.includes(source.status) || source.ownerRole === null) {
    throw new InvalidStateError(
      `tenant "${source.slug}" is ${source.status}${source.ownerRole === null ? ' without an owner role' : ''}; it cannot be cloned`,
    );
  }
  const server = await usableTarget(deps, cloneServer(source, input.server));
  const target: TargetServer = { name: server.name, host: server.host, port: server.port };
  const isolated = !!deps.secrets && deps.connections.isolateNewTenants;
  if (isolated) deps.secrets?.keyring.current();
  const step = (s: MoveStep, detail?: string) => options.onEvent?.({ type: 'step', step: s, ...(detail !== undefined ? { detail } : {}) });

  const cleanup = { registry: deps.registry, protectedRoles: protectedRoles(deps), secrets: deps.secrets };
  // The create lock on the meta database, as creates hold it: repair then tells a live clone from an abandoned one.
  const held = await withMoveLock(deps, source, () =>
    withCreateLock(deps.connections.metaUrl, slug, async () => {
      const abandoned = await abandonedCreate(deps.registry, slug);
      if (abandoned) {
        await withAdminConnection(adminOf(deps), { host: abandoned.dbHost, port: abandoned.dbPort }, (admin) =>
          discardProvisioning(admin, cleanup, abandoned, options.actor, 'abandoned create reclaimed'),
        );
      }
      const roles = tenantRoleNames(dbName);
      // Placed like a create (the server row locked, its tenants counted): a clone never overfills a server.
      const clone = await deps.registry.insertPlaced(
        { slug, name, plan, dbName, ownerRole: roles.owner, appRole: isolated ? roles.app : null },
        options.actor,
        (client) => placeTenant(client, { kind: 'server', name: server.name }),
      );
      let connected = false;
      try {
        return await withAdminConnection(adminOf(deps), target, async (admin) => {
          connected = true;
          await assertTargetFree(admin, target, dbName).catch(async (err: unknown) => {
            await deps.registry.removeProvisioning(clone, options.actor, { reason: messageOf(err), dbName });
            throw err;
          });
          return cloneInto(admin, clone, roles);
        });
      } catch (err) {
        // Its server could not be reached: nothing was made there, only the row is left to remove.
        if (!connected) await deps.registry.removeProvisioning(clone, options.actor, { reason: messageOf(err), dbName });
        throw err;
      }
    }),
  );
  if (!held.locked) throw new TenantExistsError(slug, { hint: 'another `tenant create` or clone of this slug is running' });
  return held.value;

  async function cloneInto(admin: pg.ClientBase, clone: Tenant, roles: { owner: string; app: string }): Promise<CloneReport> {
    const move = await insertJournal(deps.metaPool, {
      kind: 'clone',
      tenant: source,
      cloneId: clone.id,
      targetServer: target.name,
      targetDb: dbName,
      actor: options.actor,
    });
    try {
      await setStep(deps.metaPool, move.id, 'roles');
      await step('roles', roles.owner);
      await createOwnerRole(admin, roles.owner);
      if (isolated && deps.secrets) {
        const password = randomPassword();
        await deps.secrets.save(clone.id, roles.app, password);
        await createAppRole(admin, roles.app, scramSha256Verifier(password));
      }
      await setStep(deps.metaPool, move.id, 'database');
      await step('database', target.name);
      const app = isolated ? roles.app : deps.connections.tenant.user;
      const via = await buildTargetDatabase(targetContext(deps), admin, target, {
        dbName,
        owner: roles.owner,
        app,
        schemaVersion: source.schemaVersion,
      });
      await setStep(deps.metaPool, move.id, 'copy', { via });
      await step('copy');
      const copy = await copyDatabase(
        adminOf(deps),
        { address: source, owner: source.ownerRole as string },
        { address: { dbName, dbHost: target.host, dbPort: target.port }, owner: roles.owner },
        (event) => void options.onEvent?.(event),
      );
      await deps.registry.recordSchema(clone.id, source.schemaVersion, await deps.registry.recordedMigrations(source.id));
      const { tenant } = await deps.registry.changeStatus(clone.id, {
        from: ['provisioning'],
        to: 'active',
        actor: options.actor,
        action: 'clone.completed',
        details: { source: source.slug, via, rows: copy.rows },
      });
      const report = { via, rows: copy.rows, bytes: copy.bytes, sequences: copy.sequences, tables: copy.tables.length };
      await finishJournal(deps.metaPool, move.id, 'succeeded', { step: 'activated', report });
      return { moveId: move.id, source, tenant, server: target.name, via, ...copy, durationMs: performance.now() - started };
    } catch (err) {
      await rollBackClone(deps, move, options.actor, { failed: redact(messageOf(err)) }).catch(() => undefined);
      if (err instanceof TenantToolkitError) throw err;
      throw new MoveError(`cloning tenant "${source.slug}" failed: ${messageOf(err)}; nothing was kept`, { cause: err });
    }
  }
}
