/**
 * Creates the meta database when it is missing and applies pending meta
 * migrations, under an advisory lock, so two first runs at once are safe.
 */
import pg from 'pg';
import { DatabaseUnavailableError, messageOf, toToolkitError } from '../errors.js';
import { migrateDatabase } from '../migrate/database-migrator.js';
import { loadMigrationFiles } from '../migrate/migration-files.js';
import { databaseOf, guardPool, withConnection } from './db.js';
import { quoteIdent } from './identifiers.js';

export const META_STORAGE_TABLE = 'meta_migrations';

export async function ensureMetaDatabase(adminUrl: string, metaUrl: string, metaMigrationsDir: string): Promise<void> {
  const name = databaseOf(metaUrl);
  await ensureDatabaseExists(adminUrl, name);
  const files = await loadMigrationFiles(metaMigrationsDir);
  const outcome = await withConnection({ connectionString: metaUrl }, (client) =>
    migrateDatabase(client, files, { storageTable: META_STORAGE_TABLE, lockLabel: 'metapus-tenant:meta' }),
  );
  if (outcome.error) throw outcome.error;
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
        const code = (err as { code?: string }).code;
        if (code === '42P04' || code === '23505') return false;
        throw err;
      }
    });
  } catch (err) {
    const known = toToolkitError(err);
    if (known.code === 'DATABASE_UNAVAILABLE') {
      throw new DatabaseUnavailableError(`cannot reach PostgreSQL to prepare the meta database: ${messageOf(err)}`, {
        cause: err,
        hint: 'check META_DATABASE_URL / POSTGRES_ADMIN_URL and that the server is running',
      });
    }
    throw known;
  }
}

export function createMetaPool(metaUrl: string, max = 5): pg.Pool {
  // A meta connection cut while checked out or idle (server restart, failover)
  // must not crash the process; the pool replaces it.
  return guardPool(new pg.Pool({ connectionString: metaUrl, max, application_name: 'metapus-tenant-meta' }));
}
