/** Renders the migration run history (`tenant migrate history`): the list of runs, one run with its tenants, JSON. */
import type { ChalkInstance } from 'chalk';
import { formatDuration } from '../duration.js';
import type { MigrationRunDetail, MigrationRunSummary, ShownRunTenantStatus } from '../migrate/migration-runs.js';
import { resultLabel, shortList, shorten, version } from './migrate-view.js';
import { makeTable } from './table.js';
import type { Terminal } from './terminal.js';
import { detailBlock } from './tenant-view.js';

/** The list of recent runs. */
export function renderRuns(term: Terminal, runs: MigrationRunSummary[]): void {
  if (term.json) return term.printJson(runs.map(runJson));
  if (runs.length === 0) return term.line('No migration runs yet.');
  term.line(runsTable(term.c, runs, !term.interactive));
}

/** One run with a row per tenant, and what to do about tenants it left unfinished. */
export function renderRun(term: Terminal, run: MigrationRunDetail): void {
  if (term.json) return term.printJson(runJson(run));
  term.line(detailBlock(term.c, runDetails(run)));
  if (run.tenants.length > 0) term.line(runTenantsTable(term.c, run, !term.interactive));
  const unrecorded = run.tenants.filter((t) => t.status === 'unrecorded').length;
  if (unrecorded > 0) {
    term.note(
      term.c.dim(
        `${unrecorded} tenant${unrecorded === 1 ? '' : 's'} without a recorded outcome (the run was killed or lost the meta database): ` +
          '`tenant list` shows their real schema version',
      ),
    );
  }
  if (run.status !== 'succeeded' && run.tenants.some((t) => !['migrated', 'reverted', 'up-to-date'].includes(t.status))) {
    term.note(term.c.dim(`continue it with: tenant migrate${run.direction === 'down' ? ' down' : ''} --resume ${run.id}`));
  }
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

function runsTable(c: ChalkInstance, runs: MigrationRunSummary[], plain: boolean): string {
  const table = makeTable(c, ['run', 'started', 'actor', 'direction', 'target', 'tenants', 'duration', 'status'], plain);
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

function runDetails(run: MigrationRunDetail): [string, string][] {
  const to =
    typeof run.options.to === 'string' ? run.options.to : `latest (${typeof run.options.latest === 'string' ? run.options.latest : '-'})`;
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

function runTenantsTable(c: ChalkInstance, run: MigrationRunDetail, plain: boolean): string {
  const table = makeTable(c, ['tenant', 'from -> to', run.direction === 'up' ? 'applied' : 'reverted', 'duration', 'result', 'error'], plain);
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
