/**
 * Renders `tenant migrate status <run> [--watch]`: a run's live counts, its
 * runners and why it stopped, without its tenant rows (cheap to poll).
 * Watching redraws the block on a terminal (as the spinner's text), prints
 * one line (or one JSON line) per change elsewhere, and ends with the run's
 * exit status once the run has ended.
 */
import type { ChalkInstance } from 'chalk';
import { formatDuration } from '../duration.js';
import { EXIT } from '../errors.js';
import type { MigrationRunSummary, RunRunner, ShownRunStatus, ShownRunTenantStatus } from '../migrate/migration-runs.js';
import { runJson, runnerJson, runnerLabel, timeText } from './migrate-history-view.js';
import { resultLabel, shortId } from './migrate-view.js';
import { makeTable } from './table.js';
import type { Terminal } from './terminal.js';
import { detailBlock } from './tenant-view.js';

/** What MigrationRuns.status returns. */
export interface RunStatusView {
  summary: MigrationRunSummary;
  runners: RunRunner[];
}

/** Always shown, in this order (migrated reads reverted for a down run); `unrecorded` only when there are some. */
function shownCounts(summary: MigrationRunSummary): [ShownRunTenantStatus, number][] {
  const done: ShownRunTenantStatus = summary.direction === 'down' ? 'reverted' : 'migrated';
  const order: ShownRunTenantStatus[] = ['pending', 'running', done, 'up-to-date', 'failed', 'skipped'];
  // A stored `migrated` of a down run is shown as reverted; anything else of the other kind still counts.
  const other: ShownRunTenantStatus = done === 'migrated' ? 'reverted' : 'migrated';
  if (summary.counts[other] > 0) order.splice(3, 0, other);
  if (summary.counts.unrecorded > 0) order.push('unrecorded');
  return order.map((s) => [s, summary.counts[s]]);
}

export function countsText(summary: MigrationRunSummary): string {
  return shownCounts(summary)
    .map(([status, n]) => `${n} ${status}`)
    .join(', ');
}

/** Tenants with an outcome (neither waiting nor being migrated). */
export function doneCount(summary: MigrationRunSummary): number {
  return summary.total - summary.counts.pending - summary.counts.running;
}

/** Since the run started, to its end or to now (never negative when the clocks disagree). */
export function elapsedMs(summary: MigrationRunSummary, now: Date): number {
  const end = summary.finishedAt ?? now;
  return Math.max(0, end.getTime() - summary.startedAt.getTime());
}

/** "3 runners: 2 running, 1 lost". */
export function runnersText(runners: readonly RunRunner[]): string {
  if (runners.length === 0) return 'no runners';
  const by = new Map<string, number>();
  for (const r of runners) by.set(r.status, (by.get(r.status) ?? 0) + 1);
  const parts = [...by].map(([status, n]) => `${n} ${status}`);
  return `${runners.length} runner${runners.length === 1 ? '' : 's'}: ${parts.join(', ')}`;
}

/** One line per change (pipelines, logs). */
export function statusLine(c: ChalkInstance, { summary, runners }: RunStatusView, now: Date): string {
  const stopped = summary.stopReason ? `; stopped: ${summary.stopReason}` : '';
  return (
    `run ${shortId(summary.id)} ${resultLabel(c, summary.status)}: ${doneCount(summary)}/${summary.total} done ` +
    `(${countsText(summary)}); ${runnersText(runners)}; ${formatDuration(elapsedMs(summary, now))}${stopped}`
  );
}

/** What a watcher compares between polls: counts, status, stop reason, runners; not the clock. */
export function statusKey({ summary, runners }: RunStatusView): string {
  return JSON.stringify([summary.status, summary.stopReason, summary.counts, runners.map((r) => [r.id, r.status, r.done, r.holding])]);
}

function heartbeatText(r: RunRunner, now: Date): string {
  if (r.status !== 'running' && r.status !== 'lost') return '-';
  return `${formatDuration(Math.max(0, now.getTime() - r.heartbeatAt.getTime()))} ago`;
}

export function statusRunnersTable(c: ChalkInstance, runners: readonly RunRunner[], now: Date, plain: boolean): string {
  const table = makeTable(c, ['runner', 'host', 'pid', 'status', 'done', 'holding', 'last heartbeat'], plain);
  for (const r of runners) {
    table.push([shortId(r.id), r.host, String(r.pid), runnerLabel(c, r.status), String(r.done), String(r.holding), heartbeatText(r, now)]);
  }
  return table.toString();
}

/** The whole picture: the run, its counts, its runners. */
export function statusBlock(c: ChalkInstance, { summary, runners }: RunStatusView, now: Date, plain: boolean): string {
  const rows: [string, string][] = [
    ['run', summary.id],
    ...(summary.runKey !== null ? [['key', summary.runKey] as [string, string]] : []),
    ['status', resultLabel(c, summary.status)],
    ['direction', summary.direction],
    ['started', timeText(summary.startedAt)],
    ['elapsed', formatDuration(elapsedMs(summary, now))],
    ['tenants', `${doneCount(summary)}/${summary.total} done: ${countsText(summary)}`],
    ...(summary.stopReason !== null ? [['stopped', c.yellow(summary.stopReason)] as [string, string]] : []),
    ['runners', runnersText(runners)],
  ];
  const block = detailBlock(c, rows);
  return runners.length > 0 ? `${block}\n${statusRunnersTable(c, runners, now, plain)}` : block;
}

export function statusJson({ summary, runners }: RunStatusView, now: Date): Record<string, unknown> {
  return {
    ...runJson(summary),
    done: doneCount(summary),
    elapsedMs: elapsedMs(summary, now),
    runners: runners.map(runnerJson),
  };
}

/** One JSON document on one line, escaped as Terminal.printJson escapes (DEL and C1 too). */
export function jsonLine(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\u009f]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A watcher's exit status once the run has ended: the run's own (0 succeeded, 130 interrupted, 1 otherwise). */
export function statusExitCode(status: ShownRunStatus): number {
  if (status === 'succeeded') return EXIT.ok;
  return status === 'interrupted' ? EXIT.interrupted : EXIT.failed;
}

/** `tenant migrate status <run>` without --watch. */
export function renderStatus(term: Terminal, view: RunStatusView, now: Date): void {
  if (term.json) return term.printJson(statusJson(view, now));
  term.line(statusBlock(term.c, view, now, !term.interactive));
}

export interface WatchDeps {
  /** The run's status now (MigrationRuns.status). */
  fetch: (ref: string) => Promise<RunStatusView>;
  /** Waits ms; false when the watch was interrupted (Ctrl-C). */
  sleep: (ms: number) => Promise<boolean>;
  now: () => Date;
  intervalMs: number;
  /** Writes one line to stdout even in --json mode (the JSON lines of a watch). */
  jsonLine: (text: string) => void;
}

/**
 * Polls the run until it ends; returns the exit status. The run is looked
 * up by `ref` once, then by its id (so `last` keeps meaning this run). A
 * failed poll is warned about (once per message) and tried again.
 */
export async function watchRun(term: Terminal, ref: string, deps: WatchDeps): Promise<number> {
  let view = await deps.fetch(ref);
  const id = view.summary.id;
  let shown: string | undefined;
  const warned = new Set<string>();
  const show = (final: boolean) => {
    const now = deps.now();
    if (term.interactive) {
      if (final) {
        term.stopSpinner();
        term.line(statusBlock(term.c, view, now, false));
      } else term.progress(statusBlock(term.c, view, now, false));
      return;
    }
    const key = statusKey(view);
    if (key === shown) return;
    shown = key;
    if (term.json) deps.jsonLine(jsonLine(statusJson(view, now)));
    else term.line(statusLine(term.c, view, now));
  };
  for (;;) {
    const ended = view.summary.status !== 'running';
    show(ended);
    if (ended) return statusExitCode(view.summary.status);
    if (!(await deps.sleep(deps.intervalMs))) {
      term.stopSpinner();
      term.note(`stopped watching run ${id}; the run goes on (its runners are not affected)`);
      return EXIT.interrupted;
    }
    try {
      view = await deps.fetch(id);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (!warned.has(message)) {
        warned.add(message);
        term.warn(`cannot read run ${id} (${message}); trying again every ${formatDuration(deps.intervalMs)}`);
      }
    }
  }
}
