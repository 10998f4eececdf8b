/**
 * Renders tenants for people: coloured status, a detail block (the table is
 * in tenant-table.ts). Every stored string goes through `shown()`: names,
 * actors and audit details are written by library users too, and may hold anything.
 */
import type { ChalkInstance } from 'chalk';
import { escapeControlCharacters } from '../control-characters.js';
import type { Tenant, TenantStatus } from '../tenants/tenant.js';

/** Stored text made safe for a terminal: control characters are shown escaped (`\x1b`). */
export function shown(text: string): string {
  return escapeControlCharacters(text);
}

export function statusLabel(c: ChalkInstance, status: TenantStatus): string {
  switch (status) {
    case 'active':
      return c.green(status);
    case 'suspended':
      return c.yellow(status);
    case 'migration_failed':
      return c.red(status);
    case 'provisioning':
    case 'moving':
      return c.cyan(status);
    case 'deleted':
      return c.dim(status);
    default:
      return shown(String(status));
  }
}

export function detailBlock(c: ChalkInstance, rows: [string, string][]): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${c.dim(k.padEnd(width))}  ${v}`).join('\n');
}

/** What the toolkit knows of a deleted tenant's database (from the audit trail). */
export type DatabaseFate = 'kept' | 'dropped';

export function databaseText(t: Tenant, fate?: DatabaseFate): string {
  const where = `${shown(t.dbName)} on ${shown(t.dbHost)}:${t.dbPort}`;
  if (t.status !== 'deleted') return where;
  return fate === 'dropped' ? `${where} (dropped)` : `${where} (kept after delete)`;
}

export function tenantDetails(c: ChalkInstance, t: Tenant, fate?: DatabaseFate): [string, string][] {
  return [
    ['id', shown(t.id)],
    ['slug', shown(t.slug)],
    ['name', shown(t.name)],
    ['status', statusLabel(c, t.status)],
    ['plan', shown(t.plan)],
    ['server', t.serverName ? shown(t.serverName) : '- (removed)'],
    ['database', databaseText(t, fate)],
    ['schema', t.schemaVersion === null ? '-' : shown(t.schemaVersion)],
  ];
}
