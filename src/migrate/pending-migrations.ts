/**
 * What the meta database knows about each tenant's migrations (its mirror of
 * every tenant database's bookkeeping), answered for many tenants in one query.
 */
import crypto from 'node:crypto';
import type pg from 'pg';
import type { MigrationFile } from '../schema/migration-files.js';

/** Which repository migrations each tenant has not applied yet (from the meta database's mirror). */
export async function pendingByTenant(
  metaPool: pg.Pool,
  files: readonly MigrationFile[],
  tenantIds: readonly string[],
): Promise<Map<string, string[]>> {
  const { rows } = await metaPool.query<{ tenant_id: string; names: string[] }>(
    `SELECT tenant_id, array_agg(name) AS names FROM tenant_migrations
      WHERE tenant_id = ANY($1::uuid[]) GROUP BY tenant_id`,
    [tenantIds],
  );
  const applied = new Map(rows.map((r) => [r.tenant_id, new Set(r.names)]));
  const result = new Map<string, string[]>();
  for (const id of tenantIds) {
    const done = applied.get(id) ?? new Set<string>();
    result.set(
      id,
      files.filter((f) => !done.has(f.name)).map((f) => f.name),
    );
  }
  return result;
}

/**
 * Tenants whose recorded migrations are exactly the first k files (same
 * names, same checksums, no gaps, nothing unknown) with k covering the target
 * (index into files). For them, connecting would find nothing to do.
 */
export async function currentInMeta(
  metaPool: pg.Pool,
  files: readonly MigrationFile[],
  tenantIds: readonly string[],
  targetIndex: number,
): Promise<Set<string>> {
  if (tenantIds.length === 0 || targetIndex < 0) return new Set();
  // md5 of "name checksum" lines in name order, computed the same way on both sides.
  const { rows } = await metaPool.query<{ tenant_id: string; n: number; fingerprint: string }>(
    `SELECT tenant_id, count(*)::int AS n, md5(string_agg(name || ' ' || checksum, E'\\n' ORDER BY name)) AS fingerprint
       FROM tenant_migrations WHERE tenant_id = ANY($1::uuid[]) GROUP BY tenant_id`,
    [tenantIds],
  );
  const prefixes = files.map((_, index) => migrationsFingerprint(files, index));
  const current = new Set<string>();
  for (const row of rows) {
    if (row.n - 1 >= targetIndex && row.n <= files.length && prefixes[row.n - 1] === row.fingerprint) current.add(row.tenant_id);
  }
  return current;
}

/**
 * md5 of the "name checksum" lines of the files up to and including index,
 * as the meta database computes it over a tenant's recorded migrations:
 * equal fingerprints, equal migrations (names and contents, in order).
 */
export function migrationsFingerprint(files: readonly MigrationFile[], index: number): string {
  const lines = files.slice(0, index + 1).map((f) => `${f.name} ${f.checksum}`);
  return crypto.createHash('md5').update(lines.join('\n')).digest('hex');
}
