/** Renders fleet migrations and run history: progress text, plain lines, tables, JSON. */
import Table from 'cli-table3';
import type { ChalkInstance } from 'chalk';
import { formatDuration } from '../duration.js';
import type { FleetOutcome, FleetProgress } from '../migrate/fleet-types.js';
import type { FleetTenantResult, FleetTenantStatus } from '../migrate/fleet-result.js';
import type { MigrationRunDetail, MigrationRunSummary, ShownRunStatus, ShownRunTenantStatus } from '../migrate/migration-runs.js';

const PLAIN_CHARS = {
  top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '',
  'bottom-right': '', left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ',
};

export function makeTable(head: string[], plain: boolean): Table.Table {
  return new Table({
    head,
    style: { head: plain ? [] : ['cyan'], border: plain ? [] : ['grey'] },
    ...(plain ? { chars: PLAIN_CHARS } : {}),
  });
}

export function resultLabel(c: ChalkInstance, status: FleetTenantStatus | ShownRunTenantStatus | ShownRunStatus): string {
  switch (status) {
    case 'migrated':
    case 'reverted':
    case 'succeeded':
      return c.green(status);
    case 'up-to-date':
      return c.dim(status);
    case 'pending':
    case 'running':
      return c.cyan(status);
    case 'failed':
      return c.red(status);
    case 'skipped':
    case 'interrupted':
    case 'abandoned':
    case 'unrecorded':
      return c.yellow(status);
  }
}

export function progressText(progress: FleetProgress, direction: 'up' | 'down', dryRun: boolean): string {
  const verb = dryRun ? 'checking' : direction === 'up' ? 'migrating' : 'reverting';
  const failed = progress.failed > 0 ? `, ${progress.failed} failed` : '';
  // The running tenants get their own label: after "done" they would read as finished.
  const now = progress.running.length > 0 ? ` (running: ${shortList(progress.running, 4)})` : '';
  return `${verb} tenants: ${progress.done}/${progress.total} done${failed}${now}`;
}

const version = (v: string | null) => v ?? '(none)';

/** One plain line per tenant (pipelines, logs). */
export function tenantLine(c: ChalkInstance, r: FleetTenantResult, direction: 'up' | 'down'): string {
  const tries = r.attempts > 1 ? `, ${r.attempts} tries` : '';
  const time = r.checkedIn === 'database' ? ` in ${formatDuration(r.durationMs)}${tries}` : '';
  switch (r.status) {
    case 'migrated':
      return `${r.slug}: ${c.green('migrated')} ${version(r.from)} -> ${version(r.to)} (${r.applied.length} applied${time})`;
    case 'reverted':
      return `${r.slug}: ${c.green('reverted')} ${version(r.from)} -> ${version(r.to)} (${r.reverted.length} reverted${time})`;
    case 'up-to-date':
      return `${r.slug}: ${c.dim('up to date')} at ${version(r.to)}${r.checkedIn === 'meta' ? ' (meta)' : ''}`;
    case 'pending':
      return `${r.slug}: would ${direction === 'up' ? 'apply' : 'revert'} ${r.planned.join(', ')} (${version(r.from)} -> ${version(r.to)})`;
    case 'failed': {
      const at = r.error?.migration ? ` at ${r.error.migration}` : '';
      const line = `${r.slug}: ${c.red('FAILED')}${at}: ${r.error?.message ?? 'unknown error'} (now at ${version(r.to)}${tries})`;
      return r.error?.hint ? `${line}\n  ${c.dim(`hint: ${r.error.hint}`)}` : line;
    }
    case 'skipped':
      return `${r.slug}: ${c.yellow('skipped')}: ${r.reason ?? ''}`;
  }
}

/** The final summary; up-to-date tenants are counted, not listed (unless `all`). */
export function summaryTable(c: ChalkInstance, outcome: FleetOutcome, plain: boolean, all: boolean): string | undefined {
  const rows = outcome.results.filter((r) => all || r.status !== 'up-to-date');
  if (rows.length === 0) return undefined;
  const done = outcome.direction === 'up' ? 'applied' : 'reverted';
  const table = makeTable(['tenant', 'from -> to', outcome.dryRun ? 'planned' : done, 'duration', 'result'], plain);
  for (const r of rows) {
    const count = outcome.dryRun ? r.planned.length : r.applied.length + r.reverted.length;
    const failure = r.error ? `${r.error.code}${r.error.migration ? ` at ${r.error.migration}` : ''}` : '';
    const detail = r.status === 'failed' ? failure : r.status === 'skipped' ? shorten(r.reason ?? '', 60) : '';
    table.push([
      r.slug,
      `${version(r.from)} -> ${version(r.to)}`,
      String(count),
      r.checkedIn === 'database' ? formatDuration(r.durationMs) : '-',
      `${resultLabel(c, r.status)}${detail ? ` ${c.dim(detail)}` : ''}`,
    ]);
  }
  return table.toString();
}

export function totalsLine(c: ChalkInstance, outcome: FleetOutcome): string {
  const total = outcome.results.length;
  if (total === 0) return 'no tenants to migrate';
  const parts = (Object.entries(outcome.counts) as [FleetTenantStatus, number][])
    .filter(([, n]) => n > 0)
    .map(([status, n]) => `${n} ${status === 'pending' ? 'with work to do' : status}`);
  const head = `${total} tenant${total === 1 ? '' : 's'}: ${parts.join(', ')}`;
  const where = outcome.targetVersion ? ` (target ${outcome.targetVersion})` : '';
  return `${outcome.status === 'succeeded' ? c.green(head) : c.red(head)}${where} in ${formatDuration(outcome.durationMs)}`;
}

export function fleetJson(outcome: FleetOutcome): Record<string, unknown> {
  const unrecorded = new Set(outcome.unrecorded);
  return {
    runId: outcome.runId,
    resumedFrom: outcome.resumedFrom,
    status: outcome.status,
    direction: outcome.direction,
    dryRun: outcome.dryRun,
    targetVersion: outcome.targetVersion,
    latestVersion: outcome.latestVersion,
    stopReason: outcome.stopReason,
    durationMs: Math.round(outcome.durationMs),
    // false: some of this run is not in `tenant migrate history` (each such result says recorded: false).
    recorded: outcome.recorded,
    counts: outcome.counts,
    results: outcome.results.map((r) => ({
      tenantId: r.tenantId,
      slug: r.slug,
      status: r.status,
      from: r.from,
      to: r.to,
      applied: r.applied,
      reverted: r.reverted,
      ...(outcome.dryRun ? { planned: r.planned } : { recorded: !unrecorded.has(r.tenantId) }),
      attempts: r.attempts,
      durationMs: Math.round(r.durationMs),
      checkedIn: r.checkedIn,
      error: r.error,
      reason: r.reason,
    })),
  };
}

function targetText(run: MigrationRunSummary): string {
  const t = run.target;
  const list = (v: unknown) => (Array.isArray(v) ? v.map(String) : []);
  if (typeof t.resumeOf === 'string') return `resume of ${t.resumeOf.slice(0, 8)}`;
  const named = [...list(t.slugs), ...list(t.ids).map((id) => id.slice(0, 8))];
  if (named.length > 0) return shortList(named, 3);
  return `all ${list(t.statuses).join('/') || 'active'}`;
}

function countsText(counts: Record<ShownRunTenantStatus, number>): string {
  return (Object.entries(counts) as [ShownRunTenantStatus, number][])
    .filter(([, n]) => n > 0)
    .map(([status, n]) => `${n} ${status}`)
    .join(', ');
}

function runDuration(run: MigrationRunSummary): string {
  return run.finishedAt ? formatDuration(run.finishedAt.getTime() - run.startedAt.getTime()) : '-';
}

export function runsTable(c: ChalkInstance, runs: MigrationRunSummary[], plain: boolean): string {
  const table = makeTable(['run', 'started', 'actor', 'direction', 'target', 'tenants', 'duration', 'status'], plain);
  for (const run of runs) {
    const to = typeof run.options.to === 'string' ? ` to ${run.options.to}` : '';
    table.push([
      run.id,
      run.startedAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      run.actor,
      `${run.direction}${to}`,
      targetText(run),
      countsText(run.counts) || '0',
      runDuration(run),
      resultLabel(c, run.status),
    ]);
  }
  return table.toString();
}

export function runDetails(run: MigrationRunDetail): [string, string][] {
  const to = typeof run.options.to === 'string' ? run.options.to : `latest (${String(run.options.latest ?? '-')})`;
  return [
    ['run', run.id],
    ['actor', run.actor],
    ['started', run.startedAt.toISOString()],
    ['finished', run.finishedAt?.toISOString() ?? '-'],
    ['direction', `${run.direction} to ${to}`],
    ['target', targetText(run)],
    ['tenants', `${run.total}: ${countsText(run.counts) || 'none'}`],
  ];
}

export function runTenantsTable(c: ChalkInstance, run: MigrationRunDetail, plain: boolean): string {
  const table = makeTable(['tenant', 'from -> to', run.direction === 'up' ? 'applied' : 'reverted', 'duration', 'result', 'error'], plain);
  for (const t of run.tenants) {
    table.push([
      t.slug ?? t.tenantId,
      `${version(t.from)} -> ${version(t.to)}`,
      String(t.applied.length),
      t.durationMs === null ? '-' : formatDuration(t.durationMs),
      resultLabel(c, t.status),
      t.error ? shorten(t.error, 80) : t.status === 'unrecorded' ? c.dim('outcome not recorded by the run') : '',
    ]);
  }
  return table.toString();
}

export function runJson(run: MigrationRunSummary | MigrationRunDetail): Record<string, unknown> {
  return {
    id: run.id,
    actor: run.actor,
    direction: run.direction,
    status: run.status,
    target: run.target,
    options: run.options,
    startedAt: run.startedAt.toISOString(),
    finishedAt: run.finishedAt?.toISOString() ?? null,
    total: run.total,
    counts: run.counts,
    ...('tenants' in run
      ? {
          tenants: run.tenants.map((t) => ({
            tenantId: t.tenantId,
            slug: t.slug,
            status: t.status,
            from: t.from,
            to: t.to,
            applied: t.applied,
            durationMs: t.durationMs,
            error: t.error,
            finishedAt: t.finishedAt?.toISOString() ?? null,
          })),
        }
      : {}),
  };
}

function shortList(items: readonly string[], max: number): string {
  return items.length <= max ? items.join(', ') : `${items.slice(0, max).join(', ')} +${items.length - max} more`;
}

function shorten(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ');
  return line.length > max ? `${line.slice(0, max - 3)}...` : line;
}
