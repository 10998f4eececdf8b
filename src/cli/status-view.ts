/** Renders `tenant status`: the fleet in sections, what needs attention, and the JSON document. */
import type { ChalkInstance } from 'chalk';
import { formatDuration } from '../duration.js';
import type { FleetStatus } from '../status/fleet-status-model.js';
import { makeTable } from './table.js';
import type { Terminal } from './terminal.js';
import { shown } from './tenant-view.js';
import { shorten, version } from './migrate-view.js';

const count = (n: number) => n.toLocaleString('en-US');

export function renderStatus(term: Terminal, status: FleetStatus): void {
  if (term.json) return term.printJson(statusJson(status));
  term.line(statusText(term.c, status, !term.interactive));
}

/** Every section as text (plain: tables without colour or borders, for logs and pipes). */
export function statusText(c: ChalkInstance, status: FleetStatus, plain: boolean): string {
  const out: string[] = [];
  const { tenants, versions } = status;
  const byStatus = Object.entries(tenants.byStatus)
    .filter(([s, n]) => n > 0 && s !== 'deleted')
    .map(([s, n]) => `${count(n)} ${s}`);
  out.push(`${c.bold('Tenants')}  ${count(tenants.total)}${byStatus.length ? ` (${byStatus.join(', ')})` : ''}`);

  const skew = [`${count(versions.current)} current`];
  if (versions.behind > 0) skew.push(c.yellow(`${count(versions.behind)} behind (oldest ${version(versions.oldest)})`));
  if (versions.unknown > 0) skew.push(c.red(`${count(versions.unknown)} at a version this release does not have`));
  out.push(`${c.bold('Schema')}   latest ${version(status.latestVersion)}: ${skew.join(', ')}`);
  if (versions.byVersion.length > 1 || versions.behind + versions.unknown > 0) {
    const table = makeTable(c, ['version', 'tenants', 'behind'], plain);
    for (const v of versions.byVersion)
      table.push([version(v.version), count(v.tenants), v.behind === null ? 'unknown' : v.behind === 0 ? '-' : String(v.behind)]);
    out.push(table.toString());
  }

  if (status.failed.total > 0) {
    out.push('', c.bold(`Migration failed (${count(status.failed.total)})`));
    const table = makeTable(c, ['tenant', 'at', 'failed migration', 'error', 'when'], plain);
    for (const t of status.failed.tenants) {
      table.push([shown(t.slug), version(t.version), t.migration ?? '-', shorten(shown(t.error ?? '-'), 70), t.at ? ago(status.at, t.at) : '-']);
    }
    out.push(table.toString());
    if (status.failed.total > status.failed.tenants.length)
      out.push(c.dim(`  ... and ${count(status.failed.total - status.failed.tenants.length)} more (tenant list --status migration_failed)`));
  }

  if (status.staleProvisioning.total > 0) {
    const list = status.staleProvisioning.tenants.map((t) => `${shown(t.slug)} (${ago(status.at, t.since)})`);
    out.push('', `${c.bold('Stuck creates')} (${count(status.staleProvisioning.total)}): ${list.join(', ')}`);
  }

  if (status.runs.length > 0) {
    out.push('', c.bold('Runs not ended'));
    const table = makeTable(c, ['run', 'started', 'actor', 'direction', 'done', 'failed', 'runners', 'status'], plain);
    for (const r of status.runs) {
      const done = r.total - r.counts.pending - r.counts.running - r.counts.unrecorded;
      table.push([
        r.id.slice(0, 8),
        ago(status.at, r.startedAt),
        shown(r.actor),
        r.direction,
        `${count(done)}/${count(r.total)}`,
        String(r.counts.failed),
        `${r.runnersAlive} alive${r.runnersLost > 0 ? `, ${r.runnersLost} lost` : ''}`,
        r.status === 'abandoned' ? c.yellow('abandoned') : c.cyan('running'),
      ]);
    }
    out.push(table.toString());
  }

  if (status.servers.length > 0) {
    out.push('', c.bold('Servers'));
    const head = ['server', 'address', 'status', 'tenants'];
    if (status.checked) head.push('reachable', 'version', 'orphans');
    const table = makeTable(c, head, plain);
    for (const s of status.servers) {
      const row = [
        shown(s.name),
        `${shown(s.host)}:${s.port}`,
        s.status,
        s.capacity === null ? count(s.tenants) : `${count(s.tenants)}/${count(s.capacity)}`,
      ];
      if (status.checked) {
        row.push(s.probe?.reachable ? c.green('yes') : c.red(`no${s.probe?.error ? `: ${shorten(shown(s.probe.error.message), 50)}` : ''}`));
        row.push(s.probe?.version ?? '-');
        const orphans = s.orphans ? s.orphans.databases.length + s.orphans.roles.length : 0;
        row.push(s.orphans?.error ? c.yellow('unknown') : orphans > 0 ? c.yellow(String(orphans)) : '-');
      }
      table.push(row);
    }
    out.push(table.toString());
  }

  out.push('');
  if (status.findings.length === 0) {
    out.push(
      c.green(status.checked ? 'Nothing needs attention.' : 'Nothing needs attention in the meta database (--check also asks the servers).'),
    );
  } else {
    out.push(c.bold('Needs attention'));
    for (const f of status.findings) {
      const subjects = f.subjects.length > 0 ? `: ${f.subjects.map(shown).join(', ')}${f.count > f.subjects.length ? ', ...' : ''}` : '';
      out.push(`  ${c.red(f.code)} ${f.message}${subjects}`);
      out.push(`    ${c.dim(f.hint)}`);
    }
  }
  return out.join('\n');
}

export function statusJson(status: FleetStatus): Record<string, unknown> {
  return {
    at: status.at.toISOString(),
    latestVersion: status.latestVersion,
    healthy: status.findings.length === 0,
    checked: status.checked,
    findings: status.findings,
    tenants: status.tenants,
    versions: status.versions,
    failed: {
      total: status.failed.total,
      tenants: status.failed.tenants.map((t) => ({ ...t, at: t.at?.toISOString() ?? null })),
    },
    staleProvisioning: {
      total: status.staleProvisioning.total,
      tenants: status.staleProvisioning.tenants.map((t) => ({ ...t, since: t.since.toISOString() })),
    },
    runs: status.runs.map((r) => ({
      id: r.id,
      runKey: r.runKey,
      actor: r.actor,
      direction: r.direction,
      status: r.status,
      startedAt: r.startedAt.toISOString(),
      total: r.total,
      counts: r.counts,
      runnersAlive: r.runnersAlive,
      runnersLost: r.runnersLost,
    })),
    servers: status.servers.map((s) => ({
      name: s.name,
      host: s.host,
      port: s.port,
      status: s.status,
      capacity: s.capacity,
      tenants: s.tenants,
      ...(s.probe ? { reachable: s.probe.reachable, version: s.probe.version ?? null, ...(s.probe.error ? { error: s.probe.error } : {}) } : {}),
      ...(s.orphans
        ? { orphanDatabases: s.orphans.databases, orphanRoles: s.orphans.roles, ...(s.orphans.error ? { orphansError: s.orphans.error } : {}) }
        : {}),
    })),
  };
}

function ago(now: Date, then: Date): string {
  return `${formatDuration(Math.max(0, now.getTime() - then.getTime()))} ago`;
}
