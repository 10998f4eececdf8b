/** Renders fleet migrations: progress, plain lines per tenant, the summary table, JSON (run history: migrate-history-view.ts). */
import type { ChalkInstance } from 'chalk';
import { formatDuration } from '../duration.js';
import type { FleetEvent, FleetOutcome, FleetProgress } from '../migrate/fleet-types.js';
import type { FleetTenantResult, FleetTenantStatus } from '../migrate/fleet-result.js';
import type { ShownRunStatus, ShownRunTenantStatus } from '../migrate/migration-runs.js';
import { makeTable } from './table.js';
import type { Terminal } from './terminal.js';

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

/** What an idle runner shows while the others finish the run. */
export function waitingText(reason: string, progress: FleetProgress): string {
  const failed = progress.failed > 0 ? `, ${progress.failed} failed` : '';
  return `waiting: ${reason} (run: ${progress.done}/${progress.total} done${failed})`;
}

/** The first characters of an id, enough to tell runners apart in a table. */
export const shortId = (id: string) => id.slice(0, 8);

export const version = (v: string | null) => v ?? '(none)';

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
export function summaryTable(
  c: ChalkInstance,
  outcome: FleetOutcome,
  plain: boolean,
  all: boolean,
  /** Tenants summed up elsewhere (see skippedGroups). */
  omit: ReadonlySet<string> = new Set(),
): string | undefined {
  const rows = outcome.results.filter((r) => (all || r.status !== 'up-to-date') && !omit.has(r.tenantId));
  if (rows.length === 0) return undefined;
  const done = outcome.direction === 'up' ? 'applied' : 'reverted';
  const table = makeTable(c, ['tenant', 'from -> to', outcome.dryRun ? 'planned' : done, 'duration', 'result'], plain);
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

/**
 * The run's totals (counts are the whole run's, every runner's tenants
 * included); a runner that shared the run says how many were its own.
 */
export function totalsLine(c: ChalkInstance, outcome: FleetOutcome): string {
  const total = Object.values(outcome.counts).reduce((sum, n) => sum + n, 0);
  if (total === 0 && outcome.results.length === 0) return 'no tenants to migrate';
  // In a dry run `pending` is work to do; in a run another runner is still on, it is what is not finished yet.
  const pending = outcome.dryRun ? 'with work to do' : 'not finished';
  const parts = (Object.entries(outcome.counts) as [FleetTenantStatus, number][])
    .filter(([, n]) => n > 0)
    .map(([status, n]) => `${n} ${status === 'pending' ? pending : status}`);
  const head = `${total} tenant${total === 1 ? '' : 's'}: ${parts.join(', ')}`;
  const shared = outcome.joined || outcome.results.length !== total;
  const notes = [
    outcome.targetVersion ? `target ${outcome.targetVersion}` : '',
    shared ? `${outcome.results.length} by this runner` : '',
  ].filter(Boolean);
  const where = notes.length > 0 ? ` (${notes.join(', ')})` : '';
  const colour = outcome.status === 'succeeded' ? c.green : outcome.status === 'running' ? c.yellow : c.red;
  return `${colour(head)}${where} in ${formatDuration(outcome.durationMs)}`;
}

export function fleetJson(outcome: FleetOutcome): Record<string, unknown> {
  const unrecorded = new Set(outcome.unrecorded);
  return {
    runId: outcome.runId,
    // This runner's id in the run, and whether it joined a run another runner started.
    runnerId: outcome.runnerId,
    joined: outcome.joined,
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
    // The whole run's counts; `results` are this runner's.
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

/** Fleet events as they come: the spinner on a terminal, lines for what needs attention. */
export function renderFleetEvent(term: Terminal, direction: 'up' | 'down', dryRun: boolean): (event: FleetEvent) => void {
  // Without a spinner, a reason to wait is said once (a runner may wait through many polls).
  const waitedFor = new Set<string>();
  return (event) => {
    switch (event.type) {
      case 'run-started':
        if (event.joined && event.runId) term.info(joinedText(event.runId, event.runnerId));
        if (event.queued > 0)
          term.progress(progressText({ total: event.total, done: event.total - event.queued, failed: 0, running: [] }, direction, dryRun));
        break;
      case 'tenant-started':
        term.progress(progressText(event.progress, direction, dryRun));
        break;
      case 'waiting':
        if (term.interactive) term.progress(waitingText(event.reason, event.progress));
        else if (!waitedFor.has(event.reason)) {
          waitedFor.add(event.reason);
          term.info(waitingText(event.reason, event.progress));
        }
        break;
      case 'migration':
        if (term.verbose) term.progress(`${event.tenant.slug}: ${event.migration.type} ${event.migration.name}`);
        break;
      case 'tenant-finished': {
        const { result } = event;
        // On a terminal the spinner shows progress and the table sums up; lines only for what needs attention.
        if (!term.interactive || term.verbose || result.status === 'failed' || result.status === 'pending') {
          term.line(tenantLine(term.c, result, direction));
        }
        term.progress(progressText(event.progress, direction, dryRun));
        break;
      }
      case 'tenant-retry':
        term.warn(
          `${event.tenant.slug}: ${event.error.message}; trying again in ${formatDuration(event.delayMs)} (retry ${event.attempt} of ${event.retries})`,
        );
        break;
      case 'record-retry':
        term.warn(
          `cannot write ${event.pending} outcome${event.pending === 1 ? '' : 's'} and the end of the run to the meta database (${event.message}); ` +
            `trying again in ${formatDuration(event.delayMs)}`,
        );
        break;
      case 'stopping':
        term.warn(event.reason === 'interrupted' ? 'interrupted: letting running tenants finish, starting no more' : event.reason);
        break;
      case 'warning':
        term.warn(event.message);
        break;
    }
  };
}

/** Skipped tenants listed one by one when fewer than this share a reason. */
export const SKIPPED_LISTED = 10;

/** Skipped tenants by reason, for the reasons more than `max` tenants share (a stopped run skips all the rest for one reason). */
export function skippedGroups(results: readonly FleetTenantResult[], max: number): Map<string, FleetTenantResult[]> {
  const byReason = new Map<string, FleetTenantResult[]>();
  for (const r of results) {
    if (r.status !== 'skipped') continue;
    const reason = r.reason ?? '';
    const group = byReason.get(reason);
    if (group) group.push(r);
    else byReason.set(reason, [r]);
  }
  return new Map([...byReason].filter(([, group]) => group.length > max));
}

export function skippedGroupLine(c: ChalkInstance, reason: string, results: readonly FleetTenantResult[]): string {
  return `${results.length} tenants ${c.yellow('skipped')}: ${reason} (${shortList(
    results.map((r) => r.slug),
    3,
  )}; --verbose lists them, \`tenant migrate history\` shows them)`;
}

export function joinedText(runId: string, runnerId: string | null): string {
  // No runner id: the run had ended before this runner came; the outcome below is the run's.
  return runnerId ? `joined run ${runId} as runner ${shortId(runnerId)}` : `joined run ${runId}, which had already ended`;
}

/** What to do about a run that did not succeed: watch it while others are on it, or continue it. */
export function unfinishedNote(outcome: FleetOutcome): string | undefined {
  if (!outcome.runId || outcome.status === 'succeeded') return undefined;
  if (outcome.status === 'running') {
    return (
      `run ${outcome.runId} is still going (other runners are on it); this runner stopped waiting (--wait-timeout). ` +
      `Watch it: \`tenant migrate status ${outcome.runId} --watch\``
    );
  }
  const down = outcome.direction === 'down' ? ' down' : '';
  const why = outcome.stopReason ? ` (stopped: ${outcome.stopReason})` : '';
  return `run ${outcome.runId} ${outcome.status}${why}: see \`tenant migrate history ${outcome.runId}\`; retry with \`tenant migrate${down} --resume ${outcome.runId}\``;
}

export function renderFleetOutcome(term: Terminal, outcome: FleetOutcome): void {
  if (term.json) {
    term.printJson(fleetJson(outcome));
    return;
  }
  // A run that stopped skips the rest for one reason: many such tenants get one line, not one each (--verbose lists them).
  const groups = skippedGroups(outcome.results, term.verbose ? Infinity : SKIPPED_LISTED);
  const grouped = new Set([...groups.values()].flat().map((r) => r.tenantId));
  // Tenants decided without running (skipped, or current per the meta database) get their line here.
  for (const result of outcome.results) {
    if (result.checkedIn === 'database' || grouped.has(result.tenantId)) continue;
    if (result.status === 'skipped' || term.verbose) term.line(tenantLine(term.c, result, outcome.direction));
  }
  for (const [reason, results] of groups) term.line(skippedGroupLine(term.c, reason, results));
  const table = summaryTable(term.c, outcome, !term.interactive, term.verbose, grouped);
  if (table) term.line(table);
  term.line(totalsLine(term.c, outcome));
  const byMeta = outcome.results.filter((r) => r.checkedIn === 'meta').length;
  if (byMeta > 0) term.note(term.c.dim(`${byMeta} up to date per the meta database (not connected; --verify checks each database)`));
  if (outcome.runId && outcome.unrecorded.length > 0) {
    const n = outcome.unrecorded.length;
    term.note(
      term.c.yellow(
        `${n} outcome${n === 1 ? ' is' : 's are'} not in the run history (the meta database stayed unreachable); they are listed above, ` +
          `and \`tenant migrate history ${outcome.runId}\` shows ${n === 1 ? 'it' : 'them'} as unrecorded`,
      ),
    );
  } else if (outcome.runId && !outcome.recorded) {
    term.note(
      term.c.yellow(
        `every outcome of run ${outcome.runId} is recorded, but not its end (the meta database stayed unreachable); history shows it abandoned`,
      ),
    );
  }
  const unfinished = unfinishedNote(outcome);
  if (unfinished) term.note(outcome.status === 'running' ? term.ec.yellow(unfinished) : term.ec.dim(unfinished));
}

export function shortList(items: readonly string[], max: number): string {
  return items.length <= max ? items.join(', ') : `${items.slice(0, max).join(', ')} +${items.length - max} more`;
}

export function shorten(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ');
  return line.length > max ? `${line.slice(0, max - 3)}...` : line;
}
