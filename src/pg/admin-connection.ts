/**
 * Connections made with the admin credentials (POSTGRES_ADMIN_URL, or the
 * embedded superuser): to any server a tenant lives on, and, for migrations,
 * into a tenant database as its owner role. Least privilege: the owner role
 * cannot log in, so DDL runs as `admin` + `SET ROLE <owner>` and every object
 * it creates belongs to the owner; the app login never runs DDL.
 */
import type pg from 'pg';
import { parseConnectionUrl, withDatabase, withServer } from '../connection-url.js';
import { serverKey } from './server-key.js';
import { roleIdent } from './identifiers.js';
import { withConnection } from './with-helpers.js';
import type { AdminAccess, DatabaseAddress } from './connection-settings.js';

export type { AdminAccess, AdminUrls } from './connection-settings.js';

/** The admin URL pointed at another server (one URL's credentials kept), optionally at a database there. */
export function adminUrlFor(admin: AdminAccess, server: { host: string; port: number }, database?: string): string {
  const onServer = typeof admin === 'string' ? sameCredentialsOn(admin, server) : admin.urlFor(server);
  return database === undefined ? onServer : withDatabase(onServer, database);
}

/** `adminUrl`'s credentials on `server`: unchanged when it already names that server. */
export function sameCredentialsOn(adminUrl: string, server: { host: string; port: number }): string {
  const admin = parseConnectionUrl(adminUrl);
  return serverKey(admin.host, admin.port) === serverKey(server.host, server.port) ? adminUrl : withServer(adminUrl, server.host, server.port);
}

/** An admin connection to the server of `server` (database `postgres` unless the URL names another). */
export function withAdminConnection<T>(
  adminUrl: AdminAccess,
  server: { host: string; port: number },
  fn: (admin: pg.Client) => Promise<T>,
  extra: Partial<pg.ClientConfig> = {},
): Promise<T> {
  return withConnection(
    {
      application_name: 'metapus-tenant-admin',
      ...extra,
      connectionString: adminUrlFor(adminUrl, server),
    },
    fn,
  );
}

/** A connection into the tenant's database acting as its owner role: where migrations run. */
export function withOwnerConnection<T>(
  adminUrl: AdminAccess,
  database: DatabaseAddress,
  ownerRole: string,
  fn: (client: pg.Client) => Promise<T>,
  extra: Partial<pg.ClientConfig> = {},
): Promise<T> {
  const url = adminUrlFor(adminUrl, { host: database.dbHost, port: database.dbPort }, database.dbName);
  return withConnection(
    {
      application_name: 'metapus-tenant-admin',
      ...extra,
      connectionString: url,
    },
    async (client) => {
      await client.query(`SET ROLE ${roleIdent(ownerRole)}`);
      return fn(client);
    },
  );
}
