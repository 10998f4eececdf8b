/**
 * Wires configuration to live connections: picks the configured server or
 * the embedded local cluster, prepares the meta database, and hands out the
 * registry. The CLI, the server and the worker all start here.
 */
import path from 'node:path';
import type pg from 'pg';
import type { Config } from '../config.js';
import type { ConnectionSettings } from '../pg/connection-settings.js';
import { parseConnectionUrl, withDatabase } from '../connection-url.js';
import { createMetaPool, prepareMetaDatabase } from './meta-database.js';
import { TenantRegistry } from '../tenants/tenant-registry.js';
import type { ClusterLease } from '../local/local-cluster.js';
import { redactUrl } from '../redact.js';
import { loadKeyring } from '../secrets/keyring-loader.js';
import { TenantSecretStore } from '../secrets/tenant-secret-store.js';
import { ServerDirectory } from '../servers/server-directory.js';

export const EMBEDDED_META_DATABASE = 'metapus_meta';
/** The embedded cluster's secret key, in TENANT_HOME. */
export const EMBEDDED_KEY_FILE = 'secret.key';

export interface Runtime {
  config: Config;
  connections: ConnectionSettings;
  metaPool: pg.Pool;
  registry: TenantRegistry;
  /** Tenant app-role passwords, sealed in the meta database. */
  secrets: TenantSecretStore;
  /** The registered servers and each one's admin login (also `connections.admins`); refresh() after changing the registry. */
  servers: ServerDirectory;
  close(): Promise<void>;
}

export interface OpenRuntimeOptions {
  /** One-line notices (e.g. which cluster is used); the CLI prints them on stderr. */
  onNotice?: (message: string) => void;
  /** Skip creating/migrating the meta database (e.g. `tenant local status`). */
  skipMetaSetup?: boolean;
  metaPoolSize?: number;
  /** Who opens it: the meta pool shows as `metapus:<component>:meta` (cli, server, worker; default app). */
  component?: string;
}

export async function resolveConnections(
  config: Config,
  onNotice: (message: string) => void = () => undefined,
): Promise<{
  connections: ConnectionSettings;
  lease: ClusterLease | undefined;
}> {
  if (config.metaDatabaseUrl) {
    const metaUrl = config.metaDatabaseUrl;
    const adminUrl = config.adminDatabaseUrl ?? withDatabase(metaUrl, 'postgres');
    const admin = parseConnectionUrl(adminUrl);
    const adminUser = admin.user || process.env.PGUSER || 'postgres';
    const user = config.tenantDb.user ?? adminUser;
    const password = config.tenantDb.password ?? (user === adminUser ? admin.password : undefined);
    onNotice(`using PostgreSQL at ${redactUrl(metaUrl)}`);
    return {
      lease: undefined,
      connections: {
        source: 'configured',
        metaUrl,
        adminUrl,
        isolateNewTenants: config.tenantDb.user === undefined,
        tenant: {
          user,
          password,
          // A socket folder (`?host=/var/run/postgresql`) is a host to pg too.
          host: config.tenantDb.host ?? admin.host,
          port: config.tenantDb.port ?? admin.port,
          // sslmode in the URL applies to tenant connections unless TENANT_DB_SSLMODE says otherwise.
          sslMode: config.tenantDb.sslMode ?? admin.sslMode ?? parseConnectionUrl(metaUrl).sslMode,
        },
      },
    };
  }
  // The embedded cluster's code is loaded only when it is the one used.
  const { LocalCluster, clusterUrl } = await import('../local/local-cluster.js');
  const cluster = new LocalCluster({ home: config.tenantHome });
  const lease = await cluster.acquire();
  const creds = lease.credentials;
  onNotice(`using the embedded PostgreSQL in ${config.tenantHome} (127.0.0.1:${creds.port}); set META_DATABASE_URL to use your own server`);
  return {
    lease,
    connections: {
      source: 'embedded',
      metaUrl: clusterUrl(creds, EMBEDDED_META_DATABASE),
      adminUrl: lease.adminUrl,
      isolateNewTenants: config.tenantDb.user === undefined,
      tenant: {
        user: config.tenantDb.user ?? creds.appUser,
        password: config.tenantDb.password ?? (config.tenantDb.user ? undefined : creds.appPassword),
        host: config.tenantDb.host ?? '127.0.0.1',
        port: config.tenantDb.port ?? creds.port,
        sslMode: config.tenantDb.sslMode,
      },
    },
  };
}

export async function openRuntime(config: Config, options: OpenRuntimeOptions = {}): Promise<Runtime> {
  const { connections, lease } = await resolveConnections(config, options.onNotice);
  let keyring;
  try {
    // The embedded cluster keeps its own key beside its data unless one is configured.
    const defaultKeyFile = connections.source === 'embedded' ? path.join(config.tenantHome, EMBEDDED_KEY_FILE) : undefined;
    keyring = loadKeyring(config.secrets, {
      ...(defaultKeyFile ? { defaultKeyFile } : {}),
      ...(options.onNotice ? { onNotice: options.onNotice } : {}),
    });
  } catch (err) {
    await lease?.release();
    throw err;
  }
  // Created first: its first connection checks the meta database and then serves the caller.
  const metaPool = createMetaPool(connections.metaUrl, options.metaPoolSize, options.component);
  const servers = new ServerDirectory(
    metaPool,
    { env: config.serverAdminUrls, defaultAdminUrl: connections.adminUrl, keyring },
    { host: connections.tenant.host, port: connections.tenant.port },
  );
  try {
    if (!options.skipMetaSetup) {
      await prepareMetaDatabase(metaPool, connections.adminUrl, connections.metaUrl, config.metaMigrationsDir, {
        host: connections.tenant.host,
        port: connections.tenant.port,
      });
      await servers.refresh();
      connections.admins = servers;
    }
  } catch (err) {
    await metaPool.end().catch(() => undefined);
    await lease?.release();
    throw err;
  }
  let closed = false;
  return {
    config,
    connections,
    metaPool,
    registry: new TenantRegistry(metaPool),
    secrets: new TenantSecretStore(metaPool, keyring),
    servers,
    async close() {
      if (closed) return;
      closed = true;
      await metaPool.end().catch(() => undefined);
      await lease?.release();
    },
  };
}
