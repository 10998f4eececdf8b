/**
 * Renders servers for `tenant server ...`: JSON objects, the list table and
 * the detail lines. Nothing here sees a password: the admin login is shown
 * by where it comes from (an environment variable, the configured admin
 * URL, a sealed password, ~/.pgpass) and its user name.
 */
import type { ChalkInstance } from 'chalk';
import type { AdminLoginInfo, ServerReport } from '../servers/server-registry.js';
import type { Server } from '../servers/server.js';
import { makeTable } from './table.js';
import { shown } from './tenant-view.js';

const SOURCE_TEXT: Record<AdminLoginInfo['source'], string> = {
  environment: 'environment',
  configured: 'configured admin URL',
  sealed: 'sealed password',
  pgpass: '~/.pgpass',
};

export function serverJson(server: Server, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: server.name,
    host: server.host,
    port: server.port,
    status: server.status,
    capacity: server.capacity,
    connections: server.connections,
    adminUser: server.adminUser,
    adminPasswordSealed: server.adminSecret !== null,
    createdAt: server.createdAt.toISOString(),
    updatedAt: server.updatedAt.toISOString(),
    ...extra,
  };
}

export function serverReportJson(report: ServerReport): Record<string, unknown> {
  const { probe } = report;
  return serverJson(report.server, {
    tenants: report.tenants,
    admin: report.admin ?? null,
    ...(report.adminError ? { adminError: report.adminError } : {}),
    reachable: probe.reachable,
    version: probe.version ?? null,
    maxConnections: probe.maxConnections ?? null,
    ...(probe.error ? { error: probe.error } : {}),
  });
}

/** `env TENANT_SERVER_EU_2_ADMIN_URL`, `sealed password (admin)`, ... */
export function adminText(admin: AdminLoginInfo | undefined, error?: string): string {
  if (!admin) return `unusable: ${shown(error ?? 'unknown')}`;
  const where = admin.source === 'environment' && admin.variable ? `env ${admin.variable}` : SOURCE_TEXT[admin.source];
  return admin.user ? `${where} (${shown(admin.user)})` : where;
}

export function address(server: Pick<Server, 'host' | 'port'>): string {
  return `${shown(server.host)}:${server.port}`;
}

export function budgetText(server: Pick<Server, 'connections'>, maxConnections?: number): string {
  if (server.connections !== null) return String(server.connections);
  return maxConnections === undefined ? 'auto' : `auto (max ${maxConnections})`;
}

export function serverTable(c: ChalkInstance, reports: readonly ServerReport[], plain: boolean): string {
  const table = makeTable(c, ['name', 'address', 'status', 'tenants', 'connections', 'reachable', 'version', 'admin login'], plain);
  for (const r of reports) {
    table.push([
      shown(r.server.name),
      address(r.server),
      r.server.status === 'active' ? c.green('active') : c.yellow(r.server.status),
      `${r.tenants}/${r.server.capacity ?? '∞'}`,
      budgetText(r.server, r.probe.maxConnections),
      r.probe.reachable ? c.green('yes') : c.red(`no${r.probe.error ? `: ${shown(r.probe.error.message)}` : ''}`),
      r.probe.version ? shown(r.probe.version) : '-',
      adminText(r.admin, r.adminError),
    ]);
  }
  return table.toString();
}
