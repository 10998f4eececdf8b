/** What a move reports (per-table rows, bytes, times, downtime), also rebuilt from its journal row. */
import type { Tenant } from '../tenants/tenant.js';
import type { MoveRecord } from './move-journal.js';
import type { RecoveryOutcome } from './move-recovery.js';
import type { TableCopied } from './table-copy.js';

export interface MoveReport {
  moveId: string;
  tenant: Tenant;
  source: { server: string; dbName: string; keptAs: string | null; dropped: boolean };
  target: { server: string; dbName: string; via: 'template' | 'migrations' };
  tables: TableCopied[];
  rows: number;
  bytes: number;
  sequences: number;
  durationMs: number;
  /** Time the tenant spent in `moving` (not served). */
  downtimeMs: number;
  /** An abandoned earlier move this run finished or rolled back first. */
  recovered?: RecoveryOutcome;
}

/** The report of a move finished from its journal (a rerun after a kill past the switch). */
export function journalReport(move: MoveRecord, tenant: Tenant, started: number): MoveReport {
  const r = move.report as {
    keptAs?: string;
    via?: 'template' | 'migrations';
    tables?: Omit<TableCopied, 'checksum'>[];
    rows?: number;
    bytes?: number;
    sequences?: number;
    downtimeMs?: number;
    sourceDropped?: boolean;
  };
  return {
    moveId: move.id,
    tenant,
    source: {
      server: move.sourceServer,
      dbName: move.sourceDb,
      keptAs: r.sourceDropped ? null : (r.keptAs ?? null),
      dropped: r.sourceDropped === true,
    },
    target: { server: move.targetServer, dbName: move.targetDb, via: r.via ?? 'migrations' },
    tables: (r.tables ?? []).map((t) => ({ ...t, checksum: '' })),
    rows: r.rows ?? 0,
    bytes: r.bytes ?? 0,
    sequences: r.sequences ?? 0,
    durationMs: performance.now() - started,
    downtimeMs: r.downtimeMs ?? 0,
  };
}
