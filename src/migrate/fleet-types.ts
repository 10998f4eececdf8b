/** The fleet runner's public shapes: dependencies, options, events and outcome. */
import os from 'node:os';
import type pg from 'pg';
import type { AdminAccess, TenantCredentials } from '../pg/connection-settings.js';
import type { Tenant } from '../tenants/tenant.js';
import type { TenantRegistry } from '../tenants/tenant-registry.js';
import type { MigrationDirection, MigrationEvent } from '../schema/migration-types.js';
import type { FleetTenantError, FleetTenantResult, FleetTenantStatus } from './fleet-result.js';
import type { FleetTarget } from './fleet-targets.js';
import type { RunStatus } from './migration-runs.js';

export interface FleetMigrateDeps {
  registry: TenantRegistry;
  metaPool: pg.Pool;
  /** Legacy tenants (ownerRole null) are migrated with these. */
  credentials: TenantCredentials;
  /** Admin login (POSTGRES_ADMIN_URL / embedded superuser): tenants with an owner role are migrated as it, SET ROLE owner. */
  adminUrl: AdminAccess;
}

export interface FleetMigrateOptions {
  actor: string;
  target?: FleetTarget;
  direction?: MigrationDirection;
  /** up: apply up to and including this migration. down (required): revert everything after it (`0`: all). */
  to?: string;
  dryRun?: boolean;
  /** Connect to every tenant even when its recorded schema_version is current. */
  verify?: boolean;
  /** Tenants migrated at once (default: defaultConcurrency()). */
  concurrency?: number;
  /** Tenants migrated at once on one database server (default: concurrency). */
  perHost?: number;
  /** Stop starting tenants after the first failure. */
  failFast?: boolean;
  /** Stop starting tenants after this many failures. */
  maxFailures?: number;
  /** When another migrator holds a tenant's lock: wait for it (default) or skip the tenant. */
  ifLocked?: 'wait' | 'skip';
  /** Wait for a tenant's migration lock and for locks taken by the DDL (0: forever). Default 5 minutes. */
  lockTimeoutMs?: number;
  /** statement_timeout for migration statements (0: none, the default). */
  statementTimeoutMs?: number;
  connectTimeoutMs?: number;
  /**
   * Tries after the first for a tenant whose connection failed before any of
   * its migrations began (default DEFAULT_RETRIES); never for one whose
   * migration had begun. See TenantMigrateOptions.retries.
   */
  retries?: number;
  /** Wait before a tenant's first retry; doubles each time, capped at 10 s (default 1 s). */
  retryDelayMs?: number;
  /** How long the end of the run keeps trying to write its outcomes to an unreachable meta database (default 30 s). */
  recordRetryMs?: number;
  /** Abort: start no more tenants, let running ones finish, report the rest skipped, mark the run interrupted. */
  signal?: AbortSignal;
  onEvent?: (event: FleetEvent) => void;
}

export interface FleetProgress {
  total: number;
  done: number;
  failed: number;
  /** Slugs of the tenants being migrated now. */
  running: string[];
}

export type FleetEvent =
  | { type: 'run-started'; runId: string | null; total: number; queued: number; direction: MigrationDirection; dryRun: boolean }
  | { type: 'tenant-started'; tenant: Tenant; progress: FleetProgress }
  | { type: 'migration'; tenant: Tenant; migration: MigrationEvent }
  | { type: 'tenant-finished'; result: FleetTenantResult; progress: FleetProgress }
  /** A tenant's connection failed before any migration began; it is tried again after delayMs. */
  | { type: 'tenant-retry'; tenant: Tenant; attempt: number; retries: number; delayMs: number; error: FleetTenantError }
  /** The run's outcomes could not be written to the meta database; tried again after delayMs. */
  | { type: 'record-retry'; attempt: number; delayMs: number; pending: number; message: string }
  | { type: 'stopping'; reason: string }
  | { type: 'warning'; message: string };

export interface FleetOutcome {
  /** null for a dry run (not recorded). */
  runId: string | null;
  resumedFrom: string | null;
  direction: MigrationDirection;
  dryRun: boolean;
  /** The version the run migrated towards (`to`, or the latest file). */
  targetVersion: string | null;
  latestVersion: string | null;
  status: RunStatus;
  /** Why scheduling stopped early (fail-fast, max failures, interrupted). */
  stopReason: string | null;
  results: FleetTenantResult[];
  counts: Record<FleetTenantStatus, number>;
  /** The run and every outcome are in the run history (false for a dry run, which is never recorded). */
  recorded: boolean;
  /** Tenants whose outcome could not be written to the run history (the meta database stayed unreachable). */
  unrecorded: string[];
  durationMs: number;
}

/** Tries after the first for a tenant whose connection failed before any migration began. */
export const DEFAULT_RETRIES = 3;

/** min(8, 2 x CPUs): migrations are I/O-bound on the server, not on this machine. */
export function defaultConcurrency(): number {
  return Math.max(1, Math.min(8, 2 * os.availableParallelism()));
}
