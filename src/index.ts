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
export { openRuntime, resolveConnections, EMBEDDED_META_DATABASE } from './runtime.js';
export type { Runtime, OpenRuntimeOptions } from './runtime.js';
export { LocalCluster } from './local/local-cluster.js';
export type { LocalClusterOptions, LocalClusterStatus, ClusterLease } from './local/local-cluster.js';

// tenants: model, registry, lifecycle
export * from './core/tenant.js';
export { TenantRegistry, TENANT_STATUS_CHANNEL } from './core/tenant-registry.js';
export type {
  TenantStatusNotification,
  NewTenant,
  ListFilter,
  StatusChange,
  StatusChangeResult,
  AuditEntry,
  RecordedMigration,
} from './core/tenant-registry.js';
export { suspendTenant, activateTenant, markTenantDeleted } from './core/tenant-lifecycle.js';
export { tenantClientConfig, sslFor } from './core/connection-settings.js';
export type { ConnectionSettings, TenantCredentials } from './core/connection-settings.js';
export { ensureMetaDatabase } from './core/meta-database.js';
export { assertIdentifier, quoteIdent, ident } from './core/identifiers.js';

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
} from './migrate/database-migrator.js';
export { loadMigrationFiles, parseMigration, latestVersion, type MigrationFile } from './migrate/migration-files.js';
export { type AppliedMigration } from './migrate/migration-storage.js';
export { pendingByTenant } from './migrate/pending-migrations.js';
export {
  migrateTenant,
  TENANT_STORAGE_TABLE,
  type TenantMigrateDeps,
  type TenantMigrateOptions,
  type TenantMigrateOutcome,
} from './migrate/tenant-migrator.js';
export {
  migrateFleet,
  defaultConcurrency,
  type FleetEvent,
  type FleetMigrateDeps,
  type FleetMigrateOptions,
  type FleetOutcome,
  type FleetProgress,
} from './migrate/fleet-migrator.js';
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
