/**
 * The tenant registry over the meta database: lookups, filtered lists,
 * compare-and-set status changes (audited and NOTIFYed), schema versions.
 */
import type pg from 'pg';
import { InvalidStateError, TenantExistsError, TenantNotFoundError, UsageError, isUniqueViolation } from '../errors.js';
import { withClient, withTransaction } from '../pg/with-helpers.js';
import { canonicalHost } from '../pg/server-key.js';
import { isUuid, tenantFromRow, type Tenant, type TenantPlan, type TenantRow, type TenantStatus } from './tenant.js';

/** Audit action recorded when a deleted tenant's database is dropped. */
export const DATABASE_DROPPED_ACTION = 'delete.database_dropped';

/** Channel of the NOTIFY sent on every status change; payload: TenantStatusNotification as JSON. */
export const TENANT_STATUS_CHANNEL = 'metapus_tenant_status';

export interface TenantStatusNotification {
  id: string;
  slug: string;
  status: TenantStatus;
  previousStatus: TenantStatus | null;
  at: string;
}

export interface NewTenant {
  slug: string;
  name: string;
  dbName: string;
  dbHost: string;
  dbPort: number;
  /** The registered server it goes on; without it, the server registered at dbHost:dbPort. */
  serverName?: string;
  plan: TenantPlan;
  settings?: Record<string, unknown>;
  /** Roles the create will make (recorded first, so an abandoned create's roles can be found and dropped). */
  ownerRole?: string | null;
  appRole?: string | null;
}

/** A new tenant before placement chose its server. */
export type UnplacedTenant = Omit<NewTenant, 'dbHost' | 'dbPort' | 'serverName'>;

/** Where a new tenant's database goes: a registered server and its address. */
export interface TenantPlacement {
  serverName: string;
  dbHost: string;
  dbPort: number;
}

export interface ListFilter {
  status?: TenantStatus[];
  plan?: TenantPlan[];
  ids?: string[];
  slugs?: string[];
  /** Only tenants on these registered servers. */
  servers?: string[];
}

export interface StatusChange {
  /** States the change is allowed from. */
  from: readonly TenantStatus[];
  to: TenantStatus;
  actor: string;
  action: string;
  details?: Record<string, unknown>;
}

export interface StatusChangeResult {
  tenant: Tenant;
  changed: boolean;
  previousStatus: TenantStatus;
}

export interface AuditEntry {
  id: number;
  tenantId: string | null;
  tenantSlug: string | null;
  action: string;
  actor: string;
  details: Record<string, unknown>;
  at: Date;
}

export interface RecordedMigration {
  name: string;
  checksum: string;
  appliedAt: Date;
  durationMs: number;
}

export type Queryable = Pick<pg.ClientBase, 'query'>;

export class TenantRegistry {
  constructor(private readonly pool: pg.Pool) {}

  async getById(id: string): Promise<Tenant | undefined> {
    if (!isUuid(id)) return undefined;
    const { rows } = await this.pool.query<TenantRow>('SELECT * FROM tenants WHERE id = $1', [id]);
    return rows[0] ? tenantFromRow(rows[0]) : undefined;
  }

  async getBySlug(slug: string): Promise<Tenant | undefined> {
    const { rows } = await this.pool.query<TenantRow>('SELECT * FROM tenants WHERE lower(slug) = lower($1)', [slug]);
    return rows[0] ? tenantFromRow(rows[0]) : undefined;
  }

  /** A UUID or a slug; throws TenantNotFoundError. */
  async resolve(ref: string): Promise<Tenant> {
    const tenant = isUuid(ref) ? await this.getById(ref) : await this.getBySlug(ref);
    if (!tenant) throw new TenantNotFoundError(ref);
    return tenant;
  }

  async list(filter: ListFilter = {}): Promise<Tenant[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (filter.status?.length) add('status = ANY(?)', filter.status);
    if (filter.plan?.length) add('plan = ANY(?)', filter.plan);
    if (filter.servers?.length) add('server_name = ANY(?)', filter.servers);
    if (filter.ids?.length || filter.slugs?.length) {
      params.push(
        filter.ids ?? [],
        (filter.slugs ?? []).map((s) => s.toLowerCase()),
      );
      where.push(`(id = ANY($${params.length - 1}::uuid[]) OR lower(slug) = ANY($${params.length}))`);
    }
    const sql = `SELECT * FROM tenants ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, slug`;
    const { rows } = await this.pool.query<TenantRow>(sql, params);
    return rows.map(tenantFromRow);
  }

  /** Inserts the row as `provisioning`; the unique slug/db_name stops a racing create. */
  async insertProvisioning(input: NewTenant, actor: string): Promise<Tenant> {
    const { dbHost, dbPort, serverName, ...rest } = input;
    return this.insertPlaced(rest, actor, async (client) => {
      if (serverName !== undefined) return { dbHost, dbPort, serverName };
      const { rows } = await client.query<{ name: string }>('SELECT name FROM servers WHERE host = $1 AND port = $2', [
        canonicalHost(dbHost),
        dbPort,
      ]);
      if (!rows[0]) throw new UsageError(`no server is registered at ${dbHost}:${dbPort}`, { hint: 'register it with `tenant server add`' });
      return { dbHost, dbPort, serverName: rows[0].name };
    });
  }

  /**
   * Inserts the row as `provisioning` on the server `place` chooses, in one
   * transaction with that choice: whatever `place` locks (the servers' rows)
   * stays locked until the row is in, so a racing placement counts it.
   */
  async insertPlaced(input: UnplacedTenant, actor: string, place: (client: Queryable) => Promise<TenantPlacement>): Promise<Tenant> {
    return withClient(this.pool, (client) =>
      withTransaction(client, async () => {
        const where = await place(client);
        let row: TenantRow | undefined;
        try {
          const result = await client.query<TenantRow>(
            `INSERT INTO tenants (slug, display_name, db_name, db_host, db_port, plan, settings, owner_role, app_role, status, server_name)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'provisioning',
                     $10) RETURNING *`,
            [
              input.slug,
              input.name,
              input.dbName,
              where.dbHost,
              where.dbPort,
              input.plan,
              input.settings ?? {},
              input.ownerRole ?? null,
              input.appRole ?? null,
              where.serverName,
            ],
          );
          row = result.rows[0];
        } catch (err) {
          if (isUniqueViolation(err)) throw new TenantExistsError(input.slug, { cause: err });
          throw err;
        }
        const tenant = tenantFromRow(row as TenantRow);
        await insertAudit(client, tenant, 'create.started', actor, {
          plan: input.plan,
          dbName: input.dbName,
          server: tenant.serverName,
        });
        return tenant;
      }),
    );
  }

  /** Compare-and-set status change, audited and NOTIFYed in one transaction. */
  async changeStatus(tenantId: string, change: StatusChange, extra: { schemaVersion?: string | null } = {}): Promise<StatusChangeResult> {
    return withClient(this.pool, (client) =>
      withTransaction(client, async () => {
        const current = await client.query<TenantRow>('SELECT * FROM tenants WHERE id = $1 FOR UPDATE', [tenantId]);
        const before = current.rows[0];
        if (!before) throw new TenantNotFoundError(tenantId);
        if (before.status === change.to && extra.schemaVersion === undefined) {
          return {
            tenant: tenantFromRow(before),
            changed: false,
            previousStatus: before.status,
          };
        }
        if (before.status !== change.to && !change.from.includes(before.status)) {
          throw new InvalidStateError(
            `tenant "${before.slug}" is ${before.status}; it cannot become ${change.to} (allowed from: ${change.from.join(', ')})`,
          );
        }
        const setVersion = extra.schemaVersion !== undefined;
        const { rows } = await client.query<TenantRow>(
          `UPDATE tenants SET status = $2, updated_at = now()${setVersion ? ', schema_version = $3' : ''}
           WHERE id = $1 RETURNING *`,
          setVersion ? [tenantId, change.to, extra.schemaVersion] : [tenantId, change.to],
        );
        const tenant = tenantFromRow(rows[0] as TenantRow);
        await insertAudit(client, tenant, change.action, change.actor, {
          from: before.status,
          to: change.to,
          ...change.details,
        });
        if (before.status !== change.to) await notifyTenantChange(client, tenant, before.status);
        return {
          tenant,
          changed: before.status !== change.to,
          previousStatus: before.status,
        };
      }),
    );
  }

  /**
   * Records the tenant's roles (after `tenant credentials isolate` made them),
   * audited and NOTIFYed in one transaction: servers re-read the row and
   * move the tenant to its new login.
   */
  async recordRoles(
    tenantId: string,
    roles: { ownerRole: string | null; appRole: string | null },
    actor: string,
    action: string,
    details: Record<string, unknown> = {},
  ): Promise<Tenant> {
    return withClient(this.pool, (client) =>
      withTransaction(client, async () => {
        const { rows } = await client.query<TenantRow>(
          'UPDATE tenants SET owner_role = $2, app_role = $3, updated_at = now() WHERE id = $1 RETURNING *',
          [tenantId, roles.ownerRole, roles.appRole],
        );
        if (!rows[0]) throw new TenantNotFoundError(tenantId);
        const tenant = tenantFromRow(rows[0]);
        await insertAudit(client, tenant, action, actor, {
          ...details,
          ownerRole: roles.ownerRole,
          appRole: roles.appRole,
        });
        await notifyTenantChange(client, tenant, tenant.status);
        return tenant;
      }),
    );
  }

  /** Mirrors a tenant database's bookkeeping into the meta database. */
  async recordSchema(tenantId: string, version: string | null, applied: readonly RecordedMigration[]): Promise<void> {
    await withClient(this.pool, (client) =>
      withTransaction(client, async () => {
        await client.query('UPDATE tenants SET schema_version = $2, updated_at = now() WHERE id = $1', [tenantId, version]);
        await client.query('DELETE FROM tenant_migrations WHERE tenant_id = $1', [tenantId]);
        if (applied.length > 0) {
          await client.query(
            `INSERT INTO tenant_migrations (tenant_id, name, checksum, applied_at, duration_ms)
             SELECT $1, * FROM unnest($2::text[], $3::text[], $4::timestamptz[], $5::int[])`,
            [
              tenantId,
              applied.map((m) => m.name),
              applied.map((m) => m.checksum),
              applied.map((m) => m.appliedAt),
              applied.map((m) => Math.round(m.durationMs)),
            ],
          );
        }
      }),
    );
  }

  async recordedMigrations(tenantId: string): Promise<RecordedMigration[]> {
    const { rows } = await this.pool.query<{
      name: string;
      checksum: string;
      applied_at: Date;
      duration_ms: number;
    }>('SELECT name, checksum, applied_at, duration_ms FROM tenant_migrations WHERE tenant_id = $1 ORDER BY name', [tenantId]);
    return rows.map((r) => ({
      name: r.name,
      checksum: r.checksum,
      appliedAt: r.applied_at,
      durationMs: r.duration_ms,
    }));
  }

  async audit(tenant: Pick<Tenant, 'id' | 'slug'>, action: string, actor: string, details: Record<string, unknown> = {}): Promise<void> {
    await insertAudit(this.pool, tenant, action, actor, details);
  }

  async recentAudit(tenantId: string, limit = 10): Promise<AuditEntry[]> {
    const { rows } = await this.pool.query<{
      id: string;
      tenant_id: string | null;
      tenant_slug: string | null;
      action: string;
      actor: string;
      details: Record<string, unknown>;
      at: Date;
    }>('SELECT * FROM tenant_audit WHERE tenant_id = $1 ORDER BY at DESC, id DESC LIMIT $2', [tenantId, limit]);
    return rows.map((r) => ({
      id: Number(r.id),
      tenantId: r.tenant_id,
      tenantSlug: r.tenant_slug,
      action: r.action,
      actor: r.actor,
      details: r.details,
      at: r.at,
    }));
  }

  /** Of these tenants, the ids whose database the toolkit dropped (`tenant delete --drop-database`, per the audit trail). */
  async droppedDatabases(tenantIds: readonly string[]): Promise<Set<string>> {
    if (tenantIds.length === 0) return new Set();
    const { rows } = await this.pool.query<{ tenant_id: string }>(
      `SELECT DISTINCT tenant_id FROM tenant_audit WHERE tenant_id = ANY($1::uuid[]) AND action = $2`,
      [tenantIds, DATABASE_DROPPED_ACTION],
    );
    return new Set(rows.map((r) => r.tenant_id));
  }

  /**
   * Databases on a server the toolkit accounts for: its tenants' (deleted
   * ones too: a kept database is not an orphan), moved tenants' kept source
   * databases, and both ends of moves and clones still running.
   */
  async databasesOn(serverName: string): Promise<Set<string>> {
    const { rows } = await this.pool.query<{ db: string }>(
      `SELECT db_name AS db FROM tenants WHERE server_name = $1
       UNION SELECT db_name FROM moved_databases WHERE server_name = $1 AND dropped_at IS NULL
       UNION SELECT target_db FROM tenant_moves WHERE target_server = $1 AND status = 'running'
       UNION SELECT source_db FROM tenant_moves WHERE source_server = $1 AND status = 'running'`,
      [serverName],
    );
    return new Set(rows.map((r) => r.db));
  }

  /** Removes a row that never became a usable tenant (failed or abandoned provisioning). */
  async removeProvisioning(tenant: Pick<Tenant, 'id' | 'slug'>, actor: string, details: Record<string, unknown>): Promise<boolean> {
    return withClient(this.pool, (client) =>
      withTransaction(client, async () => {
        const { rowCount } = await client.query("DELETE FROM tenants WHERE id = $1 AND status = 'provisioning'", [tenant.id]);
        // The audit row outlives the tenant row (tenant_id becomes NULL, the slug stays).
        if (rowCount) await insertAudit(client, { id: null, slug: tenant.slug }, 'create.rolled_back', actor, details);
        return (rowCount ?? 0) > 0;
      }),
    );
  }
}

/** One audit row, on the caller's connection (so it joins the caller's transaction). */
export async function insertAudit(
  db: Queryable,
  tenant: { id: string | null; slug: string },
  action: string,
  actor: string,
  details: Record<string, unknown>,
): Promise<void> {
  await db.query('INSERT INTO tenant_audit (tenant_id, tenant_slug, action, actor, details) VALUES ($1, $2, $3, $4, $5)', [
    tenant.id,
    tenant.slug,
    action,
    actor,
    details,
  ]);
}

/**
 * Tells every server to re-read the tenant's row (status, roles, secret):
 * the payload is only a hint. Sent on the caller's connection, so inside a
 * transaction it is delivered at commit.
 */
export async function notifyTenantChange(db: Queryable, tenant: Tenant, previous: TenantStatus | null): Promise<void> {
  const payload: TenantStatusNotification = {
    id: tenant.id,
    slug: tenant.slug,
    status: tenant.status,
    previousStatus: previous,
    at: new Date().toISOString(),
  };
  await db.query('SELECT pg_notify($1, $2)', [TENANT_STATUS_CHANNEL, JSON.stringify(payload)]);
}
