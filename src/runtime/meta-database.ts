/**
 * Creates the meta database when it is missing and applies pending meta
 * migrations, under an advisory lock, so two first runs at once are safe.
 * A meta database that is already set up is recognised with one query.
 */
import pg from 'pg';
import {
  DatabaseUnavailableError,
  isConcurrentCatalogUpdate,
  isDuplicateDatabase,
  isInsufficientPrivilege,
  messageOf,
  toToolkitError,
} from '../errors.js';
import { loadMigrationFiles, type MigrationFile } from '../schema/migration-files.js';
import { databaseOf, parseConnectionUrl } from '../connection-url.js';
import { guardPool, withConnection } from '../pg/with-helpers.js';
import { ident, quoteIdent, roleIdent } from '../pg/identifiers.js';
import { canonicalHost } from '../pg/server-key.js';
import { applicationName } from '../pg/application-name.js';

export const META_STORAGE_TABLE = 'meta_migrations';

/**
 * The server today's configuration points at: the meta migration that
 * introduced the server registry registers it as `default` and attaches
 * existing tenants to it (db/meta/00003_servers.sql).
 */
export interface DefaultServerAddress {
  host: string;
  port: number;
}

/** The full setup: create if missing, restrict CONNECT, migrate under the lock. */
export async function ensureMetaDatabase(
  adminUrl: string,
  metaUrl: string,
  metaMigrationsDir: string,
  defaultServer?: DefaultServerAddress,
): Promise<void> {
  await setUpMetaDatabase(adminUrl, metaUrl, await loadMigrationFiles(metaMigrationsDir), defaultServer);
}

/**
 * What every run does: one query on the meta pool (whose connection the
 * caller goes on to use), and the full setup only when that query does not
 * show a meta database that is already set up.
 */
export async function prepareMetaDatabase(
  pool: pg.Pool,
  adminUrl: string,
  metaUrl: string,
  metaMigrationsDir: string,
  defaultServer?: DefaultServerAddress,
): Promise<void> {
  const files = await loadMigrationFiles(metaMigrationsDir);
  if (await metaDatabaseIsCurrent(pool, files)) return;
  await setUpMetaDatabase(adminUrl, metaUrl, files, defaultServer);
}

async function setUpMetaDatabase(
  adminUrl: string,
  metaUrl: string,
  files: readonly MigrationFile[],
  defaultServer: DefaultServerAddress | undefined,
): Promise<void> {
  const name = databaseOf(metaUrl);
  await ensureDatabaseExists(adminUrl, name);
  await restrictMetaDatabase(adminUrl, name, parseConnectionUrl(metaUrl).user || undefined);
  // The migration engine (and Umzug) is loaded only when there may be something to migrate.
  const { migrateDatabase } = await import('../schema/database-migrator.js');
  const outcome = await withConnection({ connectionString: metaUrl }, async (client) => {
    if (defaultServer) {
      // Read by the server-registry migration (values as parameters, never spliced into SQL).
      await client.query(`SELECT set_config('metapus.default_server_host', $1, false), set_config('metapus.default_server_port', $2, false)`, [
        canonicalHost(defaultServer.host),
        String(defaultServer.port),
      ]);
    }
    return migrateDatabase(client, files, {
      storageTable: META_STORAGE_TABLE,
      lockLabel: 'metapus-tenant:meta',
    });
  });
  if (outcome.error) throw outcome.error;
}

/**
 * True when the meta database has every meta migration applied, each with
 * the checksum of its file and nothing else, and PUBLIC can no longer
 * connect (restrictMetaDatabase has run): the state the full setup leaves.
 * Anything else, a failure included (no database or table yet, server
 * unreachable), answers false: the full setup then decides, and reports
 * errors as it always has.
 */
export async function metaDatabaseIsCurrent(pool: pg.Pool, files: readonly MigrationFile[]): Promise<boolean> {
  let row: { open: boolean; applied: [string, string][] } | undefined;
  try {
    const result = await pool.query<{
      open: boolean;
      applied: [string, string][];
    }>(
      `SELECT has_database_privilege('public', current_database(), 'CONNECT') AS open,
              (SELECT coalesce(json_agg(json_build_array(name, checksum)), '[]'::json)
                 FROM public.${ident(META_STORAGE_TABLE, 'storage table')}) AS applied`,
    );
    row = result.rows[0];
  } catch {
    return false;
  }
  if (!row || row.open) return false;
  const applied = new Map(row.applied);
  return applied.size === files.length && files.every((file) => applied.get(file.name) === file.checksum);
}

/** CREATE DATABASE if missing; a concurrent creator winning the race is fine. */
export async function ensureDatabaseExists(adminUrl: string, name: string): Promise<boolean> {
  try {
    return await withConnection({ connectionString: adminUrl }, async (client) => {
      const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (rowCount) return false;
      try {
        // The name comes from the operator's own META_DATABASE_URL; it is quoted, never spliced.
        await client.query(`CREATE DATABASE ${quoteIdent(name)}`);
        return true;
      } catch (err) {
        if (isDuplicateDatabase(err)) return false;
        throw err;
      }
    });
  } catch (err) {
    const known = toToolkitError(err, {
      role: parseConnectionUrl(adminUrl).user || undefined,
    });
    if (known.code === 'DATABASE_UNAVAILABLE') {
      throw new DatabaseUnavailableError(`cannot reach PostgreSQL to prepare the meta database: ${messageOf(err)}`, {
        cause: err,
        hint: 'check META_DATABASE_URL / POSTGRES_ADMIN_URL and that the server is running',
      });
    }
    throw known;
  }
}

/**
 * CONNECT on the meta database is revoked from PUBLIC (as for tenant
 * databases): whoever can connect can read every tenant's coordinates and
 * send forged status NOTIFYs. The meta URL's role keeps access (granted
 * first, so it never loses it); the owner and superusers always have it.
 * Done only while PUBLIC still has CONNECT, so servers starting together do
 * not race on the same catalog row at every start.
 */
export async function restrictMetaDatabase(adminUrl: string, name: string, metaRole: string | undefined): Promise<void> {
  await withConnection({ connectionString: adminUrl }, async (client) => {
    const { rows } = await client.query<{
      open: boolean;
      role_exists: boolean;
    }>(
      `SELECT has_database_privilege('public', $1, 'CONNECT') AS open,
              EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $2) AS role_exists`,
      [name, metaRole ?? ''],
    );
    if (!rows[0]?.open) return;
    const db = quoteIdent(name);
    try {
      if (metaRole && rows[0].role_exists) await client.query(`GRANT CONNECT, TEMPORARY ON DATABASE ${db} TO ${roleIdent(metaRole)}`);
      await client.query(`REVOKE CONNECT, TEMPORARY ON DATABASE ${db} FROM PUBLIC`);
    } catch (err) {
      // Not ours to change (a meta database managed by someone else), or another server just did it.
      if (isInsufficientPrivilege(err) || isConcurrentCatalogUpdate(err)) return;
      throw err;
    }
  });
}

/** The meta pool; its connections show as `metapus:<component>:meta` in pg_stat_activity. */
export function createMetaPool(metaUrl: string, max = 5, component = 'app'): pg.Pool {
  // A meta connection cut while checked out or idle (server restart, failover)
  // must not crash the process; the pool replaces it.
  return guardPool(
    new pg.Pool({
      connectionString: metaUrl,
      max,
      application_name: applicationName(component, 'meta'),
    }),
  );
}
