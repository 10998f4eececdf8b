/** The tenant model as the meta database records it. */
import { InvalidStateError, UsageError } from '../errors.js';

/** `moving`: its database is being copied to another server (`tenant move`); not served meanwhile. */
export const TENANT_STATUSES = ['provisioning', 'active', 'suspended', 'migration_failed', 'moving', 'deleted'] as const;
export type TenantStatus = (typeof TENANT_STATUSES)[number];

export const TENANT_PLANS = ['free', 'standard', 'premium', 'enterprise'] as const;
export type TenantPlan = (typeof TENANT_PLANS)[number];
export const DEFAULT_PLAN: TenantPlan = 'standard';

export interface Tenant {
  id: string;
  slug: string;
  name: string;
  dbName: string;
  dbHost: string;
  dbPort: number;
  /**
   * The registered server the database lives on (servers table); dbHost/dbPort
   * are its address. Null only for a deleted tenant whose server was removed since.
   */
  serverName: string | null;
  status: TenantStatus;
  plan: TenantPlan;
  schemaVersion: string | null;
  settings: Record<string, unknown>;
  /** NOLOGIN role owning the database and everything in it; null for tenants created before least privilege. */
  ownerRole: string | null;
  /** The tenant's own login role (password in tenant_secrets); null: the shared TENANT_DB_USER serves it. */
  appRole: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface TenantRow {
  id: string;
  slug: string;
  display_name: string;
  db_name: string;
  db_host: string;
  db_port: number;
  server_name: string | null;
  status: TenantStatus;
  plan: TenantPlan;
  schema_version: string | null;
  settings: Record<string, unknown>;
  owner_role: string | null;
  app_role: string | null;
  created_at: Date;
  updated_at: Date;
}

export function tenantFromRow(row: TenantRow): Tenant {
  return {
    id: row.id,
    slug: row.slug,
    name: row.display_name,
    dbName: row.db_name,
    dbHost: row.db_host,
    dbPort: row.db_port,
    serverName: row.server_name,
    status: row.status,
    plan: row.plan,
    schemaVersion: row.schema_version,
    settings: row.settings,
    ownerRole: row.owner_role ?? null,
    appRole: row.app_role ?? null,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** A live tenant's server: every row but a deleted one names one (a check in the meta database). */
export function serverOf(tenant: Pick<Tenant, 'slug' | 'status' | 'serverName'>): string {
  if (tenant.serverName === null) throw new InvalidStateError(`tenant "${tenant.slug}" (${tenant.status}) is on no registered server any more`);
  return tenant.serverName;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (value: string): boolean => UUID.test(value);

export const isTenantStatus = (value: string): value is TenantStatus => (TENANT_STATUSES as readonly string[]).includes(value);
export const isTenantPlan = (value: string): value is TenantPlan => (TENANT_PLANS as readonly string[]).includes(value);

/** A plan typed by someone, checked against the one list of plans. */
export function validatePlan(value: string): TenantPlan {
  if (!isTenantPlan(value)) throw new UsageError(`plan must be one of ${TENANT_PLANS.join(', ')}, got "${value}"`);
  return value;
}

/** The JSON shape of a tenant (CLI `--json`, HTTP). */
export function tenantToJson(t: Tenant): Record<string, unknown> {
  return {
    id: t.id,
    slug: t.slug,
    name: t.name,
    status: t.status,
    plan: t.plan,
    dbName: t.dbName,
    dbHost: t.dbHost,
    dbPort: t.dbPort,
    server: t.serverName,
    schemaVersion: t.schemaVersion,
    ownerRole: t.ownerRole,
    appRole: t.appRole,
    createdAt: t.createdAt.toISOString(),
    updatedAt: t.updatedAt.toISOString(),
  };
}
