/** Renders tenants for people: coloured status, a detail block, a table. */
import Table from 'cli-table3';
import type { ChalkInstance } from 'chalk';
import type { Tenant, TenantStatus } from '../core/tenant.js';

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
  }
}

export function detailBlock(c: ChalkInstance, rows: [string, string][]): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${c.dim(k.padEnd(width))}  ${v}`).join('\n');
}

export function tenantDetails(c: ChalkInstance, t: Tenant): [string, string][] {
  return [
    ['id', t.id],
    ['slug', t.slug],
    ['name', t.name],
    ['status', statusLabel(c, t.status)],
    ['plan', t.plan],
    ['database', `${t.dbName} on ${t.dbHost}:${t.dbPort}`],
    ['schema', t.schemaVersion ?? '-'],
  ];
}

export function tenantTable(c: ChalkInstance, tenants: { tenant: Tenant; pending: number }[], plain: boolean): string {
  const table = new Table({
    head: ['id', 'slug', 'name', 'status', 'plan', 'database', 'host', 'schema', 'pending'],
    style: { head: plain ? [] : ['cyan'], border: plain ? [] : ['grey'] },
    ...(plain
      ? {
          chars: {
            top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '',
            'bottom-right': '', left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ',
          },
        }
      : {}),
  });
  for (const { tenant: t, pending } of tenants) {
    table.push([
      t.id,
      t.slug,
      t.name,
      statusLabel(c, t.status),
      t.plan,
      t.dbName,
      `${t.dbHost}:${t.dbPort}`,
      t.schemaVersion ?? '-',
      pending === 0 ? '0' : c.yellow(String(pending)),
    ]);
  }
  return table.toString();
}
