/**
 * The create state machine, one named step each (see provisioner.ts for the
 * whole story): reclaim an abandoned create, register the row, build the
 * database (template clone or empty), migrate it, activate it; on any
 * failure roll back what this run made. Runs on the admin connection of the
 * tenant's server while the caller holds the slug's create lock.
 */
import type pg from 'pg';
import type { TenantCredentials } from '../pg/connection-settings.js';
import { tenantClientConfig } from '../pg/connection-settings.js';
import { withConnection } from '../pg/with-helpers.js';
import { advisoryKey } from '../pg/identifiers.js';
import type { Tenant, TenantPlan } from '../tenants/tenant.js';
import type { TenantRegistry } from '../tenants/tenant-registry.js';
import { ProvisionError, TenantExistsError, TenantToolkitError, messageOf } from '../errors.js';
import { migrateDatabase, type DatabaseMigrateOutcome } from '../schema/database-migrator.js';
import type { MigrationFile } from '../schema/migration-files.js';
import { TENANT_STORAGE_TABLE } from '../migrate/tenant-migrator.js';
import { createDatabase, databaseExists, dropDatabase, restrictConnect } from './database-admin.js';
import type { TemplateDatabase } from './template-database.js';

export type CreateStep = 'reclaim' | 'register' | 'database' | 'migrate' | 'activate' | 'template' | 'rollback';

export interface CreateTenantInput {
  slug: string;
  name: string;
  plan?: string;
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
  host: string;
  port: number;
}

/** What the steps share: the registry, the tenant role, the template, the migrations. */
export interface CreationContext {
  registry: TenantRegistry;
  tenantCreds: TenantCredentials;
  template: TemplateDatabase;
  files: MigrationFile[];
}

/** One create in progress. */
interface CreateRun {
  valid: ValidCreateInput;
  settings: Record<string, unknown> | undefined;
  options: CreateTenantOptions;
  step: (step: CreateStep, detail?: string) => void;
  started: number;
}

/** The per-slug lock a live create holds; `tenant repair` tells abandoned creates by it. */
export function createLockKey(slug: string): string {
  return advisoryKey(`metapus-tenant:create:${slug}`);
}

/** Drops what a create made (the database, if any) and removes its `provisioning` row. */
export async function discardProvisioning(
  admin: pg.ClientBase,
  registry: TenantRegistry,
  tenant: Tenant,
  actor: string,
  reason: string,
): Promise<void> {
  await dropDatabase(admin, tenant.dbName);
  await registry.removeProvisioning(tenant, actor, { reason, dbName: tenant.dbName });
}

/** Runs the whole create; the caller holds the slug's create lock on `admin`. */
export async function createTenant(
  ctx: CreationContext,
  admin: pg.ClientBase,
  valid: ValidCreateInput,
  input: CreateTenantInput,
  options: CreateTenantOptions,
  started: number,
): Promise<CreateTenantResult> {
  const run: CreateRun = { valid, settings: input.settings, options, step: options.onStep ?? (() => undefined), started };
  await reclaimAbandoned(ctx, admin, run);
  options.signal?.throwIfAborted();
  run.step('register');
  const tenant = await register(ctx, run);
  const built = await buildOrRollBack(ctx, admin, run, tenant);
  const templateWarning = await rebuildTemplateAfter(ctx, admin, run, built.via);
  return {
    tenant: built.tenant,
    via: built.via,
    applied: built.applied,
    durationMs: performance.now() - started,
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

/** A `provisioning` row whose create lock we could take was abandoned by a killed create: clean it up. */
async function reclaimAbandoned(ctx: CreationContext, admin: pg.ClientBase, run: CreateRun): Promise<void> {
  const existing = await ctx.registry.getBySlug(run.valid.slug);
  if (!existing) return;
  if (existing.status === 'deleted') throw deletedSlugError(existing);
  if (existing.status !== 'provisioning') throw new TenantExistsError(run.valid.slug);
  run.step('reclaim', existing.dbName);
  await discardProvisioning(admin, ctx.registry, existing, run.options.actor, 'abandoned create reclaimed');
}

function register(ctx: CreationContext, run: CreateRun): Promise<Tenant> {
  const { valid } = run;
  return ctx.registry.insertProvisioning(
    {
      slug: valid.slug,
      name: valid.name,
      plan: valid.plan,
      dbName: valid.dbName,
      dbHost: valid.host,
      dbPort: valid.port,
      ...(run.settings ? { settings: run.settings } : {}),
    },
    run.options.actor,
  );
}

interface Built {
  tenant: Tenant;
  via: CreateTenantResult['via'];
  applied: number;
}

/** Builds the registered tenant; any failure drops its database and row, and says whether it was a cancel. */
async function buildOrRollBack(ctx: CreationContext, admin: pg.ClientBase, run: CreateRun, tenant: Tenant): Promise<Built> {
  try {
    return await build(ctx, admin, run, tenant);
  } catch (err) {
    run.step('rollback', run.valid.dbName);
    await discardProvisioning(admin, ctx.registry, tenant, run.options.actor, messageOf(err)).catch(() => undefined);
    if (run.options.signal?.aborted) {
      throw new TenantToolkitError('CANCELLED', `creating tenant "${run.valid.slug}" was interrupted; nothing was kept`, { cause: err });
    }
    if (err instanceof TenantToolkitError) throw err;
    throw new ProvisionError(`creating tenant "${run.valid.slug}" failed: ${messageOf(err)}`, { cause: err });
  }
}

async function build(ctx: CreationContext, admin: pg.ClientBase, run: CreateRun, tenant: Tenant): Promise<Built> {
  run.step('database', run.valid.dbName);
  const via = await createTenantDatabase(ctx, admin, run);
  run.options.signal?.throwIfAborted();

  run.step('migrate', via);
  const outcome = await migrateNewDatabase(ctx, admin, run, tenant);
  if (outcome.error) {
    throw new ProvisionError(`migrating the new database failed: ${outcome.error.message}`, { cause: outcome.error });
  }
  run.options.signal?.throwIfAborted();

  run.step('activate');
  const active = await activate(ctx, run, tenant, via, outcome);
  return { tenant: active, via, applied: outcome.steps.length };
}

/** Clones the template when it is current, else creates an empty database; only the tenant role may connect. */
async function createTenantDatabase(ctx: CreationContext, admin: pg.ClientBase, run: CreateRun): Promise<Built['via']> {
  const { dbName } = run.valid;
  if (await databaseExists(admin, dbName)) {
    throw new ProvisionError(`database "${dbName}" already exists but belongs to no tenant`, {
      hint: 'inspect it, then drop it or run `tenant repair --drop-orphans`',
    });
  }
  let via: Built['via'] = 'migrations';
  if (run.options.useTemplate !== false && (await ctx.template.cloneInto(admin, dbName, ctx.files))) {
    via = 'template';
  } else {
    await createDatabase(admin, dbName, { owner: ctx.tenantCreds.user });
  }
  await restrictConnect(admin, dbName, ctx.tenantCreds.user);
  return via;
}

/** Migrates as the tenant role; Ctrl-C cancels a long migration instead of waiting for it to end. */
function migrateNewDatabase(ctx: CreationContext, admin: pg.ClientBase, run: CreateRun, tenant: Tenant): Promise<DatabaseMigrateOutcome> {
  const { signal } = run.options;
  return withConnection(tenantClientConfig(tenant, ctx.tenantCreds), async (client) => {
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

/** After a create by migrations, the template is rebuilt so the next create can clone; failing that only warns. */
async function rebuildTemplateAfter(ctx: CreationContext, admin: pg.ClientBase, run: CreateRun, via: Built['via']): Promise<string | undefined> {
  const { options } = run;
  if (via !== 'migrations' || options.useTemplate === false || options.rebuildTemplate === false) return undefined;
  run.step('template', ctx.template.name);
  try {
    await ctx.template.rebuild(admin, ctx.files);
    return undefined;
  } catch (err) {
    return `the template database could not be rebuilt: ${messageOf(err)}`;
  }
}
