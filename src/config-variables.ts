/**
 * The table of configuration variables: each names its parser and default.
 * Parsers are shared (a URL, a whole number in a range, a duration, one of
 * a list, …) and never throw: they return the value or the one-line problem,
 * so every bad value is reported at once.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseDuration } from './duration.js';
import { parseIntegerInRange, type IntegerRange } from './integer-range.js';
import { SSL_MODES, connectionUrlProblem } from './connection-url.js';
import { redactUrl } from './redact.js';
import { secretKeyProblem } from './secret-key-text.js';
import { LISTEN_PORT_RANGE, PORT_RANGE, isRoleName, isServerHost } from './validators.js';

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
  'TENANT_SECRET_KEY',
  'TENANT_SECRET_KEY_FILE',
  'TENANT_SECRET_PREVIOUS_KEYS',
  'PORT',
  'HOST',
  'WORKER_CONCURRENCY',
  'WORKER_INTERVAL',
  'WORKER_METRICS_PORT',
  'WORKER_METRICS_HOST',
  'TENANT_METRICS_PER_TENANT',
  'LOG_LEVEL',
  'API_TOKEN_KEY',
  'API_TOKEN_KEY_FILE',
  'API_ACCESS_TOKEN_TTL',
  'API_REFRESH_TOKEN_TTL',
] as const;

/** pino's levels, quietest last; `silent` logs nothing. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type ConfigVariable = (typeof CONFIG_VARIABLES)[number];
/** A registered server's admin URL: `TENANT_SERVER_<NAME>_ADMIN_URL` (servers/server.ts adminUrlVariable). */
export type ServerAdminVariable = `TENANT_SERVER_${string}_ADMIN_URL`;
export const SERVER_ADMIN_VARIABLE = /^TENANT_SERVER_[A-Z0-9_]+_ADMIN_URL$/;

export type RawConfig = Partial<Record<ConfigVariable, string | undefined>> & Partial<Record<ServerAdminVariable, string | undefined>>;

type Reading<T> = { ok: true; value: T } | { ok: false; problem: string };
/** Reads one variable's text (never undefined: defaults are applied first). */
type Parser<T> = (name: ConfigVariable, text: string) => Reading<T>;
/** Reads one variable as set, or unset. */
type Variable<T> = (name: ConfigVariable, text: string | undefined) => Reading<T>;

const ok = <T>(value: T): Reading<T> => ({ ok: true, value });
const bad = (problem: string): Reading<never> => ({ ok: false, problem });

/** Unset stays undefined. */
const optional =
  <T>(parse: Parser<T>): Variable<T | undefined> =>
  (name, text) =>
    text === undefined ? ok(undefined) : parse(name, text);

/** Unset reads the default text, through the same parser. */
const withDefault =
  <T>(parse: Parser<T>, fallback: string | (() => string)): Variable<T> =>
  (name, text) =>
    parse(name, text ?? (typeof fallback === 'function' ? fallback() : fallback));

const anyText: Parser<string> = (_name, text) => ok(text);

const postgresUrl: Parser<string> = (name, text) => {
  const problem = connectionUrlProblem(text);
  return problem === undefined ? ok(text) : bad(`${name} must be a postgres:// URL (${problem}), got "${shorten(redactUrl(text))}"`);
};

const integer =
  (range: IntegerRange): Parser<number> =>
  (name, text) => {
    const parsed = parseIntegerInRange(name, text, range);
    return parsed.ok ? ok(parsed.value) : bad(`${parsed.message}, got "${shorten(text)}"`);
  };

const duration: Parser<number> = (name, text) => {
  const ms = parseDuration(text);
  return ms !== undefined && ms > 0 ? ok(ms) : bad(`${name} must be a duration like 30s, 10m or 1h, got "${shorten(text)}"`);
};

const oneOf =
  <T extends string>(allowed: readonly T[]): Parser<T> =>
  (name, text) =>
    (allowed as readonly string[]).includes(text) ? ok(text as T) : bad(`${name} must be one of ${allowed.join(', ')}, got "${shorten(text)}"`);

/** 1/0, true/false, yes/no, on/off. */
const flag: Parser<boolean> = (name, text) => {
  const t = text.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(t)) return ok(true);
  if (['0', 'false', 'no', 'off'].includes(t)) return ok(false);
  return bad(`${name} must be 1 or 0 (true/false), got "${shorten(text)}"`);
};

const roleName: Parser<string> = (name, text) =>
  isRoleName(text) ? ok(text) : bad(`${name} must be a PostgreSQL role name, got "${shorten(text)}"`);

const serverHost: Parser<string> = (name, text) =>
  isServerHost(text) ? ok(text) : bad(`${name} must be a host name, address or socket folder, got "${shorten(text)}"`);

/** Tenant database names are `<prefix><slug>`: the prefix must keep them plain identifiers. */
const databasePrefix: Parser<string> = (name, text) =>
  /^[a-z][a-z0-9_]{0,19}$/.test(text)
    ? ok(text)
    : bad(`${name} must be 1-20 characters of lower-case letters, digits and underscores, starting with a letter, got "${shorten(text)}"`);

const absolutePath: Parser<string> = (_name, text) => ok(path.resolve(text));

const existingFolder: Parser<string> = (name, text) => {
  const folder = path.resolve(text);
  return isDirectory(folder) ? ok(folder) : bad(`${name} must be an existing folder, got "${shorten(text)}"`);
};

/** A key is a secret: its problem is told without the value. */
const secretKey: Parser<string> = (name, text) => {
  const problem = secretKeyProblem(text);
  return problem === undefined ? ok(text.trim()) : bad(`${name} ${problem}`);
};

/** Keys kept only to open secrets sealed before a rekey: base64 keys separated by commas. */
const secretKeyList: Parser<string[]> = (name, text) => {
  const keys = text
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k !== '');
  const problems = keys.map((k, i) => [i + 1, secretKeyProblem(k)] as const).filter(([, p]) => p !== undefined);
  return problems.length === 0 ? ok(keys) : bad(problems.map(([i, p]) => `${name}: key ${i} ${p}`).join('; '));
};

/** Where the embedded cluster lives unless TENANT_HOME says otherwise. */
export function defaultTenantHome(): string {
  // As root the server runs as the `postgres` OS user, which cannot enter
  // /root, so root gets a system folder instead of a home-relative one.
  if (process.getuid?.() === 0) return '/var/lib/metapus-tenant';
  const base = process.env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share');
  return path.join(base, 'metapus-tenant');
}

/** Every variable, its parser and its default; the compiler insists each one is here. */
const VARIABLES = {
  META_DATABASE_URL: optional(postgresUrl),
  POSTGRES_ADMIN_URL: optional(postgresUrl),
  TENANT_DB_USER: optional(roleName),
  TENANT_DB_PASSWORD: optional(anyText),
  TENANT_DB_HOST: optional(serverHost),
  TENANT_DB_PORT: optional(integer(PORT_RANGE)),
  TENANT_DB_SSLMODE: optional(oneOf(SSL_MODES)),
  TENANT_DB_PREFIX: withDefault(databasePrefix, 'mt_'),
  TENANT_POOL_IDLE_TIMEOUT: withDefault(duration, '10m'),
  TENANT_MAX_POOLS: withDefault(integer({ min: 1, max: 100_000 }), '100'),
  TENANT_MAX_CONNS_PER_POOL: withDefault(integer({ min: 1, max: 10_000 }), '10'),
  TENANT_CONNECT_TIMEOUT: withDefault(duration, '5s'),
  TENANT_ACQUIRE_TIMEOUT: withDefault(duration, '10s'),
  TENANT_HEALTH_CHECK_INTERVAL: withDefault(duration, '30s'),
  TENANT_HOME: withDefault(absolutePath, defaultTenantHome),
  // The default (the package's own folder) is not checked: only a folder someone names can be wrong.
  TENANT_MIGRATIONS_DIR: optional(existingFolder),
  TENANT_SECRET_KEY: optional(secretKey),
  TENANT_SECRET_KEY_FILE: optional(absolutePath),
  TENANT_SECRET_PREVIOUS_KEYS: withDefault(secretKeyList, ''),
  PORT: withDefault(integer(LISTEN_PORT_RANGE), '8080'),
  HOST: optional(anyText),
  WORKER_CONCURRENCY: withDefault(integer({ min: 1, max: 1000 }), '4'),
  WORKER_INTERVAL: withDefault(duration, '15m'),
  WORKER_METRICS_PORT: optional(integer(LISTEN_PORT_RANGE)),
  WORKER_METRICS_HOST: withDefault(anyText, '127.0.0.1'),
  TENANT_METRICS_PER_TENANT: withDefault(flag, '0'),
  LOG_LEVEL: withDefault(oneOf(LOG_LEVELS), 'info'),
  // The reference API's access-token key: its own key, never the one that seals tenant passwords.
  API_TOKEN_KEY: optional(secretKey),
  API_TOKEN_KEY_FILE: optional(absolutePath),
  API_ACCESS_TOKEN_TTL: withDefault(duration, '15m'),
  API_REFRESH_TOKEN_TTL: withDefault(duration, '30d'),
} satisfies { [K in ConfigVariable]: Variable<unknown> };

export type ConfigValues = { [K in ConfigVariable]: (typeof VARIABLES)[K] extends Variable<infer T> ? T : never };

/** Every variable read through its parser; the problems of all bad ones are pushed onto `problems`. */
export function readVariables(raw: RawConfig, problems: string[]): ConfigValues {
  const values: Partial<Record<ConfigVariable, unknown>> = {};
  for (const name of CONFIG_VARIABLES) {
    const reading = VARIABLES[name](name, raw[name]);
    if (reading.ok) values[name] = reading.value;
    else problems.push(reading.problem);
  }
  return values as ConfigValues;
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
