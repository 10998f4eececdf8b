/**
 * What `tenant move` and `tenant clone` print: progress per step and per
 * table (tables, rows, bytes), the final report as a block (the per-table
 * table with --verbose), and the JSON report.
 */
import { describe, expect, it } from 'vitest';
import { Terminal, type OutputStream } from '../../src/cli/terminal.js';
import { cloneJson, formatBytes, moveJson, moveProgress, renderClone, renderMove } from '../../src/cli/move-view.js';
import type { MoveReport } from '../../src/provision/tenant-move.js';
import type { CloneReport } from '../../src/provision/tenant-clone.js';
import { fakeTenant } from '../support/fake-tenant.js';

function capture() {
  const chunks: string[] = [];
  const stream = { isTTY: false, write: (chunk: string) => (chunks.push(chunk), true) } as unknown as OutputStream;
  return { chunks, stream, text: () => chunks.join('') };
}

function terminal(options: { verbose?: boolean; json?: boolean } = {}) {
  const out = capture();
  const err = capture();
  const term = new Terminal({ env: { NO_COLOR: '1' }, stdout: out.stream, stderr: err.stream, ...options });
  return { term, out, err };
}

const tables = [
  { table: 'public.documents', rows: 1200, bytes: 3 * 1024 * 1024, durationMs: 812.4, checksum: 'a' },
  { table: 'public.stock_movements', rows: 4800, bytes: 512, durationMs: 95.6, checksum: 'b' },
];

const report: MoveReport = {
  moveId: '0b7e1f8e-0000-4000-8000-000000000001',
  tenant: fakeTenant({ slug: 'acme', serverName: 'eu-2' }),
  source: { server: 'default', dbName: 'mt_acme', keptAs: 'mt_acme_moved_20261127031500', dropped: false },
  target: { server: 'eu-2', dbName: 'mt_acme', via: 'template' },
  tables,
  rows: 6000,
  bytes: 3 * 1024 * 1024 + 512,
  sequences: 4,
  durationMs: 2000.4,
  downtimeMs: 1500.6,
};

describe('move view', () => {
  it('formats bytes in binary units', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(3 * 1024 * 1024)).toBe('3.0 MiB');
    expect(formatBytes(5 * 1024 ** 5)).toBe('5120.0 TiB');
  });

  it('reports steps, tables, rows and bytes as the copy goes (plain lines with --verbose off a terminal)', () => {
    const { term, err } = terminal({ verbose: true });
    const progress = moveProgress(term, 'acme');
    progress({ type: 'step', step: 'moving' });
    progress({ type: 'step', step: 'switched', detail: 'eu-2' });
    progress({ type: 'recovered', outcome: { moveId: 'm1', kind: 'move', tenantId: 't', action: 'rolled_back', step: 'copy' } });
    progress({ type: 'recovered', outcome: { moveId: 'm2', kind: 'clone', tenantId: 't', action: 'finished', step: 'switched' } });
    progress({ type: 'tables', count: 2 });
    progress({ type: 'table-start', table: 'public.documents', index: 0, count: 2 });
    progress({ type: 'table-progress', table: 'public.documents', bytes: 2048 });
    progress({ type: 'table-done', ...(tables[0] as (typeof tables)[number]) });
    progress({ type: 'table-start', table: 'public.stock_movements', index: 1, count: 2 });
    const lines = err.text().trim().split('\n');
    expect(lines).toEqual([
      'acme: status moving: requests get 503 Retry-After',
      'acme: switched: the tenant now lives on eu-2',
      'an interrupted move (m1) was rolled back first',
      'an interrupted clone (m2) was finished first',
      'acme: table 1/2 public.documents (0 rows, 0 B so far)',
      'acme: public.documents 2.0 KiB copied',
      'acme: table 2/2 public.stock_movements (1200 rows, 3.0 MiB so far)',
    ]);
  });

  it('renders the move report, the kept source, downtime and (with --verbose) every table', () => {
    const quiet = terminal();
    renderMove(quiet.term, report);
    const text = quiet.out.text();
    expect(text).toContain('tenant acme moved to eu-2');
    expect(text).toMatch(/from\s+default \(source kept as mt_acme_moved_20261127031500\)/);
    expect(text).toMatch(/to\s+eu-2 \(database built by template\)/);
    expect(text).toMatch(/copied\s+2 tables, 6000 rows, 3\.0 MiB, 4 sequences/);
    expect(text).toMatch(/downtime\s+.* in status moving/);
    expect(text).not.toContain('public.stock_movements');

    const verbose = terminal({ verbose: true });
    renderMove(verbose.term, { ...report, source: { ...report.source, keptAs: null, dropped: true }, durationMs: 0 });
    expect(verbose.out.text()).toContain('source dropped');
    expect(verbose.out.text()).toContain('public.stock_movements');
    expect(verbose.out.text()).toMatch(/time\s+.*\(-\)/);
  });

  it('gives the move and clone reports as JSON with rounded times and the tenant as everywhere else', () => {
    const json = moveJson({ ...report, recovered: { moveId: 'm1', kind: 'move', tenantId: 't', action: 'finished', step: 'kept' } });
    expect(json).toMatchObject({
      moveId: report.moveId,
      tenant: { slug: 'acme', server: 'eu-2' },
      target: { server: 'eu-2', via: 'template' },
      rows: 6000,
      durationMs: 2000,
      downtimeMs: 1501,
      recovered: { action: 'finished' },
      tables: [{ table: 'public.documents', rows: 1200, durationMs: 812 }, { table: 'public.stock_movements' }],
    });
    expect(moveJson(report)).not.toHaveProperty('recovered');

    const clone: CloneReport = {
      moveId: 'c1',
      source: fakeTenant({ slug: 'acme' }),
      tenant: fakeTenant({ slug: 'acme-copy', id: '6f1c1f0e-8d2a-4a59-9f3e-2b1f0c9d8e7b' }),
      server: 'eu-3',
      via: 'migrations',
      tables,
      rows: 6000,
      bytes: 100,
      sequences: 4,
      durationMs: 10.6,
    };
    expect(cloneJson(clone)).toMatchObject({ source: 'acme', tenant: { slug: 'acme-copy' }, server: 'eu-3', via: 'migrations', durationMs: 11 });
    const view = terminal();
    renderClone(view.term, clone);
    expect(view.out.text()).toContain('tenant acme-copy cloned from acme');
    expect(view.out.text()).toMatch(/server\s+eu-3/);
  });
});
