/**
 * The tenants table of `tenant list`. Its own module because it pulls in
 * cli-table3: list imports it only when it draws a table (not for --json).
 */
import type { ChalkInstance } from 'chalk';
import type { Tenant } from '../tenants/tenant.js';
import { makeTable } from './table.js';
import { shown, statusLabel, type DatabaseFate } from './tenant-view.js';

export interface TenantRow {
  tenant: Tenant;
  /** Migrations not applied yet; undefined where it does not apply (a deleted tenant). */
  pending: number | undefined;
  fate?: DatabaseFate;
}

export function tenantTable(c: ChalkInstance, tenants: TenantRow[], plain: boolean): string {
  const table = makeTable(c, ['id', 'slug', 'name', 'status', 'plan', 'server', 'database', 'host', 'schema', 'pending'], plain);
  for (const { tenant: t, pending, fate } of tenants) {
    table.push([
      shown(t.id),
      shown(t.slug),
      shown(t.name),
      statusLabel(c, t.status),
      shown(t.plan),
      t.serverName ? shown(t.serverName) : '-',
      t.status === 'deleted' && fate === 'dropped' ? `${shown(t.dbName)} (dropped)` : shown(t.dbName),
      `${shown(t.dbHost)}:${t.dbPort}`,
      t.schemaVersion === null ? '-' : shown(t.schemaVersion),
      pending === undefined ? '-' : pending === 0 ? '0' : c.yellow(String(pending)),
    ]);
  }
  return table.toString();
}
