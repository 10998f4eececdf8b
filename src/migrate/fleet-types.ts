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
  /** Tenants migrated at once by this runner (default: defaultConcurrency()). */
  concurrency?: number;
  /** Tenants migrated at once on one database server, across every runner of the run (default: no limit beyond each runner's concurrency). */
  perHost?: number;
  /**
   * Join an open run (id, unique prefix or `last`) instead of starting one:
   * the run's own target and options apply; this runner brings only its
   * concurrency, lease and wait timeout. Joining a run that has ended
   * reports it (and its status) without doing anything.
   */
  join?: string;
  /** Runners given the same key share one run: the first creates it, the others join it. */
  runKey?: string;
  /** How long a claimed tenant stays this runner's without a heartbeat (default DEFAULT_LEASE_MS). */
  leaseMs?: number;
  /** How long an idle runner waits for the others to end the run (default DEFAULT_WAIT_TIMEOUT_MS; 0: forever). */
  waitTimeoutMs?: number;
  /** Only the tenants of this shard (1-based index of count), by a hash of the tenant id. */
  shard?: FleetShard;
  /** These tenants migrate first, alone (a count: the first n with work to do; or slugs). Any failure ends the run. */
  canary?: number | readonly string[];
  /** Stop starting tenants when failed / finished exceeds this percentage (after minSample tenants). */
  maxFailureRate?: number;
  /** Tenants finished before maxFailureRate applies (default DEFAULT_MIN_SAMPLE). */
  minSample?: number;
  /** Tenants go in waves of this size; a wave starts once the previous one ended within the failure budget. */
  waveSize?: number;
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

/** `--shard 2/4`: index 2 of 4 (1-based). */
export interface FleetShard {
  index: number;
  count: number;
}

export interface FleetProgress {
  total: number;
  done: number;
  failed: number;
  /** Slugs of the tenants being migrated now. */
  running: string[];
}

export type FleetEvent =
  | {
      type: 'run-started';
      runId: string | null;
      /** This runner's id in the run (null for a dry run). */
      runnerId: string | null;
      /** This runner joined a run another one started. */
      joined: boolean;
      total: number;
      queued: number;
      direction: MigrationDirection;
      dryRun: boolean;
    }
  /** This runner has nothing to do now but the run has not ended: others are running tenants, or a lease must run out. */
  | { type: 'waiting'; reason: string; progress: FleetProgress }
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
  /** This runner's id in the run (null for a dry run). */
  runnerId: string | null;
  /** This runner joined a run another one started. */
  joined: boolean;
  resumedFrom: string | null;
  direction: MigrationDirection;
  dryRun: boolean;
  /** The version the run migrated towards (`to`, or the latest file). */
  targetVersion: string | null;
  latestVersion: string | null;
  /** The run's status; `running` when this runner stopped waiting (--wait-timeout) before the run ended. */
  status: RunStatus;
  /** Why scheduling stopped early (canary, failure rate, fail-fast, max failures, interrupted). */
  stopReason: string | null;
  /** The results this runner produced (the runner that started the run also reports those decided at the start). */
  results: FleetTenantResult[];
  /** Counts over the whole run, every runner's tenants included. */
  counts: Record<FleetTenantStatus, number>;
  /** The run and every outcome are in the run history (false for a dry run, which is never recorded). */
  recorded: boolean;
  /** Tenants whose outcome could not be written to the run history (the meta database stayed unreachable). */
  unrecorded: string[];
  durationMs: number;
}

/** Tries after the first for a tenant whose connection failed before any migration began. */
export const DEFAULT_RETRIES = 3;

/** A claim's lease: a runner killed with -9 loses its tenants to the others after this long. */
export const DEFAULT_LEASE_MS = 60_000;
/** How long an idle runner waits for the others to end the run. */
export const DEFAULT_WAIT_TIMEOUT_MS = 30 * 60_000;
/** Tenants finished before --max-failure-rate applies. */
export const DEFAULT_MIN_SAMPLE = 10;

/** min(8, 2 x CPUs): migrations are I/O-bound on the server, not on this machine. */
export function defaultConcurrency(): number {
  return Math.max(1, Math.min(8, 2 * os.availableParallelism()));
}
