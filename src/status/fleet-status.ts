/**
 * `tenant status`: the whole fleet on one screen, from the meta database
 * alone: tenants by status, schema versions against the repository's
 * latest, tenants whose migration failed (with the last error), creates
 * stuck in `provisioning`, runs that have not ended, and each server's
 * tenants and capacity. Each section is one statement, and they run at once,
 * so it answers quickly for a large fleet.
 *
 * `check` also asks the servers (reachable, and databases or roles with the
 * tenant prefix that belong to no tenant), each bounded by the probe
 * timeout, so a dead server costs seconds, not a hang.
 *
 * Findings (fleet-findings.ts) say what needs attention; `tenant status
 * --check` exits 1 when there is any, for cron and deploy gates.
 */
import type pg from 'pg';
import { TENANT_STATUSES, type TenantStatus } from '../tenants/tenant.js';
import { latestVersion, migrationIndex, type MigrationFile } from '../schema/migration-files.js';
import type { ServerRegistry, ServerReport } from '../servers/server-registry.js';
import { MigrationRuns } from '../migrate/migration-runs.js';
import { redact } from '../redact.js';
import { findingsOf } from './fleet-findings.js';
import type { FleetStatus, OrphanScan, ServerStatusRow, VersionCount } from './fleet-status-model.js';

/** A create older than this still `provisioning` was abandoned (killed): `tenant repair` cleans it. */
export const STALE_PROVISIONING_MS = 10 * 60_000;
/** Statuses of tenants whose database is in use (their schema should be current). */
export const LIVE_STATUSES: readonly TenantStatus[] = ['active', 'suspended', 'migration_failed', 'moving'];

export interface FleetStatusDeps {
  metaPool: pg.Pool;
  servers: Pick<ServerRegistry, 'list' | 'report'>;
  /** The repository's migrations: the latest is what "current" means. */
  files: readonly MigrationFile[];
  /** Read-only scan of every server for orphans (used with check). */
  orphans?: () => Promise<OrphanScan[]>;
}

export interface FleetStatusOptions {
  /** Also probe every server and scan it for orphans. */
  check?: boolean;
  /** How many failed / stale tenants to list (the totals count them all). Default 20. */
  listLimit?: number;
  staleProvisioningMs?: number;
}

export async function fleetStatus(deps: FleetStatusDeps, options: FleetStatusOptions = {}): Promise<FleetStatus> {
  const limit = options.listLimit ?? 20;
  const staleMs = options.staleProvisioningMs ?? STALE_PROVISIONING_MS;
  const check = options.check === true;
  const [counts, failed, stale, runs, servers, orphans] = await Promise.all([
    countTenants(deps.metaPool),
    failedTenants(deps.metaPool, limit),
    staleProvisioning(deps.metaPool, staleMs, limit),
    new MigrationRuns(deps.metaPool).unfinished(),
    check ? deps.servers.report() : deps.servers.list(),
    check && deps.orphans ? deps.orphans() : Promise.resolve(undefined),
  ]);
  const latest = latestVersion(deps.files);
  const status: Omit<FleetStatus, 'findings'> = {
    at: new Date(),
    latestVersion: latest,
    tenants: tenantTotals(counts),
    versions: versionSkew(counts, deps.files),
    failed,
    staleProvisioning: stale,
    runs,
    servers: servers.map((usage) => {
      const row: ServerStatusRow = {
        name: usage.server.name,
        host: usage.server.host,
        port: usage.server.port,
        status: usage.server.status,
        capacity: usage.server.capacity,
        tenants: usage.tenants,
      };
      if ('probe' in usage) row.probe = (usage as ServerReport).probe;
      const scan = orphans?.find((o) => o.server === usage.server.name);
      if (scan) row.orphans = scan;
      return row;
    }),
    checked: check,
  };
  return { ...status, findings: findingsOf(status) };
}

interface CountRow {
  status: TenantStatus;
  schema_version: string | null;
  n: number;
}

function countTenants(pool: pg.Pool): Promise<CountRow[]> {
  return pool
    .query<CountRow>('SELECT status, schema_version, count(*)::int AS n FROM tenants GROUP BY status, schema_version')
    .then((r) => r.rows);
}

function tenantTotals(rows: readonly CountRow[]): FleetStatus['tenants'] {
  const byStatus = Object.fromEntries(TENANT_STATUSES.map((s) => [s, 0])) as Record<TenantStatus, number>;
  for (const row of rows) byStatus[row.status] = (byStatus[row.status] ?? 0) + row.n;
  // Deleted tenants stay in the registry for the audit trail; they are not part of the fleet.
  const total = Object.entries(byStatus).reduce((sum, [status, n]) => (status === 'deleted' ? sum : sum + n), 0);
  return { total, byStatus };
}

/** Live tenants by version, against the files: how many are current, behind (and how far), or at a version unknown here. */
export function versionSkew(rows: readonly CountRow[], files: readonly MigrationFile[]): FleetStatus['versions'] {
  const latestIndex = files.length - 1;
  const byVersion = new Map<string | null, number>();
  for (const row of rows) {
    if (!LIVE_STATUSES.includes(row.status)) continue;
    byVersion.set(row.schema_version, (byVersion.get(row.schema_version) ?? 0) + row.n);
  }
  let current = 0;
  let behind = 0;
  let unknown = 0;
  let oldest: { index: number; version: string | null } | null = null;
  const list: VersionCount[] = [];
  for (const [version, tenants] of byVersion) {
    const index = migrationIndex(files, version);
    // A null version (nothing applied) is index -1: everything is pending.
    const known = version === null || index >= 0;
    const gap = known ? latestIndex - index : null;
    list.push({ version, tenants, behind: gap });
    if (!known) unknown += tenants;
    else if (gap === 0) current += tenants;
    else {
      behind += tenants;
      if (!oldest || index < oldest.index) oldest = { index, version };
    }
  }
  list.sort((a, b) => (b.behind === null ? 1 : 0) - (a.behind === null ? 1 : 0) || (a.behind ?? 0) - (b.behind ?? 0));
  return { current, behind, unknown, oldest: oldest?.version ?? null, byVersion: list };
}

async function failedTenants(pool: pg.Pool, limit: number): Promise<FleetStatus['failed']> {
  const { rows } = await pool.query<{
    id: string;
    slug: string;
    schema_version: string | null;
    details: Record<string, unknown> | null;
    at: Date | null;
    total: number;
  }>(
    `SELECT t.id, t.slug, t.schema_version, a.details, a.at, count(*) OVER ()::int AS total
       FROM tenants t
       LEFT JOIN LATERAL (SELECT details, at FROM tenant_audit
                           WHERE tenant_id = t.id AND action IN ('migrate.failed', 'migrate.revert_failed')
                           ORDER BY at DESC LIMIT 1) a ON true
      WHERE t.status = 'migration_failed'
      ORDER BY a.at DESC NULLS LAST, t.slug
      LIMIT $1`,
    [limit],
  );
  const text = (v: unknown) => (typeof v === 'string' ? redact(v) : null);
  return {
    total: rows[0]?.total ?? 0,
    tenants: rows.map((r) => ({
      id: r.id,
      slug: r.slug,
      version: r.schema_version,
      migration: text(r.details?.failedMigration),
      error: text(r.details?.error),
      at: r.at,
    })),
  };
}

async function staleProvisioning(pool: pg.Pool, olderThanMs: number, limit: number): Promise<FleetStatus['staleProvisioning']> {
  const { rows } = await pool.query<{ id: string; slug: string; created_at: Date; total: number }>(
    `SELECT id, slug, created_at, count(*) OVER ()::int AS total FROM tenants
      WHERE status = 'provisioning' AND created_at < now() - $1 * interval '1 millisecond'
      ORDER BY created_at LIMIT $2`,
    [olderThanMs, limit],
  );
  return { total: rows[0]?.total ?? 0, tenants: rows.map((r) => ({ id: r.id, slug: r.slug, since: r.created_at })) };
}
