import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, parseConfig } from '../../src/config.js';
import { ConfigError, UsageError } from '../../src/errors.js';

describe('parseConfig', () => {
  it('applies defaults when nothing is set', () => {
    const config = parseConfig({});
    expect(config.metaDatabaseUrl).toBeUndefined();
    expect(config.pool).toMatchObject({ maxPools: 100, maxConnsPerPool: 10, idleTimeoutMs: 600_000 });
    expect(config.tenantDb.namePrefix).toBe('mt_');
  });

  it('parses durations and integers', () => {
    const config = parseConfig({ TENANT_POOL_IDLE_TIMEOUT: '30s', TENANT_MAX_POOLS: '7', TENANT_MAX_CONNS_PER_POOL: '3' });
    expect(config.pool).toMatchObject({ idleTimeoutMs: 30_000, maxPools: 7, maxConnsPerPool: 3 });
  });

  it('reports every bad value at once, one message each', () => {
    let error: unknown;
    try {
      parseConfig({ TENANT_MAX_POOLS: 'abc', TENANT_POOL_IDLE_TIMEOUT: '10 minutes', TENANT_DB_PORT: '70000' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toHaveLength(3);
    expect(problems).toContain('TENANT_MAX_POOLS must be a whole number from 1 to 100000, got "abc"');
    expect(problems.some((p) => p.startsWith('TENANT_POOL_IDLE_TIMEOUT must be a duration'))).toBe(true);
    expect((error as ConfigError).exitCode).toBe(2);
  });

  it('never echoes a password from a bad URL', () => {
    expect(() => parseConfig({ META_DATABASE_URL: 'mysql://root:hunter2@db/x' })).toThrow(/root:\*\*\*@/);
    try {
      parseConfig({ META_DATABASE_URL: 'mysql://root:hunter2@db/x' });
    } catch (err) {
      expect(String((err as Error).message)).not.toContain('hunter2');
    }
  });

  it('reads per-server admin URLs by their pattern and reports a bad one by name, never its password', () => {
    const config = parseConfig({ TENANT_SERVER_EU_2_ADMIN_URL: 'postgres://admin:pw@db-eu-2.internal:5432/postgres' });
    expect(config.serverAdminUrls).toEqual({ TENANT_SERVER_EU_2_ADMIN_URL: 'postgres://admin:pw@db-eu-2.internal:5432/postgres' });
    expect(parseConfig({}).serverAdminUrls).toEqual({});
    let error: unknown;
    try {
      parseConfig({ TENANT_SERVER_EU_3_ADMIN_URL: 'mysql://admin:hunter2@x/y' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([expect.stringMatching(/^TENANT_SERVER_EU_3_ADMIN_URL: /)]);
    expect(String((error as ConfigError).problems)).not.toContain('hunter2');
  });

  it('takes per-server admin URLs from the environment and the .env file, the environment first', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'metapus-config-'));
    try {
      const file = path.join(dir, '.env');
      fs.writeFileSync(file, 'TENANT_SERVER_A_ADMIN_URL=postgres://file@a/postgres\nTENANT_SERVER_B_ADMIN_URL=postgres://file@b/postgres\n');
      const config = loadConfig({ env: { TENANT_SERVER_A_ADMIN_URL: 'postgres://env@a/postgres' }, envFile: file });
      expect(config.serverAdminUrls).toEqual({
        TENANT_SERVER_A_ADMIN_URL: 'postgres://env@a/postgres',
        TENANT_SERVER_B_ADMIN_URL: 'postgres://file@b/postgres',
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads the server and worker settings', () => {
    const config = parseConfig({ PORT: '0', HOST: '127.0.0.1', WORKER_CONCURRENCY: '2', WORKER_INTERVAL: '1h' });
    expect(config.server).toEqual({ port: 0, host: '127.0.0.1' });
    expect(config.worker).toEqual({ concurrency: 2, intervalMs: 3_600_000, metricsPort: undefined, metricsHost: '127.0.0.1' });
    expect(() => parseConfig({ PORT: '99999' })).toThrow(/PORT must be a whole number from 0 to 65535/);
  });

  it('rejects an unsafe database prefix', () => {
    expect(() => parseConfig({ TENANT_DB_PREFIX: 'x"; drop' })).toThrow(ConfigError);
  });

  it('refuses an env file that was named but is missing or a folder, naming the path', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'metapus-envfile-'));
    try {
      const missing = path.join(dir, 'nope.env');
      expect(() => loadConfig({ env: {}, envFile: missing })).toThrow(new UsageError(`env file "${missing}" not found`));
      expect(() => loadConfig({ env: {}, envFile: dir })).toThrow(new UsageError(`env file "${dir}" is a folder, not a file`));
      const file = path.join(dir, 'ok.env');
      fs.writeFileSync(file, 'TENANT_MAX_POOLS=7\n');
      expect(loadConfig({ env: {}, envFile: file }).pool.maxPools).toBe(7);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
