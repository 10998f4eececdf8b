/**
 * Where a server's admin login comes from. The meta database never holds an
 * admin password in plaintext; in order:
 *   1. `TENANT_SERVER_<NAME>_ADMIN_URL` in the environment (the whole URL);
 *   2. the `default` server: the configured admin URL (POSTGRES_ADMIN_URL, or
 *      the embedded cluster's superuser), as before servers were registered;
 *   3. the registry's admin user with its password sealed by the tenant
 *      secret key (`tenant server add --admin-password-stdin`);
 *   4. the registry's admin user without a password: libpq's password file
 *      (~/.pgpass, or PGPASSFILE) supplies it, as for psql;
 *   5. nothing registered: the configured admin URL's credentials on this
 *      server's address (the behaviour before servers were registered).
 */
import { parseConnectionUrl } from '../connection-url.js';
import { sameCredentialsOn } from '../pg/admin-connection.js';
import { openSecret } from '../secrets/secret-box.js';
import { SecretKeyring } from '../secrets/secret-keyring.js';
import { DEFAULT_SERVER, adminSecretContext, adminUrlVariable, type Server } from './server.js';

export type AdminSource = 'environment' | 'configured' | 'sealed' | 'pgpass';

export interface ServerAdmin {
  /** The admin URL (database `postgres`); may hold a password: never print it unredacted. */
  url: string;
  source: AdminSource;
  /** The variable read (source `environment`). */
  variable?: string;
}

export interface AdminSources {
  /** The environment the per-server variables are read from. */
  env: Readonly<Record<string, string | undefined>>;
  /** The configured admin URL (POSTGRES_ADMIN_URL or the embedded superuser). */
  defaultAdminUrl: string;
  /** Opens sealed admin passwords; without it a sealed password is an error (SecretKeyError). */
  keyring?: SecretKeyring | undefined;
}

export function resolveServerAdmin(server: Server, sources: AdminSources): ServerAdmin {
  const variable = adminUrlVariable(server.name);
  const fromEnv = sources.env[variable]?.trim();
  if (fromEnv) return { url: fromEnv, source: 'environment', variable };
  if (server.name === DEFAULT_SERVER || !server.adminUser) {
    return {
      url: sameCredentialsOn(sources.defaultAdminUrl, server),
      source: 'configured',
    };
  }
  const password =
    server.adminSecret === null
      ? undefined
      : openSecret(
          requireKeyring(sources.keyring),
          server.adminSecret,
          adminSecretContext(server.name),
          `the admin password of server "${server.name}"`,
        );
  return {
    url: buildAdminUrl(server, server.adminUser, password),
    source: password === undefined ? 'pgpass' : 'sealed',
  };
}

/** A postgres:// URL for the admin login on the server (socket folders as `?host=`), with its options. */
export function buildAdminUrl(server: Pick<Server, 'host' | 'port' | 'adminOptions'>, user: string, password: string | undefined): string {
  const query = new URLSearchParams(server.adminOptions);
  const credentials = `${encodeURIComponent(user)}${password === undefined ? '' : `:${encodeURIComponent(password)}`}@`;
  let authority: string;
  if (server.host.startsWith('/')) {
    authority = credentials;
    query.set('host', server.host);
    query.set('port', String(server.port));
  } else {
    authority = `${credentials}${server.host.includes(':') ? `[${server.host}]` : server.host}:${server.port}`;
  }
  const rest = query.toString();
  const url = `postgres://${authority}/postgres${rest ? `?${rest}` : ''}`;
  parseConnectionUrl(url); // what we build must be what we parse
  return url;
}

/** An empty keyring makes openSecret report the missing key in its one wording. */
function requireKeyring(keyring: SecretKeyring | undefined): SecretKeyring {
  return keyring ?? new SecretKeyring(undefined);
}
