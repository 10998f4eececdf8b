/**
 * How we reach each database: the meta DB, the admin DB (CREATE/DROP
 * DATABASE) and tenant DBs. Tenant passwords go into pg config as fields,
 * never into URLs that could be printed.
 */
import type pg from 'pg';
import type { SslMode } from '../config.js';
import { isLoopbackHost } from './server-key.js';

export interface TenantCredentials {
  user: string;
  password: string | undefined;
  /** Default host/port for new tenants. */
  host: string;
  port: number;
  sslMode: SslMode | undefined;
}

/**
 * Admin credentials for each server (servers/server-directory.ts: the
 * registry's per-server logins). `urlFor` answers the admin URL to use on
 * that server, database `postgres` unless it names another.
 */
export interface AdminUrls {
  urlFor(server: { host: string; port: number }): string;
}

/** One admin URL for every server (its credentials, each server's address), or per-server admin credentials. */
export type AdminAccess = string | AdminUrls;

export interface ConnectionSettings {
  /** `embedded`: our local cluster; `configured`: META_DATABASE_URL. */
  source: 'embedded' | 'configured';
  metaUrl: string;
  /** The configured admin URL: the `default` server's admin login, and the meta database's setup. */
  adminUrl: string;
  /** Each registered server's admin login (the runtime's ServerDirectory); absent: adminUrl's credentials everywhere. */
  admins?: AdminUrls;
  /** The shared login: serves tenants without their own app role (shared mode, and tenants from before least privilege). */
  tenant: TenantCredentials;
  /** New tenants get their own app login role (no TENANT_DB_USER); else they share `tenant` (shared mode). */
  isolateNewTenants: boolean;
}

/** pg's `ssl` option for a mode; loopback hosts default to no TLS, others require it. */
export function sslFor(mode: SslMode | undefined, host: string): pg.ClientConfig['ssl'] {
  const effective = mode ?? (isLoopbackHost(host) || host.startsWith('/') ? 'disable' : 'require');
  switch (effective) {
    case 'disable':
      return false;
    case 'prefer':
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-full':
      return { rejectUnauthorized: true };
  }
}

/** Where one tenant database lives (a Tenant has these fields). */
export interface DatabaseAddress {
  dbName: string;
  dbHost: string;
  dbPort: number;
}

export function tenantClientConfig(tenant: DatabaseAddress, creds: TenantCredentials, extra: Partial<pg.PoolConfig> = {}): pg.PoolConfig {
  return {
    host: tenant.dbHost,
    port: tenant.dbPort,
    database: tenant.dbName,
    user: creds.user,
    ...(creds.password !== undefined ? { password: creds.password } : {}),
    ssl: sslFor(creds.sslMode, tenant.dbHost),
    application_name: 'metapus-tenant',
    ...extra,
  };
}

/** The admin logins to use for tenant databases: per server when the registry is loaded. */
export function adminAccess(connections: Pick<ConnectionSettings, 'adminUrl' | 'admins'>): AdminAccess {
  return connections.admins ?? connections.adminUrl;
}
