/**
 * Per-test-file isolation on the shared test server: each file gets its own
 * meta database and tenant database prefix, and drops them afterwards, so
 * files can run in parallel.
 */
import crypto from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { inject } from 'vitest';
import { parseConfig, type Config, type RawConfig } from '../../src/config.js';
import { withDatabase } from '../../src/connection-url.js';
import { openRuntime, type Runtime } from '../../src/runtime/runtime.js';
import { dropDatabasesWithPrefix } from './drop-databases.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface TestEnvironment {
  id: string;
  prefix: string;
  metaDatabase: string;
  adminUrl: string;
  /** Environment variables for a CLI subprocess or loadConfig (shared mode: TENANT_DB_USER is set). */
  env: Record<string, string>;
  /** The same without the shared login: new tenants get their own app role (isolated mode). */
  isolatedEnv: Record<string, string>;
  config(overrides?: RawConfig): Config;
  runtime(overrides?: RawConfig): Promise<Runtime>;
  admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T>;
  databases(): Promise<string[]>;
  cleanup(): Promise<void>;
}

export function createTestEnvironment(): TestEnvironment {
  const server = inject('testServer');
  const id = `t${crypto.randomBytes(4).toString('hex')}`;
  const prefix = `${id}_`;
  const metaDatabase = `${id}_meta`;
  const metaUrl = withDatabase(server.adminUrl, metaDatabase);
  const env: Record<string, string> = {
    META_DATABASE_URL: metaUrl,
    POSTGRES_ADMIN_URL: server.adminUrl,
    TENANT_DB_USER: server.appUser,
    TENANT_DB_PASSWORD: server.appPassword,
    TENANT_DB_HOST: server.host,
    TENANT_DB_PORT: String(server.port),
    TENANT_DB_PREFIX: prefix,
    // Seals isolated tenants' passwords; shared mode (TENANT_DB_USER above) does not need it.
    TENANT_SECRET_KEY: crypto.randomBytes(32).toString('base64'),
  };
  const runtimes: Runtime[] = [];

  const admin = async <T>(fn: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: server.adminUrl });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  };

  const { TENANT_DB_USER: _user, TENANT_DB_PASSWORD: _password, ...isolatedEnv } = env;
  return {
    id,
    prefix,
    isolatedEnv,
    metaDatabase,
    adminUrl: server.adminUrl,
    env,
    config: (overrides = {}) => parseConfig({ ...env, ...overrides }),
    async runtime(overrides = {}) {
      const rt = await openRuntime(parseConfig({ ...env, ...overrides }));
      runtimes.push(rt);
      return rt;
    },
    admin,
    databases: () =>
      admin(async (client) => {
        const { rows } = await client.query<{ datname: string }>(
          'SELECT datname FROM pg_database WHERE starts_with(datname, $1) ORDER BY datname',
          [prefix],
        );
        return rows.map((r) => r.datname);
      }),
    async cleanup() {
      await Promise.all(runtimes.map((rt) => rt.close()));
      await admin((client) => dropDatabasesWithPrefix(client, prefix));
    },
  };
}
