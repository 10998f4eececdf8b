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
import type pg from 'pg';
import type { ConnectionSettings } from '../pg/connection-settings.js';
import { databaseOf, parseConnectionUrl, withServer } from '../connection-url.js';
import { withConnection } from '../pg/with-helpers.js';
import { serverKey } from '../pg/server-key.js';
import { PORT_RANGE, isPort } from '../validators.js';
import { DEFAULT_PLAN, validatePlan, type Tenant } from '../tenants/tenant.js';
import { DATABASE_DROPPED_ACTION, type TenantRegistry } from '../tenants/tenant-registry.js';
import { TenantExistsError, UsageError } from '../errors.js';
import { loadMigrationFiles, type MigrationFile } from '../schema/migration-files.js';
import { markTenantDeleted } from '../tenants/tenant-lifecycle.js';
import { databaseExists, dropDatabase, withTryLock } from './database-admin.js';
import { TemplateDatabase } from './template-database.js';
import { tenantDatabaseName, templateDatabaseName, validateDisplayName, validateHost, validateSlug } from './tenant-naming.js';
import {
  createLockKey,
  createTenant,
  discardProvisioning,
  type CreateTenantInput,
  type CreateTenantOptions,
  type CreateTenantResult,
  type ValidCreateInput,
} from './tenant-creation.js';

export type { CreateStep, CreateTenantInput, CreateTenantOptions, CreateTenantResult } from './tenant-creation.js';

export interface RepairResult {
  reclaimed: { slug: string; dbName: string }[];
  busy: string[];
  orphanDatabases: string[];
  droppedOrphans: string[];
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
  validate(input: CreateTenantInput): ValidCreateInput {
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
    const ctx = { registry: this.deps.registry, tenantCreds: this.deps.connections.tenant, template: this.template, files };
    // The database is created through the admin credentials on the tenant's own server.
    return this.withAdmin(valid.host, valid.port, async (admin) => {
      const created = await withTryLock(admin, createLockKey(valid.slug), () => createTenant(ctx, admin, valid, input, options, started));
      if (!created.locked) throw new TenantExistsError(valid.slug, { hint: 'another `tenant create` of this slug is running' });
      return created.value;
    });
  }

  /** Cleans abandoned `provisioning` rows and reports (optionally drops) databases that belong to no tenant. */
  async repair(options: { actor: string; dropOrphans?: boolean }): Promise<RepairResult> {
    const result: RepairResult = { reclaimed: [], busy: [], orphanDatabases: [], droppedOrphans: [] };
    const { host, port } = this.deps.connections.tenant;
    return this.withAdmin(host, port, async (admin) => {
      for (const tenant of await this.deps.registry.list({ status: ['provisioning'] })) {
        const reclaimed = await withTryLock(admin, createLockKey(tenant.slug), () =>
          discardProvisioning(admin, this.deps.registry, tenant, options.actor, 'abandoned create repaired'),
        );
        if (reclaimed.locked) result.reclaimed.push({ slug: tenant.slug, dbName: tenant.dbName });
        else result.busy.push(tenant.slug);
      }
      const known = new Set((await this.deps.registry.list()).map((t) => t.dbName));
      const { rows } = await admin.query<{ datname: string }>(
        'SELECT datname FROM pg_database WHERE starts_with(datname, $1) AND datname <> ALL($2) ORDER BY datname',
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
