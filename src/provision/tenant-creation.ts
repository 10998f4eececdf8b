/**
 * The create state machine, one named step each (see provisioner.ts for the
 * whole story): reclaim an abandoned create, register the row (with the role
 * names it will make), make the roles, build the database (template clone or
 * empty, owned by the tenant's owner role), migrate it as that owner, grant
 * the app role, activate it; on any failure roll back what this run made.
 * The caller holds the slug's create lock (on a meta connection, so it does
 * not depend on the server placement picks); the steps after registration
 * run on the admin connection of the server the tenant was placed on.
 */
import type pg from 'pg';
import { adminUrlFor, withOwnerConnection, type AdminAccess } from '../pg/admin-connection.js';
import { withConnection } from '../pg/with-helpers.js';
import { advisoryKey, ident } from '../pg/identifiers.js';
import type { Tenant, TenantPlan } from '../tenants/tenant.js';
import type { TenantRegistry } from '../tenants/tenant-registry.js';
import { placeTenant, type PlacementRequest } from '../servers/server-placement.js';
import { ProvisionError, TenantExistsError, TenantToolkitError, messageOf } from '../errors.js';
import { migrateDatabase, type DatabaseMigrateOutcome } from '../schema/database-migrator.js';
import type { MigrationFile } from '../schema/migration-files.js';
import { TENANT_STORAGE_TABLE } from '../migrate/tenant-migrator.js';
import { randomPassword } from '../secrets/random-password.js';
import { scramSha256Verifier } from '../secrets/scram-verifier.js';
import type { TenantSecretStore } from '../secrets/tenant-secret-store.js';
import { createDatabase, databaseExists, dropDatabase, revokePublic, withTryLock } from './database-admin.js';
import type { TemplateDatabase } from './template-database.js';
import { grantTenantAccess } from './tenant-grants.js';
import { tenantRoleNames } from './tenant-naming.js';
import { createAppRole, createOwnerRole, dropRoles } from './tenant-roles.js';

export type CreateStep = 'reclaim' | 'register' | 'roles' | 'database' | 'migrate' | 'grants' | 'activate' | 'template' | 'rollback';

export interface CreateTenantInput {
  slug: string;
  name: string;
  plan?: string;
  /** Pins the tenant to this registered server (else placement chooses). */
  server?: string;
  /** Pins the tenant to the server registered at this address (a missing one is the configured TENANT_DB_HOST/PORT's). */
  host?: string;
  port?: number;
  settings?: Record<string, unknown>;
}

export interface CreateTenantOptions {
  actor: string;
  onStep?: (step: CreateStep, detail?: string) => void;
  /** Use the template fast path (default true). */
  useTemplate?: boolean;
  /** Rebuild a missing or stale template after creating by migrations (default true). */
  rebuildTemplate?: boolean;
  signal?: AbortSignal;
}

export interface CreateTenantResult {
  tenant: Tenant;
  via: 'template' | 'migrations';
  durationMs: number;
  applied: number;
  templateWarning?: string;
}

/** A create's input after validation: nothing here can still be refused as usage. */
export interface ValidCreateInput {
  slug: string;
  name: string;
  plan: TenantPlan;
  dbName: string;
  /** Where the tenant may go (placement decides in the transaction that registers it). */
  placement: PlacementRequest;
}

/** What the steps share: the registry, the admin login, the roles, the template, the migrations. */
export interface CreationContext {
  registry: TenantRegistry;
  /** POSTGRES_ADMIN_URL (or the embedded superuser): migrations log in with it and SET ROLE to the owner. */
  adminUrl: AdminAccess;
  /** The shared tenant role (TENANT_DB_USER): the app role of tenants in shared mode. */
  sharedRole: string;
  /** Roles a cleanup never drops, whatever a row says (the shared role, the admin). */
  protectedRoles: readonly string[];
  /** New tenants get their own app login role (its sealed password in `secrets`). */
  isolated: boolean;
  secrets: TenantSecretStore | undefined;
  template: TemplateDatabase;
  files: MigrationFile[];
}

/** What a cleanup needs. */
export type CleanupContext = Pick<CreationContext, 'registry' | 'protectedRoles' | 'secrets'>;

/** One create in progress. */
export interface CreateRun {
  valid: ValidCreateInput;
  /** The server the tenant was placed on (set by registration). */
  server: { host: string; port: number };
  settings: Record<string, unknown> | undefined;
  options: CreateTenantOptions;
  step: (step: CreateStep, detail?: string) => void;
  started: number;
}

/** The per-slug lock a live create holds; `tenant repair` tells abandoned creates by it. */
export function createLockKey(slug: string): string {
  return advisoryKey(`metapus-tenant:create:${slug}`);
}

/**
 * Runs fn under the slug's create lock, held on a connection to the meta
 * database (whichever server the tenant goes on), or reports it taken.
 * Anything that makes a `provisioning` row (create, clone) holds it.
 */
export function withCreateLock<T>(metaUrl: string, slug: string, fn: () => Promise<T>): Promise<{ locked: true; value: T } | { locked: false }> {
  return withConnection({ connectionString: metaUrl, application_name: 'metapus-tenant:create' }, (meta) =>
    withTryLock(meta, createLockKey(slug), fn),
  );
}

/**
 * Drops what a create made, in order: the database, then the roles (derived
 * from the database name, so even a row that never recorded them is
 * cleaned), then the sealed secret, then the `provisioning` row.
 */
export async function discardProvisioning(
  admin: pg.ClientBase,
  ctx: CleanupContext,
  tenant: Tenant,
  actor: string,
  reason: string,
): Promise<void> {
  await dropDatabase(admin, tenant.dbName);
  const derived = tenantRoleNames(tenant.dbName);
  await dropRoles(admin, [derived.owner, derived.app, tenant.ownerRole, tenant.appRole], ctx.protectedRoles);
  await ctx.secrets?.remove(tenant.id);
  await ctx.registry.removeProvisioning(tenant, actor, { reason, dbName: tenant.dbName });
}

/** A run for a validated input; its server is known once it is registered. */
export function startRun(valid: ValidCreateInput, input: CreateTenantInput, options: CreateTenantOptions, started: number): CreateRun {
  return { valid, server: { host: '', port: 0 }, settings: input.settings, options, step: options.onStep ?? (() => undefined), started };
}

/**
 * Builds the registered tenant on `admin` (its server's admin connection),
 * then refreshes that server's template when it could not be cloned; the
 * caller holds the slug's create lock.
 */
export async function buildTenant(ctx: CreationContext, admin: pg.ClientBase, run: CreateRun, tenant: Tenant): Promise<CreateTenantResult> {
  const built = await buildOrRollBack(ctx, admin, run, tenant);
  const rebuildWarning = built.rebuildTemplate ? await rebuildTemplateAfter(ctx, admin, run) : undefined;
  const templateWarning = [built.templateWarning, rebuildWarning].filter(Boolean).join('; ');
  return {
    tenant: built.tenant,
    via: built.via,
    applied: built.applied,
    durationMs: performance.now() - run.started,
    ...(templateWarning ? { templateWarning } : {}),
  };
}

/** A deleted tenant keeps its row and audit trail, so its slug (and database name) is never handed out again. */
function deletedSlugError(existing: Tenant): TenantToolkitError {
  return new TenantToolkitError(
    'TENANT_EXISTS',
    `slug "${existing.slug}" belonged to a tenant deleted on ${existing.updatedAt.toISOString().slice(0, 10)}; slugs of deleted tenants are never reused`,
    { hint: 'choose another slug', details: { slug: existing.slug, status: existing.status } },
  );
}

/**
 * The slug's existing row: none, or a `provisioning` row of an abandoned
 * create (the caller holds the create lock, so nobody is working on it),
 * which the caller discards on its own server. Anything else is refused.
 */
export async function abandonedCreate(registry: TenantRegistry, slug: string): Promise<Tenant | undefined> {
  const existing = await registry.getBySlug(slug);
  if (!existing) return undefined;
  if (existing.status === 'deleted') throw deletedSlugError(existing);
  if (existing.status !== 'provisioning') throw new TenantExistsError(slug);
  return existing;
}

/** Places and registers the tenant in one meta transaction, with the role names it will make. */
export async function registerTenant(ctx: CreationContext, run: CreateRun): Promise<Tenant> {
  const { valid } = run;
  run.step('register');
  const roles = tenantRoleNames(valid.dbName);
  const tenant = await ctx.registry.insertPlaced(
    {
      ownerRole: roles.owner,
      appRole: ctx.isolated ? roles.app : null,
      slug: valid.slug,
      name: valid.name,
      plan: valid.plan,
      dbName: valid.dbName,
      ...(run.settings ? { settings: run.settings } : {}),
    },
    run.options.actor,
    (client) => placeTenant(client, valid.placement),
  );
  run.server = { host: tenant.dbHost, port: tenant.dbPort };
  return tenant;
}

interface Built {
  tenant: Tenant;
  via: CreateTenantResult['via'];
  applied: number;
  /** The template was missing, stale or planted: rebuild it for the next create. */
  rebuildTemplate: boolean;
  templateWarning?: string;
}

/** A new database as the database step left it. */
interface NewDatabase {
  via: CreateTenantResult['via'];
  rebuildTemplate: boolean;
  templateWarning?: string;
}

/** Builds the registered tenant; any failure drops its database and row, and says whether it was a cancel. */
async function buildOrRollBack(ctx: CreationContext, admin: pg.ClientBase, run: CreateRun, tenant: Tenant): Promise<Built> {
  try {
    return await build(ctx, admin, run, tenant);
  } catch (err) {
    run.step('rollback', run.valid.dbName);
    await discardProvisioning(admin, ctx, tenant, run.options.actor, messageOf(err)).catch(() => undefined);
    if (run.options.signal?.aborted) {
      throw new TenantToolkitError('CANCELLED', `creating tenant "${run.valid.slug}" was interrupted; nothing was kept`, { cause: err });
    }
    if (err instanceof TenantToolkitError) throw err;
    throw new ProvisionError(`creating tenant "${run.valid.slug}" failed: ${messageOf(err)}`, { cause: err });
  }
}

async function build(ctx: CreationContext, admin: pg.ClientBase, run: CreateRun, tenant: Tenant): Promise<Built> {
  const owner = tenant.ownerRole as string;
  run.step('roles', owner);
  await createRoles(ctx, admin, tenant);
  run.options.signal?.throwIfAborted();

  run.step('database', run.valid.dbName);
  const db = await createTenantDatabase(ctx, admin, run, owner);
  run.options.signal?.throwIfAborted();

  run.step('migrate', db.via);
  const outcome = await migrateNewDatabase(ctx, admin, run, tenant, owner);
  if (outcome.error) {
    throw new ProvisionError(`migrating the new database failed: ${outcome.error.message}`, { cause: outcome.error });
  }
  run.options.signal?.throwIfAborted();

  const app = tenant.appRole ?? ctx.sharedRole;
  run.step('grants', app);
  await withOwnerConnection(ctx.adminUrl, tenant, owner, (client) =>
    grantTenantAccess(client, { dbName: tenant.dbName, owner, app, storageTable: TENANT_STORAGE_TABLE }),
  );
  run.options.signal?.throwIfAborted();

  run.step('activate');
  const active = await activate(ctx, run, tenant, db.via, outcome);
  return {
    tenant: active,
    via: db.via,
    applied: outcome.steps.length,
    rebuildTemplate: db.rebuildTemplate,
    ...(db.templateWarning ? { templateWarning: db.templateWarning } : {}),
  };
}

/**
 * The owner role (NOLOGIN) and, in isolated mode, the app login role. The
 * app role's password is sealed into the meta database before the role gets
 * it, so a create killed in between leaves nothing unknown.
 */
async function createRoles(ctx: CreationContext, admin: pg.ClientBase, tenant: Tenant): Promise<void> {
  await createOwnerRole(admin, tenant.ownerRole as string);
  if (!tenant.appRole) return;
  if (!ctx.secrets) throw new ProvisionError('isolated tenants need the secret store (TENANT_SECRET_KEY)');
  const password = randomPassword();
  await ctx.secrets.save(tenant.id, tenant.appRole, password);
  await createAppRole(admin, tenant.appRole, scramSha256Verifier(password));
}

/**
 * Clones the template when it is current, else creates an empty database;
 * either way owned by the tenant's owner role, and nobody but that owner
 * (and the admin) can connect until the grants step.
 */
async function createTenantDatabase(ctx: CreationContext, admin: pg.ClientBase, run: CreateRun, owner: string): Promise<NewDatabase> {
  const { dbName } = run.valid;
  const { host, port } = run.server;
  if (await databaseExists(admin, dbName)) {
    throw new ProvisionError(`database "${dbName}" already exists but belongs to no tenant`, {
      hint: 'inspect it, then drop it or run `tenant repair --drop-orphans`',
    });
  }
  const result: NewDatabase = { via: 'migrations', rebuildTemplate: run.options.useTemplate !== false };
  if (run.options.useTemplate !== false) {
    const cloned = await ctx.template.cloneInto(admin, { host, port }, dbName, owner, ctx.files);
    if (cloned.cloned) {
      await revokePublic(admin, dbName);
      return { via: 'template', rebuildTemplate: false };
    }
    result.rebuildTemplate = cloned.reason !== 'busy';
    if (cloned.warning) result.templateWarning = cloned.warning;
  }
  await createDatabase(admin, dbName, { owner });
  await revokePublic(admin, dbName);
  // PostgreSQL 14 gives `public` to the bootstrap superuser (with CREATE for PUBLIC); 15+ to the database owner.
  await withConnection(
    { application_name: 'metapus-tenant-admin', connectionString: adminUrlFor(ctx.adminUrl, { host, port }, dbName) },
    (client) => client.query(`ALTER SCHEMA public OWNER TO ${ident(owner, 'owner role name')}`),
  );
  return result;
}

/** Migrates as the owner role (admin login + SET ROLE); Ctrl-C cancels a long migration instead of waiting for it to end. */
function migrateNewDatabase(
  ctx: CreationContext,
  admin: pg.ClientBase,
  run: CreateRun,
  tenant: Tenant,
  owner: string,
): Promise<DatabaseMigrateOutcome> {
  const { signal } = run.options;
  return withOwnerConnection(ctx.adminUrl, tenant, owner, async (client) => {
    const pid = (client as unknown as { processID?: number }).processID;
    const cancel = () => void admin.query('SELECT pg_cancel_backend($1)', [pid]).catch(() => undefined);
    signal?.addEventListener('abort', cancel, { once: true });
    try {
      return await migrateDatabase(client, ctx.files, { storageTable: TENANT_STORAGE_TABLE });
    } finally {
      signal?.removeEventListener('abort', cancel);
    }
  });
}

async function activate(
  ctx: CreationContext,
  run: CreateRun,
  tenant: Tenant,
  via: Built['via'],
  outcome: DatabaseMigrateOutcome,
): Promise<Tenant> {
  await ctx.registry.recordSchema(tenant.id, outcome.to, outcome.applied);
  const { tenant: active } = await ctx.registry.changeStatus(
    tenant.id,
    {
      from: ['provisioning'],
      to: 'active',
      actor: run.options.actor,
      action: 'create.completed',
      details: { via, schemaVersion: outcome.to, durationMs: Math.round(performance.now() - run.started) },
    },
    { schemaVersion: outcome.to },
  );
  return active;
}

/** After a create that could not clone a current template, the template is rebuilt so the next create can clone; failing that only warns. */
async function rebuildTemplateAfter(ctx: CreationContext, admin: pg.ClientBase, run: CreateRun): Promise<string | undefined> {
  if (run.options.rebuildTemplate === false) return undefined;
  run.step('template', ctx.template.name);
  try {
    await ctx.template.rebuild(admin, run.server, ctx.files);
    return undefined;
  } catch (err) {
    return `the template database could not be rebuilt: ${messageOf(err)}`;
  }
}
