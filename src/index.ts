/**
 * metapus-tenant: the public library API. Everything exported here is
 * supported; deep imports are not.
 */

// configuration, errors, redaction
export { loadConfig, parseConfig, readRawConfig, defaultTenantHome, CONFIG_VARIABLES } from './config.js';
export type { Config, RawConfig, LoadConfigOptions, SslMode } from './config.js';
export * from './errors.js';
export { redact, redactUrl } from './redact.js';
export { parseDuration, formatDuration } from './duration.js';

// runtime: configured server or embedded cluster, meta database, registry
export { openRuntime, resolveConnections, EMBEDDED_META_DATABASE } from './runtime/runtime.js';
export type { Runtime, OpenRuntimeOptions } from './runtime/runtime.js';
export { LocalCluster } from './local/local-cluster.js';
export type { LocalClusterOptions, LocalClusterStatus, ClusterLease } from './local/local-cluster.js';

// tenants: model, registry, lifecycle
export * from './tenants/tenant.js';
export { TenantRegistry, TENANT_STATUS_CHANNEL } from './tenants/tenant-registry.js';
export type {
  TenantStatusNotification,
  NewTenant,
  ListFilter,
  StatusChange,
  StatusChangeResult,
  AuditEntry,
  RecordedMigration,
} from './tenants/tenant-registry.js';
export { suspendTenant, activateTenant, markTenantDeleted } from './tenants/tenant-lifecycle.js';
export { tenantClientConfig, sslFor } from './pg/connection-settings.js';
export type { ConnectionSettings, TenantCredentials } from './pg/connection-settings.js';
export { ensureMetaDatabase } from './runtime/meta-database.js';
export { assertIdentifier, quoteIdent, ident } from './pg/identifiers.js';

// provisioning
export { Provisioner } from './provision/provisioner.js';
export type { CreateTenantInput, CreateTenantOptions, CreateTenantResult, CreateStep, RepairResult } from './provision/provisioner.js';
export { validateSlug, tenantDatabaseName, validateDisplayName } from './provision/tenant-naming.js';
export { TemplateDatabase } from './provision/template-database.js';

// migrations
export {
  migrateDatabase,
  DEFAULT_LOCK_LABEL,
  DEFAULT_LOCK_WAIT_MS,
  type DatabaseMigrateOptions,
  type DatabaseMigrateOutcome,
  type MigrationDirection,
  type MigrationEvent,
  type MigrationStep,
} from './schema/database-migrator.js';
export { loadMigrationFiles, parseMigration, latestVersion, type MigrationFile } from './schema/migration-files.js';
export { type AppliedMigration } from './schema/migration-storage.js';
export { pendingByTenant } from './migrate/pending-migrations.js';
export {
  migrateTenant,
  TENANT_STORAGE_TABLE,
  type TenantMigrateDeps,
  type TenantMigrateOptions,
  type TenantMigrateOutcome,
} from './migrate/tenant-migrator.js';
export { migrateFleet } from './migrate/fleet-migrator.js';
export {
  defaultConcurrency,
  type FleetEvent,
  type FleetMigrateDeps,
  type FleetMigrateOptions,
  type FleetOutcome,
  type FleetProgress,
} from './migrate/fleet-types.js';
export { type FleetTenantError, type FleetTenantResult, type FleetTenantStatus } from './migrate/fleet-result.js';
export { DEFAULT_TARGET_STATUSES, MIGRATABLE_STATUSES, type FleetTarget } from './migrate/fleet-targets.js';
export {
  MigrationRuns,
  type MigrationRunDetail,
  type MigrationRunSummary,
  type RunStatus,
  type ShownRunStatus,
  type RunTenantRecord,
  type RunTenantStatus,
} from './migrate/migration-runs.js';
export { runWorkQueue, type WorkQueueOptions } from './migrate/work-queue.js';

// pool manager, context, server, worker
export { PoolManager, assertServable } from './pools/pool-manager.js';
export type {
  PoolLimits,
  PoolEvent,
  PoolManagerOptions,
  PoolManagerStats,
  PoolCloseResult,
  TenantLease,
  TenantSource,
} from './pools/pool-manager.js';
export type { PoolCloseReason, TenantPoolState, TenantPoolStats } from './pools/tenant-pool.js';
export { TenantCache } from './pools/tenant-cache.js';
export type { TenantCacheOptions, TenantCacheStats, TenantLookup } from './pools/tenant-cache.js';
export { StatusListener, backoffDelay } from './pools/status-listener.js';
export type { ListenerState, StatusListenerOptions } from './pools/status-listener.js';
export { openTenantServices } from './pools/tenant-services.js';
export type { TenantServices, TenantServicesDeps, TenantServicesOptions, StatusSubscriber } from './pools/tenant-services.js';
export {
  runWithTenant,
  withTenant,
  currentTenantScope,
  getTenant,
  getPool,
  getTxManager,
  getSignal,
} from './context/tenant-context.js';
export type { TenantScope, LeaseSource } from './context/tenant-context.js';
export { TransactionManager } from './context/transaction-manager.js';
export type { TxOptions, IsolationLevel } from './context/transaction-manager.js';
export { tenantDb, TENANT_HEADER } from './server/tenant-db-middleware.js';
export type { TenantDbOptions, Middleware, NextFunction } from './server/tenant-db-middleware.js';
export { createHealthHandler } from './server/health-handler.js';
export type { HealthDeps, HealthHandler } from './server/health-handler.js';
export { errorResponse, sendError, sendJson } from './server/http-errors.js';
export type { ErrorBody, ErrorResponse, PassedError } from './server/http-errors.js';
export { createApp } from './reference/app.js';
export type { App, AppDeps } from './reference/app.js';
export { Router } from './reference/router.js';
export type { RouteContext, RouteHandler } from './reference/router.js';
export { currencyRepository } from './reference/currency-repository.js';
export type { Currency, NewCurrency } from './reference/currency-repository.js';
export { MultiTenantWorker } from './worker/worker-runner.js';
export type { WorkerJob, JobContext, WorkerEvent, MultiTenantWorkerOptions, WorkerStats } from './worker/worker-runner.js';
