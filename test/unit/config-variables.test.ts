import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT, parseConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('configuration variables', () => {
  it('takes the tenant host by the one host rule: names, addresses and socket folders', () => {
    expect(parseConfig({ TENANT_DB_HOST: '/var/run/postgresql' }).tenantDb.host).toBe('/var/run/postgresql');
    expect(parseConfig({ TENANT_DB_HOST: 'db.internal' }).tenantDb.host).toBe('db.internal');
    expect(problemsOf(() => parseConfig({ TENANT_DB_HOST: 'user@db' }))).toEqual([
      'TENANT_DB_HOST must be a host name, address or socket folder, got "user@db"',
    ]);
  });

  it('checks the tenant role name and TLS mode', () => {
    expect(parseConfig({ TENANT_DB_USER: 'App-User', TENANT_DB_SSLMODE: 'verify-full' }).tenantDb).toMatchObject({
      user: 'App-User',
      sslMode: 'verify-full',
    });
    expect(problemsOf(() => parseConfig({ TENANT_DB_USER: 'a b', TENANT_DB_SSLMODE: 'strict' }))).toEqual([
      'TENANT_DB_USER must be a PostgreSQL role name, got "a b"',
      'TENANT_DB_SSLMODE must be one of disable, prefer, require, verify-full, got "strict"',
    ]);
  });

  it('lets a tenant database port be 1-65535 and a listening port 0-65535', () => {
    expect(problemsOf(() => parseConfig({ TENANT_DB_PORT: '0', PORT: '0' }))).toEqual([
      'TENANT_DB_PORT must be a whole number from 1 to 65535, got "0"',
    ]);
  });

  it('refuses durations of zero and reports the admin URL without the meta URL', () => {
    expect(problemsOf(() => parseConfig({ TENANT_CONNECT_TIMEOUT: '0s', POSTGRES_ADMIN_URL: 'postgres://a:pw@db/postgres' }))).toEqual([
      'TENANT_CONNECT_TIMEOUT must be a duration like 30s, 10m or 1h, got "0s"',
      'POSTGRES_ADMIN_URL is set but META_DATABASE_URL is not; set both, or neither to use the embedded cluster',
    ]);
  });

  it('checks a named migrations folder but not the packaged default', () => {
    expect(parseConfig({}).migrationsDir).toBe(path.join(PACKAGE_ROOT, 'db', 'migrations'));
    expect(problemsOf(() => parseConfig({ TENANT_MIGRATIONS_DIR: '/no/such/folder' }))).toEqual([
      'TENANT_MIGRATIONS_DIR must be an existing folder, got "/no/such/folder"',
    ]);
  });

  it('resolves TENANT_HOME to an absolute path', () => {
    expect(parseConfig({ TENANT_HOME: 'rel/home' }).tenantHome).toBe(path.resolve('rel/home'));
  });

  it('hides a password given as a URL parameter of a bad URL', () => {
    const [problem] = problemsOf(() => parseConfig({ META_DATABASE_URL: 'mysql://db/x?password=hunter2' }));
    expect(problem).toMatch(/^META_DATABASE_URL must be a postgres:\/\/ URL/);
    expect(problem).not.toContain('hunter2');
  });
});

describe('observability variables', () => {
  it('reads the observability settings: metrics port and host, per-tenant labels, log level', () => {
    const defaults = parseConfig({});
    expect(defaults.metrics).toEqual({ perTenant: false });
    expect(defaults.logLevel).toBe('info');
    const set = parseConfig({ WORKER_METRICS_PORT: '9464', WORKER_METRICS_HOST: '0.0.0.0', TENANT_METRICS_PER_TENANT: '1', LOG_LEVEL: 'debug' });
    expect(set.worker).toMatchObject({ metricsPort: 9464, metricsHost: '0.0.0.0' });
    expect(set.metrics.perTenant).toBe(true);
    expect(set.logLevel).toBe('debug');
    expect(parseConfig({ TENANT_METRICS_PER_TENANT: 'off' }).metrics.perTenant).toBe(false);
    expect(problemsOf(() => parseConfig({ TENANT_METRICS_PER_TENANT: 'maybe', LOG_LEVEL: 'loud', WORKER_METRICS_PORT: '70000' }))).toEqual([
      expect.stringMatching(/^WORKER_METRICS_PORT must be a whole number from 0 to 65535/),
      'TENANT_METRICS_PER_TENANT must be 1 or 0 (true/false), got "maybe"',
      'LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, silent, got "loud"',
    ]);
  });
});
