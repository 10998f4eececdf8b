/**
 * Configuration: raw sources (flags > environment > .env > defaults) are
 * validated once into a typed Config. Every bad value is reported at once.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import dotenv from 'dotenv';
import { ConfigError, UsageError } from './errors.js';
import {
  CONFIG_VARIABLES,
  SERVER_ADMIN_VARIABLE,
  readVariables,
  type ConfigValues,
  type RawConfig,
  type ServerAdminVariable,
} from './config-variables.js';
import { connectionUrlProblem } from './connection-url.js';
import type { SslMode } from './connection-url.js';
import type { LogLevel } from './config-variables.js';

export { CONFIG_VARIABLES, LOG_LEVELS, defaultTenantHome, type ConfigVariable, type LogLevel, type RawConfig } from './config-variables.js';
export type { SslMode } from './connection-url.js';

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
  /** The key that seals tenant passwords in the meta database (never stored there). */
  secrets: {
    /** TENANT_SECRET_KEY: base64 of 32 bytes. */
    key: string | undefined;
    /** TENANT_SECRET_KEY_FILE: a file holding the key. */
    keyFile: string | undefined;
    /** TENANT_SECRET_PREVIOUS_KEYS: keys that still open secrets sealed before `tenant secrets rekey`. */
    previousKeys: string[];
  };
  /** Per-server admin URLs, by variable name (`TENANT_SERVER_<NAME>_ADMIN_URL`); each a valid URL. */
  serverAdminUrls: Record<string, string>;
  /** Reference server (PORT, HOST). */
  server: { port: number; host: string | undefined };
  /**
   * Reference worker (WORKER_CONCURRENCY, WORKER_INTERVAL); its /metrics and
   * /health listener (WORKER_METRICS_PORT, off when unset; WORKER_METRICS_HOST, default 127.0.0.1).
   */
  worker: { concurrency: number; intervalMs: number; metricsPort: number | undefined; metricsHost: string };
  /** TENANT_METRICS_PER_TENANT: label tenant-level series with the tenant id (off: a fleet would explode series). */
  metrics: { perTenant: boolean };
  /** LOG_LEVEL of the reference server and worker (default info). */
  logLevel: LogLevel;
  /** The reference API's tokens. */
  api: {
    /** API_TOKEN_KEY: base64 of 32 bytes, the HMAC key of access tokens. */
    tokenKey: string | undefined;
    /** API_TOKEN_KEY_FILE: a file holding that key. */
    tokenKeyFile: string | undefined;
    /** API_ACCESS_TOKEN_TTL (default 15m). */
    accessTokenTtlMs: number;
    /** API_REFRESH_TOKEN_TTL (default 30d). */
    refreshTokenTtlMs: number;
  };
}

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
  // Per-server admin URLs: their names depend on the servers registered, so they are matched by pattern.
  for (const source of [fromFile, env, options.overrides ?? {}] as Record<string, string | undefined>[]) {
    for (const [name, value] of Object.entries(source)) {
      if (SERVER_ADMIN_VARIABLE.test(name) && nonEmpty(value) !== undefined) raw[name as ServerAdminVariable] = value;
    }
  }
  return raw;
}

export function loadConfig(options: LoadConfigOptions = {}): Config {
  return parseConfig(readRawConfig(options));
}

export function parseConfig(raw: RawConfig): Config {
  const problems: string[] = [];
  const values = readVariables(raw, problems);
  if (values.POSTGRES_ADMIN_URL && !raw.META_DATABASE_URL) {
    problems.push('POSTGRES_ADMIN_URL is set but META_DATABASE_URL is not; set both, or neither to use the embedded cluster');
  }
  if (raw.TENANT_SECRET_KEY && raw.TENANT_SECRET_KEY_FILE) {
    problems.push('TENANT_SECRET_KEY and TENANT_SECRET_KEY_FILE are both set; set one');
  }
  if (raw.API_TOKEN_KEY && raw.API_TOKEN_KEY_FILE) {
    problems.push('API_TOKEN_KEY and API_TOKEN_KEY_FILE are both set; set one');
  }
  // One key per purpose: a leaked token key must not open tenant passwords (nor the reverse).
  if (values.API_TOKEN_KEY && values.API_TOKEN_KEY === values.TENANT_SECRET_KEY) {
    problems.push('API_TOKEN_KEY is the same key as TENANT_SECRET_KEY; give access tokens a key of their own');
  }
  const serverAdminUrls = readServerAdminUrls(raw, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return { ...configFrom(values), serverAdminUrls };
}

/** Every TENANT_SERVER_<NAME>_ADMIN_URL, each checked as a URL (the problem is named, never the URL's password). */
function readServerAdminUrls(raw: RawConfig, problems: string[]): Record<string, string> {
  const urls: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (!SERVER_ADMIN_VARIABLE.test(name) || value === undefined || value.trim() === '') continue;
    const problem = connectionUrlProblem(value.trim());
    if (problem) problems.push(`${name}: ${problem}`);
    else urls[name] = value.trim();
  }
  return urls;
}

/** The typed Config from variables that all passed their parsers. */
function configFrom(v: ConfigValues): Omit<Config, 'serverAdminUrls'> {
  return {
    metaDatabaseUrl: v.META_DATABASE_URL,
    adminDatabaseUrl: v.POSTGRES_ADMIN_URL,
    tenantDb: {
      user: v.TENANT_DB_USER,
      password: v.TENANT_DB_PASSWORD,
      host: v.TENANT_DB_HOST,
      port: v.TENANT_DB_PORT,
      sslMode: v.TENANT_DB_SSLMODE,
      namePrefix: v.TENANT_DB_PREFIX,
    },
    pool: {
      idleTimeoutMs: v.TENANT_POOL_IDLE_TIMEOUT,
      maxPools: v.TENANT_MAX_POOLS,
      maxConnsPerPool: v.TENANT_MAX_CONNS_PER_POOL,
      connectTimeoutMs: v.TENANT_CONNECT_TIMEOUT,
      acquireTimeoutMs: v.TENANT_ACQUIRE_TIMEOUT,
      healthCheckIntervalMs: v.TENANT_HEALTH_CHECK_INTERVAL,
    },
    tenantHome: v.TENANT_HOME,
    migrationsDir: v.TENANT_MIGRATIONS_DIR ?? path.join(PACKAGE_ROOT, 'db', 'migrations'),
    metaMigrationsDir: path.join(PACKAGE_ROOT, 'db', 'meta'),
    secrets: { key: v.TENANT_SECRET_KEY, keyFile: v.TENANT_SECRET_KEY_FILE, previousKeys: v.TENANT_SECRET_PREVIOUS_KEYS },
    server: { port: v.PORT, host: v.HOST },
    worker: {
      concurrency: v.WORKER_CONCURRENCY,
      intervalMs: v.WORKER_INTERVAL,
      metricsPort: v.WORKER_METRICS_PORT,
      metricsHost: v.WORKER_METRICS_HOST,
    },
    metrics: { perTenant: v.TENANT_METRICS_PER_TENANT },
    logLevel: v.LOG_LEVEL,
    api: {
      tokenKey: v.API_TOKEN_KEY,
      tokenKeyFile: v.API_TOKEN_KEY_FILE,
      accessTokenTtlMs: v.API_ACCESS_TOKEN_TTL,
      refreshTokenTtlMs: v.API_REFRESH_TOKEN_TTL,
    },
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
    const why =
      code === 'ENOENT'
        ? 'not found'
        : code === 'EISDIR'
          ? 'is a folder, not a file'
          : code === 'EACCES'
            ? 'is not readable'
            : `cannot be read (${code ?? 'error'})`;
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
