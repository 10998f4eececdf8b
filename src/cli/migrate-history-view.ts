/**
 * Renders the migration run history (`tenant migrate history`): the list of
 * runs, one run with its runners and its tenants, JSON.
 */
import type { ChalkInstance } from 'chalk';
import { formatDuration } from '../duration.js';
import type { MigrationRunDetail, MigrationRunSummary, RunnerStatus, RunRunner, ShownRunTenantStatus } from '../migrate/migration-runs.js';
import { resultLabel, shortId, shortList, shorten, version } from './migrate-view.js';
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
  if (run.runners.length > 0) term.line(runnersTable(term.c, run.runners, !term.interactive));
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
  if (run.status === 'running') {
    const join = run.direction === 'up' ? `, or add a runner: tenant migrate --join ${run.id}` : '';
    term.note(term.ec.dim(`the run is still going: watch it with tenant migrate status ${run.id} --watch${join}`));
  } else if (run.status !== 'succeeded' && run.tenants.some((t) => !['migrated', 'reverted', 'up-to-date'].includes(t.status))) {
    term.note(term.ec.dim(`continue it with: tenant migrate${run.direction === 'down' ? ' down' : ''} --resume ${run.id}`));
  }
}

export function runnerLabel(c: ChalkInstance, status: RunnerStatus): string {
  switch (status) {
    case 'running':
      return c.cyan(status);
    case 'finished':
      return c.green(status);
    case 'interrupted':
    case 'timed-out':
      return c.yellow(status);
    case 'lost':
      return c.red(status);
  }
}

/** A timestamp to the second, as the tables show it. */
export const timeText = (at: Date) => at.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Every runner that worked on the run: who, where, when, and how many tenants it finished. */
export function runnersTable(c: ChalkInstance, runners: readonly RunRunner[], plain: boolean): string {
  const table = makeTable(c, ['runner', 'host', 'pid', 'started', 'status', 'tenants done'], plain);
  for (const r of runners) {
    table.push([shortId(r.id), r.host, String(r.pid), timeText(r.startedAt), runnerLabel(c, r.status), String(r.done)]);
  }
  return table.toString();
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
      timeText(run.startedAt),
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
    ...(run.runKey !== null ? [['key', run.runKey] as [string, string]] : []),
    ['actor', run.actor],
    ['started', run.startedAt.toISOString()],
    ['finished', run.finishedAt?.toISOString() ?? '-'],
    ['direction', `${run.direction} to ${to}`],
    ['target', targetText(run)],
    ['tenants', `${run.total}: ${countsText(run.counts) || 'none'}`],
    ...(run.stopReason !== null ? [['stopped', run.stopReason] as [string, string]] : []),
  ];
}

const NOT_STARTED: ReadonlySet<ShownRunTenantStatus> = new Set(['pending', 'running', 'skipped', 'unrecorded']);

/** The canary (wave 0) and waves, when the run had any; a run in one wave does not need the column. */
function waveText(wave: number | null): string {
  if (wave === null) return '-';
  return wave === 0 ? 'canary' : String(wave);
}

/**
 * One row per tenant. `runner` (the runner that holds it or recorded its
 * outcome) shows for runs with runners; `claims` only when a tenant was
 * claimed more than once (a lease ran out and another runner took it
 * over); `wave` only when the run had a canary or several waves.
 */
export function runTenantsTable(c: ChalkInstance, run: MigrationRunDetail, plain: boolean): string {
  const withRunner = run.runners.length > 0 || run.tenants.some((t) => t.runnerId !== null);
  const withClaims = run.tenants.some((t) => t.claims > 1);
  const withWave = run.tenants.some((t) => t.wave !== null && t.wave !== 1);
  const head = ['tenant', 'from -> to', run.direction === 'up' ? 'applied' : 'reverted', 'duration', 'result'];
  if (withWave) head.splice(1, 0, 'wave');
  if (withRunner) head.push('runner');
  if (withClaims) head.push('claims');
  const table = makeTable(c, [...head, 'error'], plain);
  for (const t of run.tenants) {
    const row = [
      t.slug ?? t.tenantId,
      // A tenant never started has no version it went to (null here is not "no migrations").
      `${version(t.from)} -> ${t.to === null && NOT_STARTED.has(t.status) ? '-' : version(t.to)}`,
      String(t.applied.length),
      t.durationMs === null ? '-' : formatDuration(t.durationMs),
      resultLabel(c, t.status),
    ];
    if (withWave) row.splice(1, 0, waveText(t.wave));
    if (withRunner) row.push(t.runnerId ? shortId(t.runnerId) : '-');
    if (withClaims) row.push(t.claims > 1 ? String(t.claims) : '');
    row.push(t.error ? shorten(t.error, 80) : t.status === 'unrecorded' ? c.dim('outcome not recorded by the run') : '');
    table.push(row);
  }
  return table.toString();
}

export function runnerJson(r: RunRunner): Record<string, unknown> {
  return {
    id: r.id,
    host: r.host,
    pid: r.pid,
    actor: r.actor,
    concurrency: r.concurrency,
    leaseMs: r.leaseMs,
    status: r.status,
    startedAt: r.startedAt.toISOString(),
    heartbeatAt: r.heartbeatAt.toISOString(),
    finishedAt: r.finishedAt?.toISOString() ?? null,
    done: r.done,
    holding: r.holding,
  };
}

export function runJson(run: MigrationRunSummary | MigrationRunDetail): Record<string, unknown> {
  return {
    id: run.id,
    runKey: run.runKey,
    actor: run.actor,
    direction: run.direction,
    status: run.status,
    stopReason: run.stopReason,
    target: run.target,
    options: run.options,
    startedAt: run.startedAt.toISOString(),
    finishedAt: run.finishedAt?.toISOString() ?? null,
    total: run.total,
    counts: run.counts,
    ...('tenants' in run
      ? {
          runners: run.runners.map(runnerJson),
          tenants: run.tenants.map((t) => ({
            tenantId: t.tenantId,
            slug: t.slug,
            status: t.status,
            from: t.from,
            to: t.to,
            applied: t.applied,
            durationMs: t.durationMs,
            error: t.error,
            wave: t.wave,
            claims: t.claims,
            runnerId: t.runnerId,
            startedAt: t.startedAt?.toISOString() ?? null,
            finishedAt: t.finishedAt?.toISOString() ?? null,
          })),
        }
      : {}),
  };
}
