/**
 * Creates tenants atomically, as a recorded state machine:
 *   1. meta row inserted as `provisioning` with the names of the roles it
 *      will make (the unique slug stops a racing create);
 *   2. roles: the NOLOGIN owner, and in isolated mode the app login role
 *      (its password sealed in the meta database first);
 *   3. database created (cloned from the template when current and intact,
 *      else empty), owned by the owner role, nothing for PUBLIC;
 *   4. migrated to the latest schema as the owner (admin login + SET ROLE);
 *   5. the app role granted CONNECT and DML (the shared role in shared mode);
 *   6. marked `active` with its schema version, audited.
 * Any failure drops the database, then the roles, then the secret and the
 * row. A create killed midway leaves a `provisioning` row, which the next
 * create of that slug (or `tenant repair`) cleans up the same way: a
 * per-slug advisory lock tells a live create from an abandoned one. That
 * lock is held on a meta-database connection, not on a tenant server: the
 * server is only known once placement has chosen it (servers/server-placement.ts).
 */
import type pg from 'pg';
import { adminAccess, type ConnectionSettings } from '../pg/connection-settings.js';
import type { TenantSecretStore } from '../secrets/tenant-secret-store.js';
import { databaseOf, parseConnectionUrl } from '../connection-url.js';
import { adminUrlFor } from '../pg/admin-connection.js';
import { withConnection } from '../pg/with-helpers.js';
import { PORT_RANGE, isPort } from '../validators.js';
import { DEFAULT_SERVER, validateServerName, type Server } from '../servers/server.js';
import { ServerDirectory } from '../servers/server-directory.js';
import { PROBE_TIMEOUT_MS } from '../servers/server-probe.js';
import type { PlacementRequest } from '../servers/server-placement.js';
import { DEFAULT_PLAN, serverOf, validatePlan, type Tenant } from '../tenants/tenant.js';
import { DATABASE_DROPPED_ACTION, type TenantRegistry } from '../tenants/tenant-registry.js';
import { TenantExistsError, UsageError, messageOf, toToolkitError } from '../errors.js';
import { errorOf as fleetErrorOf, type FleetTenantError } from '../migrate/fleet-result.js';
import { loadMigrationFiles, type MigrationFile } from '../schema/migration-files.js';
import { markTenantDeleted } from '../tenants/tenant-lifecycle.js';
import { databaseExists, dropDatabase } from './database-admin.js';
import { TemplateDatabase } from './template-database.js';
import {
  tenantDatabaseName,
  tenantRoleNames,
  templateDatabaseName,
  templateOwnerRole,
  validateDisplayName,
  validateHost,
  validateSlug,
} from './tenant-naming.js';
import { disableLogin, dropRoles } from './tenant-roles.js';
import {
  abandonedCreate,
  buildTenant,
  discardProvisioning,
  registerTenant,
  startRun,
  withCreateLock,
  type CreationContext,
  type CreateTenantInput,
  type CreateTenantOptions,
  type CreateTenantResult,
  type ValidCreateInput,
} from './tenant-creation.js';

export type { CreateStep, CreateTenantInput, CreateTenantOptions, CreateTenantResult } from './tenant-creation.js';

/** What repair found on one registered server. */
export interface ServerRepair {
  server: string;
  orphanDatabases: string[];
  droppedOrphans: string[];
  orphanRoles: string[];
  droppedOrphanRoles: string[];
  /** The server could not be reached (its orphans are unknown); redacted. */
  error?: FleetTenantError;
}

export interface RepairResult {
  reclaimed: { slug: string; dbName: string; server: string }[];
  busy: string[];
  /** Abandoned creates that could not be cleaned up now (e.g. their server is unreachable); left for the next repair. */
  unreclaimed: { slug: string; server: string; error: FleetTenantError }[];
  orphanDatabases: string[];
  droppedOrphans: string[];
  /** Roles with the tenant prefix and a tenant role suffix that belong to no tenant. */
  orphanRoles: string[];
  droppedOrphanRoles: string[];
  /** The same per registered server (the lists above are these, concatenated). */
  servers: ServerRepair[];
}

export interface DeleteTenantResult {
  tenant: Tenant;
  changed: boolean;
  droppedDatabase: boolean;
  /** The tenant's own roles dropped with its database (never the shared role). */
  droppedRoles: string[];
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
  /** The sealed secret store; without it new tenants are created in shared mode. */
  secrets?: TenantSecretStore;
}

/**
 * New tenants get their own app login role when the runtime says so
 * (`connections.isolateNewTenants`: no shared TENANT_DB_USER) and a secret
 * store is there to keep its password.
 */
export function isolatesNewTenants(deps: Pick<ProvisionerDeps, 'connections' | 'secrets'>): boolean {
  return !!deps.secrets && deps.connections.isolateNewTenants;
}

export class Provisioner {
  private files: Promise<MigrationFile[]> | undefined;
  readonly template: TemplateDatabase;
  private readonly reservedDatabases: string[];

  constructor(private readonly deps: ProvisionerDeps) {
    this.template = new TemplateDatabase(
      templateDatabaseName(deps.namePrefix),
      templateOwnerRole(deps.namePrefix),
      adminAccess(deps.connections),
    );
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
    const dbName = tenantDatabaseName(this.deps.namePrefix, slug, this.reservedDatabases);
    return { slug, name, plan, dbName, placement: this.placementOf(input) };
  }

  /** --server pins by name; --host/--port pin to the server registered there; else placement chooses. */
  private placementOf(input: CreateTenantInput): PlacementRequest {
    const address = input.host !== undefined || input.port !== undefined;
    if (input.server !== undefined) {
      if (address) throw new UsageError('give either a server (--server) or an address (--host/--port), not both');
      return { kind: 'server', name: validateServerName(input.server) };
    }
    if (!address) return { kind: 'auto' };
    const host = validateHost(input.host ?? this.deps.connections.tenant.host);
    const port = input.port ?? this.deps.connections.tenant.port;
    if (!isPort(port)) throw new UsageError(`port must be ${PORT_RANGE.min}-${PORT_RANGE.max}, got ${port}`);
    return { kind: 'address', host, port };
  }

  async create(input: CreateTenantInput, options: CreateTenantOptions): Promise<CreateTenantResult> {
    const started = performance.now();
    const valid = this.validate(input);
    const files = await this.migrationFiles();
    const isolated = isolatesNewTenants(this.deps);
    // Without its key the new app role's password could not be kept: refused (exit 2) before anything is made.
    if (isolated) this.deps.secrets?.keyring.current();
    const ctx: CreationContext = {
      registry: this.deps.registry,
      adminUrl: adminAccess(this.deps.connections),
      sharedRole: this.deps.connections.tenant.user,
      protectedRoles: this.protectedRoles(),
      isolated,
      secrets: this.deps.secrets,
      template: this.template,
      files,
    };
    const run = startRun(valid, input, options, started);
    const created = await this.withCreateLock(valid.slug, async () => {
      const abandoned = await abandonedCreate(this.deps.registry, valid.slug);
      if (abandoned) {
        run.step('reclaim', abandoned.dbName);
        await this.withAdmin(abandoned.dbHost, abandoned.dbPort, (admin) =>
          discardProvisioning(admin, ctx, abandoned, options.actor, 'abandoned create reclaimed'),
        );
      }
      options.signal?.throwIfAborted();
      const tenant = await registerTenant(ctx, run);
      await this.knowServer(serverOf(tenant));
      let connected = false;
      try {
        // Everything after registration runs through the admin login of the server placement chose.
        return await this.withAdmin(tenant.dbHost, tenant.dbPort, (admin) => {
          connected = true;
          return buildTenant(ctx, admin, run, tenant);
        });
      } catch (err) {
        // Its server could not be reached: nothing was made there, only the row is left to remove.
        if (!connected) {
          await this.deps.registry.removeProvisioning(tenant, options.actor, { reason: messageOf(err), dbName: tenant.dbName });
        }
        throw err;
      }
    });
    if (!created.locked) throw new TenantExistsError(valid.slug, { hint: 'another `tenant create` of this slug is running' });
    return created.value;
  }

  private withCreateLock<T>(slug: string, fn: () => Promise<T>): Promise<{ locked: true; value: T } | { locked: false }> {
    return withCreateLock(this.deps.connections.metaUrl, slug, fn);
  }

  /** A server registered after this process read the registry: read it again so its own admin login is used. */
  private async knowServer(name: string): Promise<void> {
    const directory = this.directory();
    if (directory && !directory.find(name)) await directory.refresh();
  }

  private directory(): ServerDirectory | undefined {
    const admins = this.deps.connections.admins;
    return admins instanceof ServerDirectory ? admins : undefined;
  }

  /** Every registered server (the runtime's directory, re-read); without one, the configured server alone. */
  private async servers(): Promise<Pick<Server, 'name' | 'host' | 'port'>[]> {
    const directory = this.directory();
    if (!directory) return [{ name: DEFAULT_SERVER, ...this.deps.connections.tenant }];
    await directory.refresh();
    return directory.list();
  }

  /**
   * Cleans abandoned `provisioning` rows (database, roles, secret, row) on
   * the server each was placed on, and reports (optionally drops) databases
   * and roles with the tenant prefix that belong to no tenant, on every
   * registered server. A server that cannot be reached is reported, not fatal.
   */
  async repair(options: { actor: string; dropOrphans?: boolean }): Promise<RepairResult> {
    const result: RepairResult = {
      reclaimed: [],
      busy: [],
      unreclaimed: [],
      orphanDatabases: [],
      droppedOrphans: [],
      orphanRoles: [],
      droppedOrphanRoles: [],
      servers: [],
    };
    const cleanup = { registry: this.deps.registry, protectedRoles: this.protectedRoles(), secrets: this.deps.secrets };
    for (const tenant of await this.deps.registry.list({ status: ['provisioning'] })) {
      try {
        const reclaimed = await this.withCreateLock(tenant.slug, () =>
          this.withAdmin(tenant.dbHost, tenant.dbPort, (admin) =>
            discardProvisioning(admin, cleanup, tenant, options.actor, 'abandoned create repaired'),
          ),
        );
        if (reclaimed.locked) result.reclaimed.push({ slug: tenant.slug, dbName: tenant.dbName, server: serverOf(tenant) });
        else result.busy.push(tenant.slug);
      } catch (err) {
        // Its server is down (say): the row stays for the next repair; the other servers are still repaired.
        result.unreclaimed.push({ slug: tenant.slug, server: serverOf(tenant), error: fleetErrorOf(toToolkitError(err)) });
      }
    }
    const tenants = await this.deps.registry.list();
    for (const server of await this.servers()) {
      const found = await this.scanServer(server, tenants, options);
      result.servers.push(found);
      result.orphanDatabases.push(...found.orphanDatabases);
      result.droppedOrphans.push(...found.droppedOrphans);
      result.orphanRoles.push(...found.orphanRoles);
      result.droppedOrphanRoles.push(...found.droppedOrphanRoles);
    }
    return result;
  }

  /** Databases and roles with the tenant prefix that belong to no tenant, per registered server; changes nothing. */
  async findOrphans(): Promise<ServerRepair[]> {
    const tenants = await this.deps.registry.list();
    return Promise.all(
      (await this.servers()).map((server) => this.scanServer(server, tenants, { dropOrphans: false, connectTimeoutMs: PROBE_TIMEOUT_MS })),
    );
  }

  /** repairServer, with a server that cannot be reached reported in the result (its orphans unknown), never thrown. */
  private scanServer(
    server: Pick<Server, 'name' | 'host' | 'port'>,
    tenants: readonly Tenant[],
    options: { dropOrphans?: boolean; connectTimeoutMs?: number },
  ): Promise<ServerRepair> {
    return this.repairServer(server, tenants, options).catch((err: unknown): ServerRepair => ({
      server: server.name,
      orphanDatabases: [],
      droppedOrphans: [],
      orphanRoles: [],
      droppedOrphanRoles: [],
      error: fleetErrorOf(toToolkitError(err)),
    }));
  }

  /** Orphan databases and roles on one server. */
  private async repairServer(
    server: Pick<Server, 'name' | 'host' | 'port'>,
    tenants: readonly Tenant[],
    options: { dropOrphans?: boolean; connectTimeoutMs?: number },
  ): Promise<ServerRepair> {
    const found: ServerRepair = { server: server.name, orphanDatabases: [], droppedOrphans: [], orphanRoles: [], droppedOrphanRoles: [] };
    // Tenants' databases on this server, and databases a move keeps or is building here, are not orphans.
    const known = await this.deps.registry.databasesOn(server.name);
    return this.withAdmin(
      server.host,
      server.port,
      async (admin) => {
        const { rows } = await admin.query<{ datname: string }>(
          'SELECT datname FROM pg_database WHERE starts_with(datname, $1) AND datname <> ALL($2) ORDER BY datname',
          [this.deps.namePrefix, this.reservedDatabases],
        );
        for (const { datname } of rows) {
          if (known.has(datname)) continue;
          found.orphanDatabases.push(datname);
          if (options.dropOrphans) {
            await dropDatabase(admin, datname);
            found.droppedOrphans.push(datname);
          }
        }
        const protectedRoles = [...this.protectedRoles(), ...this.serverAdminUser(server)];
        found.orphanRoles = await this.orphanRoles(admin, tenants, protectedRoles);
        if (options.dropOrphans) found.droppedOrphanRoles = await dropRoles(admin, found.orphanRoles, protectedRoles);
        return found;
      },
      options.connectTimeoutMs,
    );
  }

  /** The admin login's user on a server (never dropped as an orphan there). */
  private serverAdminUser(server: Pick<Server, 'host' | 'port'>): string[] {
    const user = parseConnectionUrl(adminUrlFor(adminAccess(this.deps.connections), server)).user;
    return user ? [user] : [];
  }

  /** Tenant-prefixed `*_owner` / `*_app` roles no tenant row accounts for (derived or recorded); never the template owner. */
  private async orphanRoles(admin: pg.ClientBase, tenants: readonly Tenant[], protectedRoles: readonly string[]): Promise<string[]> {
    // Any tenant's roles, on every server: a moved tenant's kept source database is still owned by its owner role there.
    const known = new Set<string>([this.template.ownerRole, ...protectedRoles]);
    for (const t of tenants) {
      const derived = tenantRoleNames(t.dbName);
      for (const role of [derived.owner, derived.app, t.ownerRole, t.appRole]) if (role) known.add(role);
    }
    const { rows } = await admin.query<{ rolname: string }>(
      "SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1) AND (rolname LIKE '%\\_owner' OR rolname LIKE '%\\_app') ORDER BY rolname",
      [this.deps.namePrefix],
    );
    return rows.map((r) => r.rolname).filter((r) => !known.has(r));
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
    let droppedRoles: string[] = [];
    let exists: boolean | undefined;
    try {
      exists = await this.withAdmin(
        tenant.dbHost,
        tenant.dbPort,
        async (admin) => {
          const present = await databaseExists(admin, tenant.dbName);
          if (!options.dropDatabase) {
            // The database is kept, but its own app login is of no more use: nobody logs in with it again.
            if (tenant.appRole && !this.protectedRoles().includes(tenant.appRole)) await disableLogin(admin, tenant.appRole);
            return present;
          }
          if (present) {
            await dropDatabase(admin, tenant.dbName);
            dropped = true;
          }
          droppedRoles = await this.dropTenantRoles(admin, tenant);
          return false;
        },
        options.dropDatabase ? undefined : EXISTENCE_CHECK_TIMEOUT_MS,
      );
    } catch (err) {
      // Dropping was asked for: not reaching the server is a failure. Otherwise it only leaves "unknown".
      if (options.dropDatabase) throw err;
    }
    if (dropped || droppedRoles.length > 0) await this.deps.secrets?.remove(tenant.id);
    if (dropped) await this.deps.registry.audit(tenant, DATABASE_DROPPED_ACTION, options.actor, { dbName: tenant.dbName, droppedRoles });
    else if (droppedRoles.length > 0) await this.deps.registry.audit(tenant, 'delete.roles_dropped', options.actor, { droppedRoles });
    return { tenant, changed, droppedDatabase: dropped, droppedRoles, ...(exists !== undefined ? { databaseExists: exists } : {}) };
  }

  /** A tenant's own roles (recorded, and derived from its database name); never the shared role or the admin. */
  private dropTenantRoles(admin: pg.ClientBase, tenant: Tenant): Promise<string[]> {
    if (!tenant.ownerRole && !tenant.appRole) return Promise.resolve([]); // legacy: owned by the shared role, nothing of its own
    const derived = tenantRoleNames(tenant.dbName);
    return dropRoles(admin, [tenant.ownerRole, tenant.appRole, derived.owner, derived.app], this.protectedRoles());
  }

  /** Builds or refreshes the template database now, on the configured server or the one given. */
  async refreshTemplate(force = false, server?: { host: string; port: number }): Promise<boolean> {
    const files = await this.migrationFiles();
    const { host, port } = server ?? this.deps.connections.tenant;
    return this.withAdmin(host, port, (admin) => this.template.rebuild(admin, { host, port }, files, { force }));
  }

  /** Roles no cleanup may drop: the shared tenant role and the admin login. */
  private protectedRoles(): string[] {
    const admin = parseConnectionUrl(this.deps.connections.adminUrl).user;
    return [this.deps.connections.tenant.user, ...(admin ? [admin] : [])];
  }

  /** Admin connection to a given server: POSTGRES_ADMIN_URL's credentials, that server's address. */
  private async withAdmin<T>(host: string, port: number, fn: (admin: pg.Client) => Promise<T>, connectTimeoutMs?: number): Promise<T> {
    return withConnection(
      {
        connectionString: adminUrlFor(adminAccess(this.deps.connections), { host, port }),
        application_name: 'metapus-tenant-admin',
        ...(connectTimeoutMs !== undefined ? { connectionTimeoutMillis: connectTimeoutMs } : {}),
      },
      fn,
    );
  }
}
