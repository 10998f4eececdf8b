/**
 * Creates tenants atomically, as a recorded state machine:
 *   1. meta row inserted as `provisioning` (the unique slug stops a racing create);
 *   2. database created (cloned from the template when current), owned by the
 *      tenant role, CONNECT revoked from PUBLIC;
 *   3. migrated to the latest schema;
 *   4. marked `active` with its schema version, audited.
 * Any failure drops the database this run created and removes the row. A
 * create killed midway leaves a `provisioning` row, which the next create of
 * that slug (or `tenant repair`) cleans up: a per-slug advisory lock tells a
 * live create from an abandoned one.
 */
import pg from 'pg';
import type { ConnectionSettings } from '../pg/connection-settings.js';
import { tenantClientConfig } from '../pg/connection-settings.js';
import { parseConnectionUrl, withServer } from '../connection-url.js';
import { databaseOf, withConnection } from '../pg/with-helpers.js';
import { advisoryKey } from '../pg/identifiers.js';
import { serverKey } from '../pg/server-key.js';
import { PORT_RANGE, isPort } from '../validators.js';
import { DEFAULT_PLAN, validatePlan, type Tenant, type TenantPlan } from '../tenants/tenant.js';
import { DATABASE_DROPPED_ACTION, type TenantRegistry } from '../tenants/tenant-registry.js';
import {
  ProvisionError,
  TenantExistsError,
  TenantToolkitError,
  UsageError,
  messageOf,
} from '../errors.js';
import { migrateDatabase } from '../schema/database-migrator.js';
import { loadMigrationFiles, type MigrationFile } from '../schema/migration-files.js';
import { TENANT_STORAGE_TABLE } from '../migrate/tenant-migrator.js';
import { markTenantDeleted } from '../tenants/tenant-lifecycle.js';
import { createDatabase, databaseExists, dropDatabase, restrictConnect } from './database-admin.js';
import { TemplateDatabase } from './template-database.js';
import { tenantDatabaseName, templateDatabaseName, validateDisplayName, validateHost, validateSlug } from './tenant-naming.js';

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

export interface RepairResult {
  reclaimed: { slug: string; dbName: string }[];
  busy: string[];
  orphanDatabases: string[];
  droppedOrphans: string[];
}

/** A deleted tenant keeps its row and audit trail, so its slug (and database name) is never handed out again. */
function deletedSlugError(existing: Tenant): TenantToolkitError {
  return new TenantToolkitError(
    'TENANT_EXISTS',
    `slug "${existing.slug}" belonged to a tenant deleted on ${existing.updatedAt.toISOString().slice(0, 10)}; slugs of deleted tenants are never reused`,
    { hint: 'choose another slug', details: { slug: existing.slug, status: existing.status } },
  );
}

export interface DeleteTenantResult {
  tenant: Tenant;
  changed: boolean;
  droppedDatabase: boolean;
  /** Whether the tenant database exists after the delete; absent when its server could not be asked. */
  databaseExists?: boolean;
}

/** A plain delete only looks whether the database is there; it does not wait long for that. */
const EXISTENCE_CHECK_TIMEOUT_MS = 5000;

export interface ProvisionerDeps {
  registry: TenantRegistry;
  connections: ConnectionSettings;
  migrationsDir: string;
  namePrefix: string;
}

export class Provisioner {
  private files: Promise<MigrationFile[]> | undefined;
  readonly template: TemplateDatabase;
  private readonly reservedDatabases: string[];

  constructor(private readonly deps: ProvisionerDeps) {
    this.template = new TemplateDatabase(templateDatabaseName(deps.namePrefix), deps.connections.tenant);
    this.reservedDatabases = [databaseOf(deps.connections.metaUrl), this.template.name];
  }

  migrationFiles(): Promise<MigrationFile[]> {
    this.files ??= loadMigrationFiles(this.deps.migrationsDir);
    return this.files;
  }

  /** Validates everything before anything is touched; throws a usage-class error. */
  validate(input: CreateTenantInput): { slug: string; name: string; plan: TenantPlan; dbName: string; host: string; port: number } {
    const slug = validateSlug(input.slug, this.reservedDatabases);
    const name = validateDisplayName(input.name);
    const plan = validatePlan(input.plan ?? DEFAULT_PLAN);
    const host = validateHost(input.host ?? this.deps.connections.tenant.host);
    const port = input.port ?? this.deps.connections.tenant.port;
    if (!isPort(port)) throw new UsageError(`port must be ${PORT_RANGE.min}-${PORT_RANGE.max}, got ${port}`);
    const dbName = tenantDatabaseName(this.deps.namePrefix, slug, this.reservedDatabases);
    return { slug, name, plan, dbName, host, port };
  }

  async create(input: CreateTenantInput, options: CreateTenantOptions): Promise<CreateTenantResult> {
    const started = performance.now();
    const valid = this.validate(input);
    const files = await this.migrationFiles();
    const { registry } = this.deps;
    const step = options.onStep ?? (() => undefined);

    // The database is created through the admin credentials on the tenant's own server.
    return this.withAdmin(valid.host, valid.port, async (admin) => {
      const slugKey = advisoryKey(`metapus-tenant:create:${valid.slug}`);
      const { rows } = await admin.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [slugKey]);
      if (!rows[0]?.ok) {
        throw new TenantExistsError(valid.slug, { hint: 'another `tenant create` of this slug is running' });
      }
      try {
        const existing = await registry.getBySlug(valid.slug);
        if (existing) {
          if (existing.status === 'deleted') throw deletedSlugError(existing);
          if (existing.status !== 'provisioning') throw new TenantExistsError(valid.slug);
          step('reclaim', existing.dbName);
          await this.discard(admin, existing, options.actor, 'abandoned create reclaimed');
        }
        options.signal?.throwIfAborted();
        step('register');
        const tenant = await registry.insertProvisioning(
          {
            slug: valid.slug,
            name: valid.name,
            plan: valid.plan,
            dbName: valid.dbName,
            dbHost: valid.host,
            dbPort: valid.port,
            ...(input.settings ? { settings: input.settings } : {}),
          },
          options.actor,
        );
        let via: CreateTenantResult['via'] = 'migrations';
        let applied = 0;
        let active: Tenant;
        try {
          step('database', valid.dbName);
          if (await databaseExists(admin, valid.dbName)) {
            throw new ProvisionError(`database "${valid.dbName}" already exists but belongs to no tenant`, {
              hint: 'inspect it, then drop it or run `tenant repair --drop-orphans`',
            });
          }
          if (options.useTemplate !== false && (await this.template.cloneInto(admin, valid.dbName, files))) {
            via = 'template';
          } else {
            await createDatabase(admin, valid.dbName, { owner: this.deps.connections.tenant.user });
          }
          await restrictConnect(admin, valid.dbName, this.deps.connections.tenant.user);
          options.signal?.throwIfAborted();

          step('migrate', via);
          const outcome = await withConnection(tenantClientConfig(tenant, this.deps.connections.tenant), async (client) => {
            // Ctrl-C cancels a long migration instead of waiting for it to end.
            const pid = (client as unknown as { processID?: number }).processID;
            const cancel = () => void admin.query('SELECT pg_cancel_backend($1)', [pid]).catch(() => undefined);
            options.signal?.addEventListener('abort', cancel, { once: true });
            try {
              return await migrateDatabase(client, files, { storageTable: TENANT_STORAGE_TABLE });
            } finally {
              options.signal?.removeEventListener('abort', cancel);
            }
          });
          if (outcome.error) {
            throw new ProvisionError(`migrating the new database failed: ${outcome.error.message}`, {
              cause: outcome.error,
            });
          }
          applied = outcome.steps.length;
          options.signal?.throwIfAborted();

          step('activate');
          await registry.recordSchema(tenant.id, outcome.to, outcome.applied);
          ({ tenant: active } = await registry.changeStatus(
            tenant.id,
            {
              from: ['provisioning'],
              to: 'active',
              actor: options.actor,
              action: 'create.completed',
              details: { via, schemaVersion: outcome.to, durationMs: Math.round(performance.now() - started) },
            },
            { schemaVersion: outcome.to },
          ));
        } catch (err) {
          step('rollback', valid.dbName);
          await this.discard(admin, tenant, options.actor, messageOf(err)).catch(() => undefined);
          if (options.signal?.aborted) {
            throw new TenantToolkitError('CANCELLED', `creating tenant "${valid.slug}" was interrupted; nothing was kept`, { cause: err });
          }
          if (err instanceof TenantToolkitError) throw err;
          throw new ProvisionError(`creating tenant "${valid.slug}" failed: ${messageOf(err)}`, { cause: err });
        }

        let templateWarning: string | undefined;
        if (via === 'migrations' && options.useTemplate !== false && options.rebuildTemplate !== false) {
          step('template', this.template.name);
          await this.template.rebuild(admin, files).catch((err: unknown) => {
            templateWarning = `the template database could not be rebuilt: ${messageOf(err)}`;
          });
        }
        return {
          tenant: active,
          via,
          applied,
          durationMs: performance.now() - started,
          ...(templateWarning ? { templateWarning } : {}),
        };
      } finally {
        await admin.query('SELECT pg_advisory_unlock($1)', [slugKey]).catch(() => undefined);
      }
    });
  }

  /** Cleans abandoned `provisioning` rows and reports (optionally drops) databases that belong to no tenant. */
  async repair(options: { actor: string; dropOrphans?: boolean }): Promise<RepairResult> {
    const result: RepairResult = { reclaimed: [], busy: [], orphanDatabases: [], droppedOrphans: [] };
    const { host, port } = this.deps.connections.tenant;
    return this.withAdmin(host, port, async (admin) => {
      for (const tenant of await this.deps.registry.list({ status: ['provisioning'] })) {
        const key = advisoryKey(`metapus-tenant:create:${tenant.slug}`);
        const { rows } = await admin.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [key]);
        if (!rows[0]?.ok) {
          result.busy.push(tenant.slug);
          continue;
        }
        try {
          await this.discard(admin, tenant, options.actor, 'abandoned create repaired');
          result.reclaimed.push({ slug: tenant.slug, dbName: tenant.dbName });
        } finally {
          await admin.query('SELECT pg_advisory_unlock($1)', [key]).catch(() => undefined);
        }
      }
      const known = new Set((await this.deps.registry.list()).map((t) => t.dbName));
      const { rows } = await admin.query<{ datname: string }>(
        "SELECT datname FROM pg_database WHERE starts_with(datname, $1) AND datname <> ALL($2) ORDER BY datname",
        [this.deps.namePrefix, this.reservedDatabases],
      );
      for (const { datname } of rows) {
        if (known.has(datname)) continue;
        result.orphanDatabases.push(datname);
        if (options.dropOrphans) {
          await dropDatabase(admin, datname);
          result.droppedOrphans.push(datname);
        }
      }
      return result;
    });
  }

  /**
   * Deletes a tenant: marks it `deleted` (running servers refuse it at once),
   * then, if asked, drops its database. The row stays for the audit trail.
   * Also reports whether the database exists afterwards, so the caller says
   * what is really there (e.g. after an earlier --drop-database).
   */
  async delete(ref: string, options: { actor: string; reason?: string; dropDatabase?: boolean }): Promise<DeleteTenantResult> {
    const { tenant, changed } = await markTenantDeleted(this.deps.registry, ref, options);
    let dropped = false;
    let exists: boolean | undefined;
    try {
      exists = await this.withAdmin(
        tenant.dbHost,
        tenant.dbPort,
        async (admin) => {
          if (!(await databaseExists(admin, tenant.dbName))) return false;
          if (!options.dropDatabase) return true;
          await dropDatabase(admin, tenant.dbName);
          dropped = true;
          return false;
        },
        options.dropDatabase ? undefined : EXISTENCE_CHECK_TIMEOUT_MS,
      );
    } catch (err) {
      // Dropping was asked for: not reaching the server is a failure. Otherwise it only leaves "unknown".
      if (options.dropDatabase) throw err;
    }
    if (dropped) await this.deps.registry.audit(tenant, DATABASE_DROPPED_ACTION, options.actor, { dbName: tenant.dbName });
    return { tenant, changed, droppedDatabase: dropped, ...(exists !== undefined ? { databaseExists: exists } : {}) };
  }

  /** Builds or refreshes the template database now. */
  async refreshTemplate(force = false): Promise<boolean> {
    const files = await this.migrationFiles();
    const { host, port } = this.deps.connections.tenant;
    return this.withAdmin(host, port, (admin) => this.template.rebuild(admin, files, { force }));
  }

  private async discard(admin: pg.ClientBase, tenant: Tenant, actor: string, reason: string): Promise<void> {
    await dropDatabase(admin, tenant.dbName);
    await this.deps.registry.removeProvisioning(tenant, actor, { reason, dbName: tenant.dbName });
  }

  /** Admin connection to a given server: POSTGRES_ADMIN_URL's credentials, that server's address. */
  private async withAdmin<T>(host: string, port: number, fn: (admin: pg.Client) => Promise<T>, connectTimeoutMs?: number): Promise<T> {
    const adminUrl = this.deps.connections.adminUrl;
    const admin = parseConnectionUrl(adminUrl);
    const sameServer = serverKey(admin.host, admin.port) === serverKey(host, port);
    return withConnection(
      {
        connectionString: sameServer ? adminUrl : withServer(adminUrl, host, port),
        application_name: 'metapus-tenant-admin',
        ...(connectTimeoutMs !== undefined ? { connectionTimeoutMillis: connectTimeoutMs } : {}),
      },
      fn,
    );
  }
}
