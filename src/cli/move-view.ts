/**
 * Renders moves and clones: a progress line per step and per table (rows,
 * bytes), and the final report as a detail block and a per-table table, or
 * as JSON. No password can appear: reports carry names, counts and times.
 */
import { formatDuration } from '../duration.js';
import type { CloneReport } from '../provision/tenant-clone.js';
import type { MoveEvent, MoveReport, MoveStep } from '../provision/tenant-move.js';
import type { TableCopied } from '../provision/table-copy.js';
import { tenantToJson } from '../tenants/tenant.js';
import { makeTable } from './table.js';
import type { Terminal } from './terminal.js';
import { detailBlock, shown } from './tenant-view.js';

const STEP_TEXT: Record<MoveStep, string> = {
  locked: 'locked the tenant (no migration or rotation meanwhile)',
  moving: 'status moving: requests get 503 Retry-After',
  fenced: 'closed the source database to the tenant login',
  roles: 'creating the tenant roles on the target',
  database: 'creating the target database',
  copy: 'copying the tables in one snapshot',
  switched: 'switched: the tenant now lives on',
  kept: 'source database kept as',
  rollback: 'rolling back',
};

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** A progress listener for the library's events (tables, rows, bytes). */
export function moveProgress(term: Terminal, slug: string): (event: MoveEvent) => void {
  let tables = 0;
  let rows = 0;
  let bytes = 0;
  return (event) => {
    switch (event.type) {
      case 'step':
        term.progress(`${shown(slug)}: ${STEP_TEXT[event.step]}${event.detail ? ` ${shown(event.detail)}` : ''}`);
        break;
      case 'recovered':
        term.note(
          `an interrupted ${event.outcome.kind} (${event.outcome.moveId}) was ${event.outcome.action === 'finished' ? 'finished' : 'rolled back'} first`,
        );
        break;
      case 'tables':
        tables = event.count;
        break;
      case 'table-start':
        term.progress(`${shown(slug)}: table ${event.index + 1}/${tables} ${shown(event.table)} (${rows} rows, ${formatBytes(bytes)} so far)`);
        break;
      case 'table-progress':
        term.progress(`${shown(slug)}: ${shown(event.table)} ${formatBytes(bytes + event.bytes)} copied`);
        break;
      case 'table-done':
        rows += event.rows;
        bytes += event.bytes;
        break;
    }
  };
}

function tableJson(t: TableCopied) {
  return { table: t.table, rows: t.rows, bytes: t.bytes, durationMs: Math.round(t.durationMs) };
}

export function moveJson(report: MoveReport) {
  return {
    moveId: report.moveId,
    tenant: tenantToJson(report.tenant),
    source: report.source,
    target: report.target,
    tables: report.tables.map(tableJson),
    rows: report.rows,
    bytes: report.bytes,
    sequences: report.sequences,
    durationMs: Math.round(report.durationMs),
    downtimeMs: Math.round(report.downtimeMs),
    ...(report.recovered ? { recovered: report.recovered } : {}),
  };
}

export function cloneJson(report: CloneReport) {
  return {
    moveId: report.moveId,
    source: report.source.slug,
    tenant: tenantToJson(report.tenant),
    server: report.server,
    via: report.via,
    tables: report.tables.map(tableJson),
    rows: report.rows,
    bytes: report.bytes,
    sequences: report.sequences,
    durationMs: Math.round(report.durationMs),
  };
}

function throughput(bytes: number, ms: number): string {
  return ms > 0 ? `${formatBytes((bytes * 1000) / ms)}/s` : '-';
}

function tablesTable(term: Terminal, tables: readonly TableCopied[]): string {
  const table = makeTable(term.c, ['table', 'rows', 'bytes', 'time'], !term.interactive);
  for (const t of tables) table.push([shown(t.table), String(t.rows), formatBytes(t.bytes), formatDuration(t.durationMs)]);
  return table.toString();
}

export function renderMove(term: Terminal, report: MoveReport): void {
  term.succeed(`tenant ${term.c.bold(shown(report.tenant.slug))} moved to ${term.c.bold(shown(report.target.server))}`);
  term.line(
    detailBlock(term.c, [
      [
        'from',
        `${shown(report.source.server)} (${report.source.dropped ? 'source dropped' : `source kept as ${shown(report.source.keptAs ?? '-')}`})`,
      ],
      ['to', `${shown(report.target.server)} (database built by ${report.target.via})`],
      ['copied', `${report.tables.length} tables, ${report.rows} rows, ${formatBytes(report.bytes)}, ${report.sequences} sequences`],
      ['time', `${formatDuration(report.durationMs)} (${throughput(report.bytes, report.durationMs)})`],
      ['downtime', `${formatDuration(report.downtimeMs)} in status moving`],
    ]),
  );
  if (term.verbose) term.line(tablesTable(term, report.tables));
}

export function renderClone(term: Terminal, report: CloneReport): void {
  term.succeed(`tenant ${term.c.bold(shown(report.tenant.slug))} cloned from ${term.c.bold(shown(report.source.slug))}`);
  term.line(
    detailBlock(term.c, [
      ['server', shown(report.server)],
      ['copied', `${report.tables.length} tables, ${report.rows} rows, ${formatBytes(report.bytes)}, ${report.sequences} sequences`],
      ['time', `${formatDuration(report.durationMs)} (${throughput(report.bytes, report.durationMs)})`],
    ]),
  );
  if (term.verbose) term.line(tablesTable(term, report.tables));
}
