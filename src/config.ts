/**
 * Configuration: raw sources (flags > environment > .env > defaults) are
 * validated once into a typed Config. Every bad value is reported at once.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import dotenv from 'dotenv';
import { ConfigError, UsageError } from './errors.js';
import { parseDuration } from './duration.js';
import { parseIntegerInRange } from './integer-range.js';
import { connectionUrlProblem } from './connection-url.js';

export type SslMode = 'disable' | 'prefer' | 'require' | 'verify-full';
const SSL_MODES: readonly SslMode[] = ['disable', 'prefer', 'require', 'verify-full'];

export interface Config {
  /** Meta database URL; undefined means "use the embedded local cluster". */
  metaDatabaseUrl: string | undefined;
  /** URL used for CREATE/DROP DATABASE; defaults to the meta URL on database `postgres`. */
  adminDatabaseUrl: string | undefined;
  tenantDb: {
    user: string | undefined;
    password: string | undefined;
    host: string | undefined;
    port: number | undefined;
    sslMode: SslMode | undefined;
    /** Prefix of every tenant database name (`mt_` gives `mt_acme_corp`). */
    namePrefix: string;
  };
  pool: {
    idleTimeoutMs: number;
    maxPools: number;
    maxConnsPerPool: number;
    connectTimeoutMs: number;
    acquireTimeoutMs: number;
    healthCheckIntervalMs: number;
  };
  /** Folder of the embedded local cluster (and other local state). */
  tenantHome: string;
  /** Folder of the tenant-database migrations. */
  migrationsDir: string;
  /** Folder of the meta-database migrations. */
  metaMigrationsDir: string;
  /** Reference server (PORT, HOST). */
  server: { port: number; host: string | undefined };
  /** Reference worker (WORKER_CONCURRENCY, WORKER_INTERVAL). */
  worker: { concurrency: number; intervalMs: number };
}

/** The variables we read, with their defaults (documented in .env.example). */
export const CONFIG_VARIABLES = [
  'META_DATABASE_URL',
  'POSTGRES_ADMIN_URL',
  'TENANT_DB_USER',
  'TENANT_DB_PASSWORD',
  'TENANT_DB_HOST',
  'TENANT_DB_PORT',
  'TENANT_DB_SSLMODE',
  'TENANT_DB_PREFIX',
  'TENANT_POOL_IDLE_TIMEOUT',
  'TENANT_MAX_POOLS',
  'TENANT_MAX_CONNS_PER_POOL',
  'TENANT_CONNECT_TIMEOUT',
  'TENANT_ACQUIRE_TIMEOUT',
  'TENANT_HEALTH_CHECK_INTERVAL',
  'TENANT_HOME',
  'TENANT_MIGRATIONS_DIR',
  'PORT',
  'HOST',
  'WORKER_CONCURRENCY',
  'WORKER_INTERVAL',
] as const;

export type ConfigVariable = (typeof CONFIG_VARIABLES)[number];
export type RawConfig = Partial<Record<ConfigVariable, string | undefined>>;

export interface LoadConfigOptions {
  /** Environment to read; defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /**
   * Path of the .env file; false to skip it. Defaults to `<cwd>/.env`, read
   * only if it exists; a path given here must name a readable file.
   */
  envFile?: string | false;
  /** Values from flags; they win over everything else. */
  overrides?: RawConfig;
}

export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Where the embedded cluster lives unless TENANT_HOME says otherwise. */
export function defaultTenantHome(): string {
  // As root the server runs as the `postgres` OS user, which cannot enter
  // /root, so root gets a system folder instead of a home-relative one.
  if (process.getuid?.() === 0) return '/var/lib/metapus-tenant';
  const base = process.env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share');
  return path.join(base, 'metapus-tenant');
}

export function readRawConfig(options: LoadConfigOptions = {}): RawConfig {
  const env = options.env ?? process.env;
  const fromFile: Record<string, string> = {};
  if (options.envFile === undefined) {
    const envFile = path.resolve('.env');
    if (isFile(envFile)) Object.assign(fromFile, dotenv.parse(fs.readFileSync(envFile)));
  } else if (options.envFile !== false) {
    Object.assign(fromFile, dotenv.parse(readEnvFile(options.envFile)));
  }
  const raw: RawConfig = {};
  for (const name of CONFIG_VARIABLES) {
    const value = options.overrides?.[name] ?? nonEmpty(env[name]) ?? nonEmpty(fromFile[name]);
    if (value !== undefined) raw[name] = value;
  }
  return raw;
}

export function loadConfig(options: LoadConfigOptions = {}): Config {
  return parseConfig(readRawConfig(options));
}

export function parseConfig(raw: RawConfig): Config {
  const problems: string[] = [];

  const url = (name: ConfigVariable): string | undefined => {
    const value = raw[name];
    if (value === undefined) return undefined;
    const problem = connectionUrlProblem(value);
    if (problem === undefined) return value;
    problems.push(`${name} must be a postgres:// URL (${problem}), got "${shorten(redactedValue(value))}"`);
    return undefined;
  };
  const positiveInt = (name: ConfigVariable, fallback: number, max = 1_000_000): number => {
    const value = raw[name];
    if (value === undefined) return fallback;
    const parsed = parseIntegerInRange(name, value, { min: 1, max });
    if (!parsed.ok) {
      problems.push(`${parsed.message}, got "${shorten(value)}"`);
      return fallback;
    }
    return parsed.value;
  };
  const duration = (name: ConfigVariable, fallback: string): number => {
    const value = raw[name] ?? fallback;
    const ms = parseDuration(value);
    if (ms === undefined || ms <= 0) {
      problems.push(`${name} must be a duration like 30s, 10m or 1h, got "${shorten(value)}"`);
      return parseDuration(fallback) as number;
    }
    return ms;
  };

  const metaDatabaseUrl = url('META_DATABASE_URL');
  const adminDatabaseUrl = url('POSTGRES_ADMIN_URL');
  if (adminDatabaseUrl && !raw.META_DATABASE_URL) {
    problems.push('POSTGRES_ADMIN_URL is set but META_DATABASE_URL is not; set both, or neither to use the embedded cluster');
  }

  let port: number | undefined;
  if (raw.TENANT_DB_PORT !== undefined) {
    const parsed = parseIntegerInRange('TENANT_DB_PORT', raw.TENANT_DB_PORT, { min: 1, max: 65535 });
    if (parsed.ok) port = parsed.value;
    else problems.push(`${parsed.message}, got "${shorten(raw.TENANT_DB_PORT)}"`);
  }

  let sslMode: SslMode | undefined;
  if (raw.TENANT_DB_SSLMODE !== undefined) {
    if ((SSL_MODES as readonly string[]).includes(raw.TENANT_DB_SSLMODE)) sslMode = raw.TENANT_DB_SSLMODE as SslMode;
    else problems.push(`TENANT_DB_SSLMODE must be one of ${SSL_MODES.join(', ')}, got "${shorten(raw.TENANT_DB_SSLMODE)}"`);
  }

  const namePrefix = raw.TENANT_DB_PREFIX ?? 'mt_';
  if (!/^[a-z][a-z0-9_]{0,19}$/.test(namePrefix)) {
    problems.push(
      `TENANT_DB_PREFIX must be 1-20 characters of lower-case letters, digits and underscores, starting with a letter, got "${shorten(namePrefix)}"`,
    );
  }
  if (raw.TENANT_DB_USER !== undefined && !/^[A-Za-z_][A-Za-z0-9_$-]{0,62}$/.test(raw.TENANT_DB_USER)) {
    problems.push(`TENANT_DB_USER must be a PostgreSQL role name, got "${shorten(raw.TENANT_DB_USER)}"`);
  }
  if (raw.TENANT_DB_HOST !== undefined && /[\s/@]/.test(raw.TENANT_DB_HOST)) {
    problems.push(`TENANT_DB_HOST must be a host name or address, got "${shorten(raw.TENANT_DB_HOST)}"`);
  }

  const pool = {
    idleTimeoutMs: duration('TENANT_POOL_IDLE_TIMEOUT', '10m'),
    maxPools: positiveInt('TENANT_MAX_POOLS', 100, 100_000),
    maxConnsPerPool: positiveInt('TENANT_MAX_CONNS_PER_POOL', 10, 10_000),
    connectTimeoutMs: duration('TENANT_CONNECT_TIMEOUT', '5s'),
    acquireTimeoutMs: duration('TENANT_ACQUIRE_TIMEOUT', '10s'),
    healthCheckIntervalMs: duration('TENANT_HEALTH_CHECK_INTERVAL', '30s'),
  };

  const migrationsDir = path.resolve(raw.TENANT_MIGRATIONS_DIR ?? path.join(PACKAGE_ROOT, 'db', 'migrations'));
  if (raw.TENANT_MIGRATIONS_DIR !== undefined && !isDirectory(migrationsDir)) {
    problems.push(`TENANT_MIGRATIONS_DIR must be an existing folder, got "${shorten(raw.TENANT_MIGRATIONS_DIR)}"`);
  }

  let serverPort = 8080;
  if (raw.PORT !== undefined) {
    const parsed = parseIntegerInRange('PORT', raw.PORT, { min: 0, max: 65535 });
    if (parsed.ok) serverPort = parsed.value;
    else problems.push(`${parsed.message}, got "${shorten(raw.PORT)}"`);
  }
  const worker = {
    concurrency: positiveInt('WORKER_CONCURRENCY', 4, 1000),
    intervalMs: duration('WORKER_INTERVAL', '15m'),
  };

  if (problems.length > 0) throw new ConfigError(problems);

  return {
    metaDatabaseUrl,
    adminDatabaseUrl,
    tenantDb: {
      user: raw.TENANT_DB_USER,
      password: raw.TENANT_DB_PASSWORD,
      host: raw.TENANT_DB_HOST,
      port,
      sslMode,
      namePrefix,
    },
    pool,
    tenantHome: path.resolve(raw.TENANT_HOME ?? defaultTenantHome()),
    migrationsDir,
    metaMigrationsDir: path.join(PACKAGE_ROOT, 'db', 'meta'),
    server: { port: serverPort, host: raw.HOST },
    worker,
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

/** An explicitly named .env file: missing, a folder or unreadable is a usage error naming the path. */
function readEnvFile(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'not found' : code === 'EISDIR' ? 'is a folder, not a file' : code === 'EACCES' ? 'is not readable' : `cannot be read (${code ?? 'error'})`;
    throw new UsageError(`env file "${file}" ${why}`);
  }
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function shorten(value: string): string {
  return value.length > 60 ? `${value.slice(0, 57)}...` : value;
}

function redactedValue(value: string): string {
  return value.replace(/:\/\/([^:/@]*):[^@]*@/, '://$1:***@');
}
