/**
 * Renders tenants for people: coloured status, a detail block, a table.
 * Every stored string goes through `shown()`: names, actors and audit details
 * are written by library users too, and may hold anything.
 */
import Table from 'cli-table3';
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
    ['database', databaseText(t, fate)],
    ['schema', t.schemaVersion === null ? '-' : shown(t.schemaVersion)],
  ];
}

export interface TenantRow {
  tenant: Tenant;
  /** Migrations not applied yet; undefined where it does not apply (a deleted tenant). */
  pending: number | undefined;
  fate?: DatabaseFate;
}

export function tenantTable(c: ChalkInstance, tenants: TenantRow[], plain: boolean): string {
  // cli-table3 colours its borders and headers itself; they follow our colour decision.
  const coloured = c.level > 0;
  const table = new Table({
    head: ['id', 'slug', 'name', 'status', 'plan', 'database', 'host', 'schema', 'pending'],
    style: { head: coloured && !plain ? ['cyan'] : [], border: coloured && !plain ? ['grey'] : [] },
    ...(plain
      ? {
          chars: {
            top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '',
            'bottom-right': '', left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ',
          },
        }
      : {}),
  });
  for (const { tenant: t, pending, fate } of tenants) {
    table.push([
      shown(t.id),
      shown(t.slug),
      shown(t.name),
      statusLabel(c, t.status),
      shown(t.plan),
      t.status === 'deleted' && fate === 'dropped' ? `${shown(t.dbName)} (dropped)` : shown(t.dbName),
      `${shown(t.dbHost)}:${t.dbPort}`,
      t.schemaVersion === null ? '-' : shown(t.schemaVersion),
      pending === undefined ? '-' : pending === 0 ? '0' : c.yellow(String(pending)),
    ]);
  }
  return table.toString();
}
