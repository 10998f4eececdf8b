/**
 * metapus-tenant: the public library API, for an application that serves
 * many tenants (config, runtime, registry, provisioner, fleet migrator, pool
 * manager, request context, middleware, health handler, worker runner,
 * errors). Exactly these names are supported and each is listed with one
 * sentence in the README's "What the library exports" (a unit test keeps
 * the two equal); deep imports are not supported. The CLI (src/cli/) and
 * the reference server and worker (src/reference/) are applications of
 * this library, not part of it.
 *
 * Layers, top to bottom. A module imports only from its own layer or the
 * layers below it, never upward, and there are no import cycles:
 *
 *   cli, reference                      applications and entry points
 *   server, worker, provision, migrate  library pieces for applications
 *   pools, context, runtime             pools and leases, request scope, wiring
 *   servers                             server registry, placement, admin logins per server
 *   secrets                             sealed tenant passwords, the secret key
 *   local                               the embedded PostgreSQL
 *   tenants                             tenant model, registry, lifecycle
 *   schema                              the per-database migration engine
 *   pg                                  identifiers, with-helpers, connection settings
 *   config, errors, base modules        connection-url, redact, duration, ...
 */

// configuration, errors, redaction
export { loadConfig } from './config.js';
export type { Config, LoadConfigOptions, SslMode } from './config.js';
export {
  TenantToolkitError,
  UsageError,
  ConfigError,
  InvalidSlugError,
  InvalidIdentifierError,
  TenantNotFoundError,
  TenantExistsError,
  InvalidStateError,
  TenantSuspendedError,
  TenantDeletedError,
  TenantUnavailableError,
  LockTimeoutError,
  PoolExhaustedError,
  DatabaseUnavailableError,
  AuthenticationFailedError,
  LocalClusterError,
  ProvisionError,
  MigrationError,
  ChecksumMismatchError,
  MigrationMissingError,
  MigrationOrderError,
  RunNotFoundError,
  ShuttingDownError,
  TenantScopeError,
  QueryTimeoutError,
  ValidationError,
  NotFoundError,
  ConflictError,
  SecretKeyError,
  ServerNotFoundError,
  NoCapacityError,
  MoveError,
  UnauthenticatedError,
  ForbiddenError,
  RateLimitedError,
  UnknownReferenceError,
  StaleVersionError,
  DocumentPostedError,
  InsufficientStockError,
  InUseError,
} from './errors.js';
export type { ErrorCode, TenantErrorOptions, StockShortage } from './errors.js';
export { redact } from './redact.js';

// runtime: configured server or embedded cluster, meta database, registry
export { openRuntime } from './runtime/runtime.js';
export type { Runtime, OpenRuntimeOptions } from './runtime/runtime.js';
export type { ConnectionSettings, TenantCredentials } from './pg/connection-settings.js';

// servers: the registry of PostgreSQL servers and each one's admin login
export { ServerDirectory } from './servers/server-directory.js';
export type { Server, ServerStatus } from './servers/server.js';
export type { ServerAdmin, AdminSource } from './servers/server-admin.js';
export { ServerRegistry } from './servers/server-registry.js';
export type { NewServer, ServerUsage, ServerReport, ServerSettings, AddServerResult, AdminLoginInfo } from './servers/server-registry.js';
export { probeServer } from './servers/server-probe.js';
export type { ServerProbe } from './servers/server-probe.js';

// tenants: model, registry, lifecycle
export type { Tenant, TenantStatus, TenantPlan } from './tenants/tenant.js';
export { TenantRegistry } from './tenants/tenant-registry.js';
export type {
  TenantStatusNotification,
  NewTenant,
  ListFilter,
  StatusChange,
  StatusChangeResult,
  AuditEntry,
  RecordedMigration,
} from './tenants/tenant-registry.js';
export { suspendTenant, activateTenant } from './tenants/tenant-lifecycle.js';
export type { SuspendOptions, ActivateOptions } from './tenants/tenant-lifecycle.js';

// provisioning
export { Provisioner } from './provision/provisioner.js';
export type {
  ProvisionerDeps,
  CreateTenantInput,
  CreateTenantOptions,
  CreateTenantResult,
  CreateStep,
  RepairResult,
  DeleteTenantResult,
} from './provision/provisioner.js';

// moving and cloning tenants between servers, and repair
export { moveTenant } from './provision/tenant-move.js';
export type { MoveOptions, MoveReport, MoveEvent, MoveStep } from './provision/tenant-move.js';
export { cloneTenant } from './provision/tenant-clone.js';
export type { CloneInput, CloneOptions, CloneReport } from './provision/tenant-clone.js';
export { moveDeps } from './provision/move-context.js';
export type { MoveDeps } from './provision/move-context.js';
export { repairTenants } from './provision/tenant-repair.js';
export type { TenantRepairOptions, TenantRepairResult } from './provision/tenant-repair.js';
export type { MoveRepairResult, RecoveryOutcome } from './provision/move-recovery.js';
export type { MovedDatabase } from './provision/moved-databases.js';

// least privilege: tenant logins and their sealed passwords
export { rotateTenantCredentials } from './provision/credential-rotation.js';
export type {
  CredentialDeps,
  RotateOptions,
  RotationOutcome,
  RotationResult,
  RotationStatus,
  RotationStep,
} from './provision/credential-rotation.js';
export { describeTenantCredentials } from './provision/tenant-credentials.js';
export type { CredentialMode, TenantCredentialInfo, DescribeCredentialsOptions } from './provision/tenant-credentials.js';
export { isolateTenants } from './provision/credential-isolation.js';
export type { IsolateOptions, IsolationOutcome, TenantIsolationResult } from './provision/credential-isolation.js';
export type { TenantSecretStore, TenantSecret, SecretInfo, KeyUsage, RekeyResult } from './secrets/tenant-secret-store.js';
export type { SecretKeyring } from './secrets/secret-keyring.js';

// fleet migrations
export { loadMigrationFiles, type MigrationFile } from './schema/migration-files.js';
export type { MigrationDirection, MigrationEvent } from './schema/database-migrator.js';
export { migrateFleet } from './migrate/fleet-migrator.js';
export type { FleetEvent, FleetMigrateDeps, FleetMigrateOptions, FleetOutcome, FleetProgress, FleetShard } from './migrate/fleet-types.js';
export { parseShard, shardOf } from './migrate/fleet-shard.js';
export type { FleetTenantError, FleetTenantResult, FleetTenantStatus } from './migrate/fleet-result.js';
export type { FleetTarget } from './migrate/fleet-targets.js';
export { MigrationRuns } from './migrate/migration-runs.js';
export type {
  MigrationRunDetail,
  MigrationRunSummary,
  RunStatus,
  ShownRunStatus,
  RunTenantRecord,
  RunTenantStatus,
  RunRunner,
  RunnerStatus,
} from './migrate/migration-runs.js';

// fleet status
export { fleetStatus, STALE_PROVISIONING_MS } from './status/fleet-status.js';
export type { FleetStatusDeps, FleetStatusOptions } from './status/fleet-status.js';
export type { FleetStatus, Finding, FindingCode, OrphanScan } from './status/fleet-status-model.js';

// pool manager and its wiring
export { openTenantServices } from './pools/tenant-services.js';
export type { TenantServices, TenantServicesDeps, TenantServicesOptions, StatusSubscriber } from './pools/tenant-services.js';
export { PoolManager } from './pools/pool-manager.js';
export type {
  PoolLimits,
  PoolEvent,
  PoolManagerOptions,
  PoolManagerStats,
  PoolCloseResult,
  PoolObservation,
  PoolObserver,
  TenantLease,
  TenantSource,
} from './pools/pool-manager.js';
export type { PoolCloseReason, TenantPoolState, TenantPoolStats } from './pools/tenant-pool.js';
export type { ServerBudgetStats } from './pools/server-budget.js';
export type { ServerConnectionLimits } from './pools/server-budgets.js';
export type { TenantCache, TenantCacheOptions, TenantCacheStats, TenantLookup } from './pools/tenant-cache.js';
export type { StatusListener, ListenerState, StatusListenerStats } from './pools/status-listener.js';

// request context
export { withTenant, getTenant, getPool, getTxManager, getSignal } from './context/tenant-context.js';
export type { TenantScope, LeaseSource } from './context/tenant-context.js';
export type { TransactionManager, TxOptions, IsolationLevel } from './context/transaction-manager.js';

// server pieces
export { tenantDb } from './server/tenant-db-middleware.js';
export type { TenantDbOptions, Middleware, NextFunction } from './server/tenant-db-middleware.js';
export { createHealthHandler } from './server/health-handler.js';
export type { HealthDeps, HealthHandler } from './server/health-handler.js';
export { errorResponse, sendError } from './server/http-errors.js';
export type { ErrorBody, ErrorResponse, PassedError } from './server/http-errors.js';

// worker
export { MultiTenantWorker } from './worker/worker-runner.js';
export type { WorkerJob, JobContext, WorkerEvent, MultiTenantWorkerOptions, WorkerStats, TenantLister } from './worker/worker-runner.js';

// metrics (Prometheus, prom-client)
export { registerTenantMetrics } from './metrics/tenant-metrics.js';
export type { TenantMetrics, TenantMetricsOptions } from './metrics/tenant-metrics.js';
export type { ObservedServices } from './metrics/pool-metrics.js';
export type { RequestObservation } from './metrics/http-metrics.js';
export { createMetricsRegistry, metricsHandler } from './metrics/metrics-handler.js';
export { startMetricsServer } from './metrics/metrics-server.js';
export type { MetricsServer, MetricsServerOptions } from './metrics/metrics-server.js';
export { fleetRunMetrics, writeMetricsFile, pushMetrics } from './metrics/fleet-metrics.js';
