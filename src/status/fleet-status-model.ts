/** What `tenant status` reports (fleet-status.ts builds it; fleet-findings.ts judges it). */
import type { TenantStatus } from '../tenants/tenant.js';
import type { ServerStatus } from '../servers/server.js';
import type { ServerProbe } from '../servers/server-probe.js';
import type { MigrationRunSummary } from '../migrate/migration-runs.js';

/** What one server holds, and what the tenant prefix left there that belongs to no tenant. */
export interface OrphanScan {
  server: string;
  databases: string[];
  roles: string[];
  /** The server could not be scanned (redacted). */
  error?: string;
}

export interface VersionCount {
  version: string | null;
  tenants: number;
  /** Migrations this version is behind the latest; null when the repository does not know the version. */
  behind: number | null;
}

export interface FailedTenant {
  id: string;
  slug: string;
  version: string | null;
  /** The migration that failed, from the last failure's audit entry. */
  migration: string | null;
  error: string | null;
  at: Date | null;
}

export interface ServerStatusRow {
  name: string;
  host: string;
  port: number;
  status: ServerStatus;
  capacity: number | null;
  tenants: number;
  /** Only with check: what the server answered, and what it holds that belongs to no tenant. */
  probe?: ServerProbe;
  orphans?: OrphanScan;
}

export interface UnfinishedRun extends MigrationRunSummary {
  runnersAlive: number;
  runnersLost: number;
}

export interface FleetStatus {
  at: Date;
  latestVersion: string | null;
  tenants: { total: number; byStatus: Record<TenantStatus, number> };
  /** Live tenants (LIVE_STATUSES) by schema version, newest first. */
  versions: {
    current: number;
    behind: number;
    /** At a version this repository does not have (a newer release migrated them, or a file was removed). */
    unknown: number;
    /** The oldest known version among live tenants behind. */
    oldest: string | null;
    byVersion: VersionCount[];
  };
  failed: { total: number; tenants: FailedTenant[] };
  staleProvisioning: { total: number; tenants: { id: string; slug: string; since: Date }[] };
  runs: UnfinishedRun[];
  servers: ServerStatusRow[];
  /** The servers were probed and scanned (check). */
  checked: boolean;
  findings: Finding[];
}

export type FindingCode =
  'MIGRATION_FAILED' | 'TENANTS_BEHIND' | 'UNKNOWN_SCHEMA_VERSION' | 'PROVISIONING_STALE' | 'RUN_ABANDONED' | 'SERVER_UNREACHABLE' | 'ORPHANS';

export interface Finding {
  code: FindingCode;
  /** How many tenants, runs, servers or objects it is about. */
  count: number;
  message: string;
  /** What to do about it. */
  hint: string;
  /** Names (slugs, run ids, servers, databases), at most a few. */
  subjects: string[];
}
