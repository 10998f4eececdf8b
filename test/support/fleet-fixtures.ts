/**
 * Fleet fixtures for migration tests and the bench: tenants registered
 * straight in the meta database (one statement for any number), with or
 * without a real, empty database behind them. No vitest imports, so the
 * bench can use it too.
 */
import pg from 'pg';
import { tenantClientConfig, type TenantCredentials } from '../../src/pg/connection-settings.js';
import { withConnection } from '../../src/pg/with-helpers.js';
import { canonicalHost } from '../../src/pg/server-key.js';
import { adminUrlFor, withOwnerConnection } from '../../src/pg/admin-connection.js';
import { tenantFromRow, type Tenant, type TenantRow, type TenantStatus } from '../../src/tenants/tenant.js';
import type { MigrationFile } from '../../src/schema/migration-files.js';
import { createDatabase, restrictConnect } from '../../src/provision/database-admin.js';

export interface RegisteredTenant {
  slug: string;
  dbName: string;
  status?: TenantStatus;
  schemaVersion?: string | null;
}

/**
 * Inserts tenant rows directly (no database is created); returns them in slug
 * order. A tenant with a schemaVersion also gets the meta mirror of the files
 * up to it (tenant_migrations), as a migrated tenant would.
 */
export async function registerTenants(
  metaUrl: string,
  server: { host: string; port: number },
  tenants: readonly RegisteredTenant[],
  files: readonly MigrationFile[] = [],
): Promise<Tenant[]> {
  const client = new pg.Client({ connectionString: metaUrl });
  await client.connect();
  try {
    // The address is registered as a server if it is not one yet (rows need a server).
    await client.query(
      `INSERT INTO servers (name, host, port) VALUES ('fixture-' || substr(md5($1 || ':' || $2::text), 1, 12), $1, $2::int)
       ON CONFLICT (host, port) DO NOTHING`,
      [canonicalHost(server.host), server.port],
    );
    const { rows } = await client.query<TenantRow>(
      `INSERT INTO tenants (slug, display_name, db_name, db_host, db_port, status, schema_version, server_name)
       SELECT slug, slug, db_name, $1, $2, status, version, (SELECT name FROM servers WHERE host = $7 AND port = $2)
         FROM unnest($3::text[], $4::text[], $5::text[], $6::text[]) AS t(slug, db_name, status, version)
       RETURNING *`,
      [
        server.host,
        server.port,
        tenants.map((t) => t.slug),
        tenants.map((t) => t.dbName),
        tenants.map((t) => t.status ?? 'active'),
        tenants.map((t) => t.schemaVersion ?? null),
        canonicalHost(server.host),
      ],
    );
    await client.query(
      `INSERT INTO tenant_migrations (tenant_id, name, checksum, applied_at)
       SELECT t.id, f.name, f.checksum, now() FROM tenants t
         JOIN unnest($2::text[], $3::text[]) AS f(name, checksum) ON f.name <= t.schema_version
        WHERE t.id = ANY($1::uuid[])`,
      [rows.map((r) => r.id), files.map((f) => f.name), files.map((f) => f.checksum)],
    );
    return rows.map(tenantFromRow).sort((a, b) => a.slug.localeCompare(b.slug));
  } finally {
    await client.end();
  }
}

/** Fresh, empty databases owned by the tenant role, as the provisioner makes them (before migrating). */
export async function createEmptyDatabases(admin: pg.ClientBase, names: readonly string[], owner: string): Promise<void> {
  for (const name of names) {
    await createDatabase(admin, name, { owner });
    await restrictConnect(admin, name, owner);
  }
}

/** Runs fn on a connection to the tenant's own database, as the tenant role. */
export function inTenantDb<T>(tenant: Tenant, credentials: TenantCredentials, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  return withConnection(tenantClientConfig(tenant, credentials), fn);
}

/**
 * Runs fn in the tenant's database as whoever migrates it: its owner role
 * (admin login + SET ROLE) when it has one, else the tenant login (legacy).
 * For test setup that needs DDL, which an app login may not run.
 */
export function asOwner<T>(
  connections: { adminUrl: string; tenant: TenantCredentials },
  tenant: Tenant,
  fn: (client: pg.Client) => Promise<T>,
): Promise<T> {
  if (tenant.ownerRole !== null) return withOwnerConnection(connections.adminUrl, tenant, tenant.ownerRole, fn);
  return inTenantDb(tenant, connections.tenant, fn);
}

/**
 * A connected client of the caller's own (no 'error' listener) as the
 * tenant's migrator, reaching its server at `via` (e.g. a proxy).
 */
export async function ownerClient(
  connections: { adminUrl: string; tenant: TenantCredentials },
  tenant: Tenant,
  via: { host: string; port: number },
): Promise<pg.Client> {
  const client =
    tenant.ownerRole !== null
      ? new pg.Client({
          connectionString: adminUrlFor(connections.adminUrl, via, tenant.dbName),
        })
      : new pg.Client(tenantClientConfig({ ...tenant, dbHost: via.host, dbPort: via.port }, connections.tenant));
  await client.connect();
  if (tenant.ownerRole !== null) await client.query(`SET ROLE ${pg.escapeIdentifier(tenant.ownerRole)}`);
  return client;
}

/** Names in the tenant database's own bookkeeping table. */
export function appliedInDb(tenant: Tenant, credentials: TenantCredentials): Promise<string[]> {
  return inTenantDb(tenant, credentials, async (client) => {
    const { rows } = await client.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY name');
    return rows.map((r) => r.name);
  }).catch(async (err: unknown) => {
    if ((err as { code?: string }).code === '42P01') return [];
    throw err;
  });
}

export async function tableExists(tenant: Tenant, credentials: TenantCredentials, table: string): Promise<boolean> {
  return inTenantDb(tenant, credentials, async (client) => {
    const { rows } = await client.query<{ ok: boolean }>('SELECT to_regclass($1) IS NOT NULL AS ok', [`public.${table}`]);
    return rows[0]?.ok === true;
  });
}
