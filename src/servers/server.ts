/** A PostgreSQL server tenant databases live on, as the meta database's `servers` table records it. */
import { UsageError } from '../errors.js';

export const SERVER_STATUSES = ['active', 'draining'] as const;
/** `active`: placement may put new tenants here; `draining`: no new tenants, existing ones stay. */
export type ServerStatus = (typeof SERVER_STATUSES)[number];

/** The server today's configuration points at, registered by the server-registry meta migration. */
export const DEFAULT_SERVER = 'default';

export interface Server {
  name: string;
  /** Canonical host (pg/server-key.ts) or a socket folder. */
  host: string;
  port: number;
  status: ServerStatus;
  /** How many tenants may live here; null: no limit. */
  capacity: number | null;
  /** Connections one process may hold to this server; null: derived from its max_connections. */
  connections: number | null;
  /** The admin login's user name, when the registry names one (see server-admin.ts). */
  adminUser: string | null;
  /** The admin password sealed with the secret key (`v1:...`); null: environment or ~/.pgpass. Never printed. */
  adminSecret: string | null;
  /** URL query text for admin connections (e.g. `sslmode=require`); never a password. */
  adminOptions: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface ServerRow {
  name: string;
  host: string;
  port: number;
  status: ServerStatus;
  capacity: number | null;
  connections: number | null;
  admin_user: string | null;
  admin_secret: string | null;
  admin_options: string;
  created_at: Date;
  updated_at: Date;
}

export function serverFromRow(row: ServerRow): Server {
  return {
    name: row.name,
    host: row.host,
    port: row.port,
    status: row.status,
    capacity: row.capacity,
    connections: row.connections,
    adminUser: row.admin_user,
    adminSecret: row.admin_secret,
    adminOptions: row.admin_options,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

const SERVER_NAME = /^[a-z][a-z0-9-]{0,38}[a-z0-9]$/;

/** A server name typed by someone: 2-40 characters, lower-case letters, digits and `-`, starting with a letter. */
export function validateServerName(value: string): string {
  const name = value.trim();
  if (!SERVER_NAME.test(name) || name.includes('--')) {
    throw new UsageError(
      `server name must be 2-40 characters of a-z, 0-9 and single "-", starting with a letter and not ending with "-", got "${value}"`,
    );
  }
  return name;
}

export const isServerStatus = (value: string): value is ServerStatus => (SERVER_STATUSES as readonly string[]).includes(value);

/**
 * The environment variable that holds a server's admin URL:
 * `TENANT_SERVER_<NAME>_ADMIN_URL`, the name upper-cased with `-` as `_`
 * (server `eu-2` reads TENANT_SERVER_EU_2_ADMIN_URL).
 */
export function adminUrlVariable(serverName: string): string {
  return `TENANT_SERVER_${serverName.toUpperCase().replace(/-/g, '_')}_ADMIN_URL`;
}

/** The authenticated context an admin password is sealed under: a sealed value moved to another server's row does not open. */
export function adminSecretContext(serverName: string): string {
  return `server:${serverName}:admin`;
}
