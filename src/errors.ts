/**
 * Typed errors. Every error the toolkit raises on purpose has a stable `code`;
 * ERROR_TABLE maps each code to a process exit code (CLI) and an HTTP status
 * (server), in this one place.
 */

export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  notFound: 3,
  conflict: 4,
  unavailable: 5,
  interrupted: 130,
} as const;

export const ERROR_TABLE = {
  USAGE: { exit: EXIT.usage, http: 400 },
  CONFIG_INVALID: { exit: EXIT.usage, http: 500 },
  // The secret key that seals tenant passwords is missing or is not the one they were sealed with.
  SECRET_KEY: { exit: EXIT.usage, http: 500 },
  INVALID_SLUG: { exit: EXIT.usage, http: 400 },
  INVALID_IDENTIFIER: { exit: EXIT.usage, http: 400 },
  INVALID_TENANT_ID: { exit: EXIT.usage, http: 400 },
  TENANT_ID_MISSING: { exit: EXIT.usage, http: 400 },
  TENANT_NOT_FOUND: { exit: EXIT.notFound, http: 404 },
  RUN_NOT_FOUND: { exit: EXIT.notFound, http: 404 },
  SERVER_NOT_FOUND: { exit: EXIT.notFound, http: 404 },
  NO_CAPACITY: { exit: EXIT.conflict, http: 503 },
  MOVE_FAILED: { exit: EXIT.failed, http: 500 },
  MIGRATION_NOT_FOUND: { exit: EXIT.usage, http: 400 },
  TENANT_EXISTS: { exit: EXIT.conflict, http: 409 },
  INVALID_STATE: { exit: EXIT.conflict, http: 409 },
  TENANT_SUSPENDED: { exit: EXIT.conflict, http: 403 },
  TENANT_DELETED: { exit: EXIT.conflict, http: 403 },
  TENANT_UNAVAILABLE: { exit: EXIT.unavailable, http: 503 },
  LOCK_TIMEOUT: { exit: EXIT.conflict, http: 503 },
  POOL_EXHAUSTED: { exit: EXIT.unavailable, http: 503 },
  DATABASE_UNAVAILABLE: { exit: EXIT.unavailable, http: 503 },
  AUTH_FAILED: { exit: EXIT.unavailable, http: 503 },
  LOCAL_CLUSTER: { exit: EXIT.unavailable, http: 503 },
  PROVISION_FAILED: { exit: EXIT.failed, http: 500 },
  MIGRATION_FAILED: { exit: EXIT.failed, http: 500 },
  CHECKSUM_MISMATCH: { exit: EXIT.failed, http: 500 },
  MIGRATION_MISSING: { exit: EXIT.failed, http: 500 },
  MIGRATION_ORDER: { exit: EXIT.failed, http: 500 },
  SHUTTING_DOWN: { exit: EXIT.unavailable, http: 503 },
  CANCELLED: { exit: EXIT.interrupted, http: 503 },
  INTERNAL: { exit: EXIT.failed, http: 500 },
  // pool manager, context, server, worker
  NO_TENANT_SCOPE: { exit: EXIT.failed, http: 500 },
  QUERY_TIMEOUT: { exit: EXIT.unavailable, http: 503 },
  VALIDATION_FAILED: { exit: EXIT.usage, http: 400 },
  NOT_FOUND: { exit: EXIT.notFound, http: 404 },
  METHOD_NOT_ALLOWED: { exit: EXIT.usage, http: 405 },
  CONFLICT: { exit: EXIT.conflict, http: 409 },
  PAYLOAD_TOO_LARGE: { exit: EXIT.usage, http: 413 },
  // the API of the reference server (catalogs, documents, users and tokens)
  UNAUTHENTICATED: { exit: EXIT.usage, http: 401 },
  FORBIDDEN: { exit: EXIT.usage, http: 403 },
  RATE_LIMITED: { exit: EXIT.unavailable, http: 429 },
  UNKNOWN_REFERENCE: { exit: EXIT.usage, http: 422 },
  STALE_VERSION: { exit: EXIT.conflict, http: 409 },
  DOCUMENT_POSTED: { exit: EXIT.conflict, http: 409 },
  INSUFFICIENT_STOCK: { exit: EXIT.conflict, http: 409 },
  IN_USE: { exit: EXIT.conflict, http: 409 },
} as const;

export type ErrorCode = keyof typeof ERROR_TABLE;

export interface TenantErrorOptions {
  cause?: unknown;
  hint?: string;
  details?: Record<string, unknown>;
}

export class TenantToolkitError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: TenantErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
    this.details = options.details ?? {};
  }

  get exitCode(): number {
    return ERROR_TABLE[this.code].exit;
  }

  get httpStatus(): number {
    return ERROR_TABLE[this.code].http;
  }
}

export class UsageError extends TenantToolkitError {
  constructor(message: string, options?: TenantErrorOptions) {
    super('USAGE', message, options);
  }
}

export class ConfigError extends TenantToolkitError {
  readonly problems: string[];
  constructor(problems: string[]) {
    super('CONFIG_INVALID', problems.join('; '), {
      hint: 'fix the values in the environment or .env (see .env.example)',
    });
    this.problems = problems;
  }
}

/** TENANT_SECRET_KEY missing, malformed, or not the key a stored secret was sealed with. */
export class SecretKeyError extends TenantToolkitError {
  constructor(message: string, options?: TenantErrorOptions) {
    super('SECRET_KEY', message, options);
  }
}

export class InvalidSlugError extends TenantToolkitError {
  constructor(message: string) {
    super('INVALID_SLUG', message, {
      hint: 'a slug is 3-40 characters: lower-case letters, digits and hyphens, starting with a letter',
    });
  }
}

export class InvalidIdentifierError extends TenantToolkitError {
  constructor(message: string) {
    super('INVALID_IDENTIFIER', message);
  }
}

export class TenantNotFoundError extends TenantToolkitError {
  constructor(ref: string) {
    super('TENANT_NOT_FOUND', `tenant "${ref}" not found`, {
      hint: 'run `tenant list` to see the tenants',
      details: { tenant: ref },
    });
  }
}

export class ServerNotFoundError extends TenantToolkitError {
  constructor(ref: string, options?: TenantErrorOptions) {
    super('SERVER_NOT_FOUND', `server "${ref}" is not registered`, {
      hint: 'run `tenant server list` to see the servers, or `tenant server add` to register one',
      ...options,
      details: { server: ref },
    });
  }
}

/** No active server has room for another tenant (placement). */
export class NoCapacityError extends TenantToolkitError {
  constructor(message = 'no active server has room for another tenant', options?: TenantErrorOptions) {
    super('NO_CAPACITY', message, {
      hint: 'register another server (`tenant server add`) or raise a capacity (`tenant server set <name> --capacity N`)',
      ...options,
    });
  }
}

/** A move or clone that failed (and was rolled back or left resumable, as the message says). */
export class MoveError extends TenantToolkitError {
  constructor(message: string, options?: TenantErrorOptions) {
    super('MOVE_FAILED', message, options);
  }
}

export class TenantExistsError extends TenantToolkitError {
  constructor(slug: string, options?: TenantErrorOptions) {
    super('TENANT_EXISTS', `tenant "${slug}" already exists`, {
      ...options,
      details: { slug },
    });
  }
}

export class InvalidStateError extends TenantToolkitError {
  constructor(message: string, options?: TenantErrorOptions) {
    super('INVALID_STATE', message, options);
  }
}

export class TenantSuspendedError extends TenantToolkitError {
  constructor(slug: string) {
    super('TENANT_SUSPENDED', `tenant "${slug}" is suspended`, {
      details: { slug },
    });
  }
}

export class TenantDeletedError extends TenantToolkitError {
  constructor(slug: string) {
    super('TENANT_DELETED', `tenant "${slug}" is deleted`, {
      details: { slug },
    });
  }
}

export class TenantUnavailableError extends TenantToolkitError {
  readonly retryAfterSeconds: number;
  constructor(slug: string, status: string, retryAfterSeconds = 30) {
    super('TENANT_UNAVAILABLE', `tenant "${slug}" is not available (status ${status})`, {
      details: { slug, status },
    });
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export class LockTimeoutError extends TenantToolkitError {
  constructor(what: string, options?: TenantErrorOptions) {
    super('LOCK_TIMEOUT', `timed out waiting for the lock on ${what}`, {
      hint: 'another migrator holds it; retry later or raise --lock-timeout',
      ...options,
    });
  }
}

export class PoolExhaustedError extends TenantToolkitError {
  constructor(message: string) {
    super('POOL_EXHAUSTED', message);
  }
}

export class DatabaseUnavailableError extends TenantToolkitError {
  constructor(message: string, options?: TenantErrorOptions) {
    super('DATABASE_UNAVAILABLE', message, options);
  }
}

/**
 * The server refused our credentials (SQLSTATE 28P01 / 28000). A
 * configuration problem, not an outage, so it has its own code; the hint
 * names the role, never the password.
 */
export class AuthenticationFailedError extends TenantToolkitError {
  readonly role: string | undefined;
  constructor(message: string, options: TenantErrorOptions & { role?: string } = {}) {
    super('AUTH_FAILED', message, {
      hint:
        options.role === undefined
          ? 'check the user name and password in META_DATABASE_URL / POSTGRES_ADMIN_URL / TENANT_DB_PASSWORD, and pg_hba.conf'
          : `check the password of role "${options.role}" (META_DATABASE_URL, POSTGRES_ADMIN_URL or TENANT_DB_PASSWORD, whichever uses it) and pg_hba.conf`,
      ...options,
      details: {
        ...(options.role === undefined ? {} : { role: options.role }),
        ...options.details,
      },
    });
    this.role = options.role;
  }
}

export class LocalClusterError extends TenantToolkitError {
  constructor(message: string, options?: TenantErrorOptions) {
    super('LOCAL_CLUSTER', message, options);
  }
}

export class ProvisionError extends TenantToolkitError {
  constructor(message: string, options?: TenantErrorOptions) {
    super('PROVISION_FAILED', message, options);
  }
}

export class MigrationError extends TenantToolkitError {
  readonly migration: string | undefined;
  constructor(message: string, options: TenantErrorOptions & { migration?: string } = {}) {
    super('MIGRATION_FAILED', message, options);
    this.migration = options.migration;
  }
}

export class ChecksumMismatchError extends TenantToolkitError {
  constructor(migration: string) {
    super('CHECKSUM_MISMATCH', `migration ${migration} was changed after it was applied (checksum drift)`, {
      hint: 'restore the original file and add a new migration for the change',
      details: { migration },
    });
  }
}

export class MigrationMissingError extends TenantToolkitError {
  constructor(migration: string) {
    super('MIGRATION_MISSING', `applied migration ${migration} is missing from the migrations folder`, {
      hint: 'restore the file; applied migrations must never be deleted',
      details: { migration },
    });
  }
}

export class MigrationOrderError extends TenantToolkitError {
  constructor(migration: string, appliedAfter: string) {
    super('MIGRATION_ORDER', `migration ${migration} is not applied, but ${appliedAfter}, which comes after it, is (out of order)`, {
      hint: `renumber ${migration} so it sorts after the last applied migration`,
      details: { migration, appliedAfter },
    });
  }
}

export class RunNotFoundError extends TenantToolkitError {
  constructor(runId: string) {
    super('RUN_NOT_FOUND', `migration run "${runId}" not found`, {
      hint: 'run `tenant migrate history` to see recent runs',
      details: { runId },
    });
  }
}

export class ShuttingDownError extends TenantToolkitError {
  constructor(what = 'the pool manager') {
    super('SHUTTING_DOWN', `${what} is shutting down`);
  }
}

// pool manager, context, server, worker

export class TenantScopeError extends TenantToolkitError {
  constructor(what: string) {
    super('NO_TENANT_SCOPE', `${what} was called outside a tenant scope`, {
      hint: 'call it from a request behind the TenantDB middleware, or inside runWithTenant()/withTenant()',
    });
  }
}

export class QueryTimeoutError extends TenantToolkitError {
  constructor(message: string, options?: TenantErrorOptions) {
    super('QUERY_TIMEOUT', message, options);
  }
}

/** Bad input with one message per field (`details.fields`). */
export class ValidationError extends TenantToolkitError {
  readonly fields: Record<string, string>;
  constructor(fields: Record<string, string>, message = 'the request is invalid') {
    super('VALIDATION_FAILED', message, { details: { fields } });
    this.fields = fields;
  }
}

export class NotFoundError extends TenantToolkitError {
  constructor(message: string) {
    super('NOT_FOUND', message);
  }
}

export class ConflictError extends TenantToolkitError {
  constructor(message: string, options?: TenantErrorOptions) {
    super('CONFLICT', message, options);
  }
}

/** PostgreSQL SQLSTATEs that mean "the server is not reachable / not accepting". */
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300', '08000', '08001', '08003', '08004', '08006']);
/** Socket-level failures: the peer, the route or the name lookup is gone (or the socket already is). */
const UNAVAILABLE_SYSCALL_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_NONAME',
  'EAI_FAIL',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EPIPE',
  'ERR_STREAM_DESTROYED',
  'ERR_STREAM_WRITE_AFTER_END',
]);
/** pg reports a dead socket with plain messages and no code. */
const UNAVAILABLE_MESSAGE =
  /Connection terminated unexpectedly|Connection terminated|connection timeout|timeout expired|Client has encountered a connection error|Client was closed and is not queryable/i;
/** invalid_password, invalid_authorization_specification (unknown role, pg_hba.conf rejects). */
const AUTH_SQLSTATES = new Set(['28P01', '28000']);

/**
 * The one place that decides whether an error means "the database cannot be
 * reached right now" (retry later, HTTP 503, exit 5). Looks through `cause`
 * chains and AggregateErrors (a connect to several addresses).
 */
export function isConnectionError(err: unknown): boolean {
  return someInChain(err, (e) => {
    if (e instanceof DatabaseUnavailableError) return true;
    if (e instanceof TenantToolkitError) return false;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (UNAVAILABLE_SQLSTATES.has(code) || UNAVAILABLE_SYSCALL_CODES.has(code))) return true;
    const message = (e as { message?: unknown }).message;
    return typeof message === 'string' && UNAVAILABLE_MESSAGE.test(message);
  });
}

/** The server refused the credentials (wrong password, unknown role, pg_hba.conf). */
export function isAuthenticationError(err: unknown): boolean {
  return someInChain(err, (e) => {
    if (e instanceof AuthenticationFailedError) return true;
    const code = (e as { code?: unknown }).code;
    return typeof code === 'string' && AUTH_SQLSTATES.has(code);
  });
}

/**
 * SQLSTATEs the toolkit acts on, by name. Only the predicates below read
 * them, so what a code means is decided here and nowhere else.
 */
export const SQLSTATE = {
  uniqueViolation: '23505',
  duplicateDatabase: '42P04',
  insufficientPrivilege: '42501',
  queryCanceled: '57014',
  lockNotAvailable: '55P03',
  internalError: 'XX000',
  characterNotInRepertoire: '22021',
  untranslatableCharacter: '22P05',
} as const;

/** The SQLSTATE of a pg error (its own, not a cause's). */
export function sqlStateOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** A unique constraint refused the row (optionally: that named constraint). */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  if (sqlStateOf(err) !== SQLSTATE.uniqueViolation) return false;
  return constraint === undefined || (err as { constraint?: unknown }).constraint === constraint;
}

/**
 * CREATE DATABASE lost a race: the name exists (42P04), or a concurrent
 * creator got to the catalog's unique index first (23505).
 */
export function isDuplicateDatabase(err: unknown): boolean {
  const code = sqlStateOf(err);
  return code === SQLSTATE.duplicateDatabase || code === SQLSTATE.uniqueViolation;
}

/** The role lacks the privilege (e.g. on a database someone else manages). */
export function isInsufficientPrivilege(err: unknown): boolean {
  return sqlStateOf(err) === SQLSTATE.insufficientPrivilege;
}

/**
 * XX000 internal_error; among catalog updates (GRANT/REVOKE on a database)
 * it is "tuple concurrently updated": another session changed the same row.
 */
export function isConcurrentCatalogUpdate(err: unknown): boolean {
  return sqlStateOf(err) === SQLSTATE.internalError;
}

/** The statement ran past statement_timeout (57014 is also a user cancel, told apart by the message). */
export function isStatementTimeout(err: unknown): boolean {
  const message = (err as { message?: unknown } | null | undefined)?.message;
  return sqlStateOf(err) === SQLSTATE.queryCanceled && typeof message === 'string' && /statement timeout/i.test(message);
}

/** lock_timeout ran out waiting for a lock (advisory locks included). */
export function isLockNotAvailable(err: unknown): boolean {
  return sqlStateOf(err) === SQLSTATE.lockNotAvailable;
}

const UNSTORABLE_TEXT_SQLSTATES = new Set<string>([SQLSTATE.characterNotInRepertoire, SQLSTATE.untranslatableCharacter]);

/**
 * Text PostgreSQL refused to store: 22021 character_not_in_repertoire (a NUL,
 * bytes invalid in the encoding), 22P05 untranslatable_character. Looks
 * through causes: a wrapper may keep the pg error as its cause.
 */
export function isUnstorableText(err: unknown): boolean {
  return someInChain(err, (e) => {
    const code = sqlStateOf(e);
    return code !== undefined && UNSTORABLE_TEXT_SQLSTATES.has(code);
  });
}

/** Context for classification: which role was connecting (named in hints, never its password). */
export interface ErrorContext {
  role?: string;
}

/** Normalises anything thrown into a TenantToolkitError (keeping the original as cause). */
export function toToolkitError(err: unknown, context: ErrorContext = {}): TenantToolkitError {
  if (err instanceof TenantToolkitError) return err;
  if (isAuthenticationError(err)) {
    const role = context.role ?? roleInMessage(messageOf(err));
    return new AuthenticationFailedError(`authentication failed${role === undefined ? '' : ` for role "${role}"`}: ${messageOf(err)}`, {
      cause: err,
      ...(role === undefined ? {} : { role }),
    });
  }
  if (isConnectionError(err)) {
    return new DatabaseUnavailableError(`database unavailable: ${messageOf(err)}`, { cause: err });
  }
  return new TenantToolkitError('INTERNAL', messageOf(err), { cause: err });
}

/** pg names the role in its authentication errors: `... for user "app"`, `role "app" does not exist`. */
function roleInMessage(message: string): string | undefined {
  return /(?:for user|user|role) "([^"]+)"/.exec(message)?.[1];
}

function someInChain(err: unknown, test: (e: object) => boolean, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 8) return false;
  if (test(err)) return true;
  if (err instanceof AggregateError && err.errors.some((e) => someInChain(e, test, depth + 1))) return true;
  return someInChain((err as { cause?: unknown }).cause, test, depth + 1);
}

export function messageOf(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) {
    return err.errors.map(messageOf).join('; ');
  }
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

/** No valid credentials: a missing, malformed, expired or foreign token, or a wrong password. */
export class UnauthenticatedError extends TenantToolkitError {
  constructor(message = 'authentication required: send Authorization: Bearer <access token>') {
    super('UNAUTHENTICATED', message);
  }
}

/** Authenticated, but the user's roles lack the permission (`details.permission`). */
export class ForbiddenError extends TenantToolkitError {
  constructor(permission: string, message = `this needs the permission ${permission}`) {
    super('FORBIDDEN', message, { details: { permission } });
  }
}

/** Too many attempts; try again after `retryAfterSeconds`. */
export class RateLimitedError extends TenantToolkitError {
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds: number) {
    super('RATE_LIMITED', message);
    this.retryAfterSeconds = Math.max(1, Math.ceil(retryAfterSeconds));
  }
}

/** A reference to another catalog's row that does not exist or is marked for deletion (one message per field). */
export class UnknownReferenceError extends TenantToolkitError {
  readonly fields: Record<string, string>;
  constructor(fields: Record<string, string>, message = `unknown reference: ${Object.keys(fields).join(', ')}`) {
    super('UNKNOWN_REFERENCE', message, { details: { fields } });
    this.fields = fields;
  }
}

/** The row changed since the client read it (optimistic concurrency: `version` / If-Match). */
export class StaleVersionError extends TenantToolkitError {
  constructor(expected: number, current: number) {
    super('STALE_VERSION', `the row was changed by someone else (version ${current}, you sent ${expected}); read it again`, {
      details: { expected, current },
    });
  }
}

/** A posted document cannot be edited or deleted as it is (unpost it, or edit with ?repost=true). */
export class DocumentPostedError extends TenantToolkitError {
  constructor(message: string) {
    super('DOCUMENT_POSTED', message);
  }
}

/** One line of a goods issue that would take stock below zero. */
export interface StockShortage {
  lineNo: number;
  nomenclatureId: string;
  /** Decimal strings, as the API writes quantities. */
  requested: string;
  available: string;
}

/** Posting would take stock below zero; `lines` names each offending line. Nothing was written. */
export class InsufficientStockError extends TenantToolkitError {
  readonly lines: StockShortage[];
  constructor(lines: StockShortage[]) {
    super(
      'INSUFFICIENT_STOCK',
      `not enough stock for ${lines.length} line${lines.length === 1 ? '' : 's'}: ${lines.map((l) => l.lineNo).join(', ')}`,
      { details: { lines } },
    );
    this.lines = lines;
  }
}

/** A catalog row that posted documents still reference cannot be marked for deletion. */
export class InUseError extends TenantToolkitError {
  constructor(message: string) {
    super('IN_USE', message);
  }
}
