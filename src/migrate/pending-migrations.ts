/** Which repository migrations each tenant has not applied yet (from the meta database's mirror). */
import type pg from 'pg';
import type { MigrationFile } from './migration-files.js';

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
