/**
 * What `tenant migrate history [run]` prints: the list of runs, one run with
 * its runners (host, pid, started, status, tenants done) and its tenants
 * (runner, claims when a lease ran out, wave when the run had a canary or
 * waves), the stop reason, what to do next, and the JSON.
 */
import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import { renderRun, renderRuns, runJson, runnerLabel, runnersTable, runTenantsTable } from '../../src/cli/migrate-history-view.js';
import { Terminal, type OutputStream } from '../../src/cli/terminal.js';
import type { MigrationRunDetail, RunRunner, ShownRunTenantStatus } from '../../src/migrate/migration-runs.js';

const c = new Chalk({ level: 0 });
const RUN = '3f2a9c11-1111-4111-8111-111111111111';
const A = 'aaaaaaaa-1111-4111-8111-111111111111';
const B = 'bbbbbbbb-2222-4222-8222-222222222222';
const START = new Date('2026-11-27T06:00:00.000Z');
const at = (seconds: number) => new Date(START.getTime() + seconds * 1000);

function capture() {
  const chunks: string[] = [];
  const stream = { isTTY: false, write: (chunk: string) => (chunks.push(chunk), true) } as unknown as OutputStream;
  return { stream, text: () => chunks.join('') };
}

function terminal(options: { json?: boolean } = {}) {
  const out = capture();
  const err = capture();
  return { term: new Terminal({ env: { NO_COLOR: '1' }, stdout: out.stream, stderr: err.stream, ...options }), out, err };
}

function runner(id: string, overrides: Partial<RunRunner> = {}): RunRunner {
  return {
    id,
    host: 'ci-1',
    pid: 4242,
    actor: 'ci',
    concurrency: 4,
    leaseMs: 3000,
    status: 'finished',
    startedAt: START,
    heartbeatAt: at(30),
    finishedAt: at(31),
    done: 2,
    holding: 0,
    ...overrides,
  };
}

type TenantRow = MigrationRunDetail['tenants'][number];

function tenant(slug: string, overrides: Partial<TenantRow> = {}): TenantRow {
  return {
    tenantId: `00000000-0000-4000-8000-0000000000${slug.length.toString().padStart(2, '0')}`,
    slug,
    status: 'migrated',
    from: '00006_a',
    to: '00007_b',
    applied: ['00007_b'],
    durationMs: 1200,
    error: null,
    wave: 1,
    claims: 1,
    runnerId: A,
    startedAt: at(1),
    finishedAt: at(2),
    ...overrides,
  };
}

function run(tenants: TenantRow[], overrides: Partial<MigrationRunDetail> = {}): MigrationRunDetail {
  const counts: Record<ShownRunTenantStatus, number> = {
    pending: 0,
    running: 0,
    migrated: 0,
    reverted: 0,
    'up-to-date': 0,
    failed: 0,
    skipped: 0,
    unrecorded: 0,
  };
  for (const t of tenants) counts[t.status] += 1;
  return {
    id: RUN,
    runKey: null,
    stopReason: null,
    actor: 'ci',
    direction: 'up',
    target: {},
    options: { latest: '00007_b' },
    status: 'succeeded',
    startedAt: START,
    finishedAt: at(40),
    total: tenants.length,
    counts,
    runners: [runner(A), runner(B, { host: 'ci-2', pid: 77, status: 'lost', finishedAt: null, done: 1 })],
    tenants,
    ...overrides,
  };
}

describe('migrate history view', () => {
  it('lists each runner: id prefix, host, pid, started, status, tenants done', () => {
    const text = runnersTable(c, run([]).runners, true);
    expect(text).toMatch(/runner\s+host\s+pid\s+started\s+status\s+tenants done/);
    expect(text).toMatch(/aaaaaaaa\s+ci-1\s+4242\s+2026-11-27T06:00:00Z\s+finished\s+2/);
    expect(text).toMatch(/bbbbbbbb\s+ci-2\s+77\s+2026-11-27T06:00:00Z\s+lost\s+1/);
  });

  it('labels runner statuses', () => {
    const colours = new Chalk({ level: 1 });
    expect(runnerLabel(colours, 'lost')).toBe(colours.red('lost'));
    expect(runnerLabel(colours, 'finished')).toBe(colours.green('finished'));
    expect(runnerLabel(colours, 'running')).toBe(colours.cyan('running'));
    expect(runnerLabel(colours, 'timed-out')).toBe(colours.yellow('timed-out'));
    expect(runnerLabel(colours, 'interrupted')).toBe(colours.yellow('interrupted'));
  });

  it("shows each tenant's runner, and claims only when a lease ran out and another runner took over", () => {
    const text = runTenantsTable(c, run([tenant('acme'), tenant('globex', { runnerId: B, claims: 2 })]), true);
    const [head, acme, globex] = text.split('\n');
    expect(head).toMatch(/tenant\s+from -> to\s+applied\s+duration\s+result\s+runner\s+claims\s+error/);
    expect(acme).toMatch(/acme\s+00006_a -> 00007_b\s+1\s+1\.20s\s+migrated\s+aaaaaaaa\s*$/);
    expect(globex).toMatch(/globex\s+.*migrated\s+bbbbbbbb\s+2\s*$/);
    // One claim each: no claims column; a run in one wave: no wave column.
    const simple = runTenantsTable(c, run([tenant('acme')]), true);
    expect(simple).not.toContain('claims');
    expect(simple).not.toContain('wave');
  });

  it('leaves the runner column out for runs recorded before runners, and shows waves and the canary when there were some', () => {
    const old = runTenantsTable(c, run([tenant('acme', { runnerId: null, wave: null })], { runners: [] }), true);
    expect(old).not.toContain('runner');
    const waves = runTenantsTable(
      c,
      run([
        tenant('acme', { wave: 0 }),
        tenant('globex', {
          wave: 2,
          status: 'skipped',
          runnerId: null,
          error: 'not started: canary failed',
          applied: [],
          durationMs: null,
          to: null,
        }),
        tenant('initech', { wave: null, status: 'up-to-date', applied: [], runnerId: null }),
      ]),
      true,
    );
    const [head, acme, globex, initech] = waves.split('\n');
    expect(head).toMatch(/tenant\s+wave\s+from -> to/);
    expect(acme).toMatch(/acme\s+canary\s+00006_a/);
    // Never started: no version it went to.
    expect(globex).toMatch(/globex\s+2\s+00006_a -> -\s+0\s+-\s+skipped\s+-\s+not started: canary failed/);
    expect(initech).toMatch(/initech\s+-\s+00006_a/);
  });

  it('shows a run with its key, stop reason, runners and tenants, and how to continue it', () => {
    const { term, out, err } = terminal();
    const failed = run([tenant('acme', { status: 'failed', error: 'boom' }), tenant('globex', { status: 'skipped', error: 'not started' })], {
      status: 'failed',
      runKey: 'release-42',
      stopReason: 'failure rate 50% above 20% after 2 tenants',
    });
    renderRun(term, failed);
    const text = out.text();
    expect(text).toMatch(/key\s+release-42/);
    expect(text).toMatch(/stopped\s+failure rate 50% above 20% after 2 tenants/);
    expect(text).toMatch(/bbbbbbbb\s+ci-2\s+77/);
    expect(text).toMatch(/acme\s+.*failed\s+aaaaaaaa\s+boom/);
    expect(err.text()).toContain(`continue it with: tenant migrate --resume ${RUN}`);
  });

  it('for a run still going, says how to watch it or add a runner instead of resuming', () => {
    const { term, err } = terminal();
    renderRun(
      term,
      run([tenant('acme', { status: 'running' }), tenant('globex', { status: 'pending', runnerId: null })], {
        status: 'running',
        finishedAt: null,
      }),
    );
    expect(err.text()).toContain(
      `the run is still going: watch it with tenant migrate status ${RUN} --watch, or add a runner: tenant migrate --join ${RUN}`,
    );
    expect(err.text()).not.toContain('--resume');
    const down = terminal();
    renderRun(down.term, run([tenant('acme', { status: 'running' })], { status: 'running', direction: 'down', finishedAt: null }));
    expect(down.err.text()).not.toContain('--join');
  });

  it('leaves the key, stop reason and runner table out when the run has none', () => {
    const { term, out } = terminal();
    renderRun(term, run([tenant('acme', { runnerId: null })], { runners: [] }));
    expect(out.text()).not.toMatch(/^\s+key\s/m);
    expect(out.text()).not.toMatch(/stopped/);
    expect(out.text()).not.toContain('tenants done');
  });

  it('gives runners and per-tenant wave, claims, runner and start in JSON', () => {
    const doc = runJson(
      run([tenant('acme', { claims: 2, runnerId: B, wave: 0 }), tenant('globex', { startedAt: null, finishedAt: null, status: 'pending' })], {
        runKey: 'release-42',
        stopReason: 'canary failed: acme',
      }),
    ) as Record<string, any>;
    expect(doc).toMatchObject({ id: RUN, runKey: 'release-42', stopReason: 'canary failed: acme' });
    expect(doc.runners.map((r: Record<string, unknown>) => [r.id, r.status, r.done, r.host, r.pid])).toEqual([
      [A, 'finished', 2, 'ci-1', 4242],
      [B, 'lost', 1, 'ci-2', 77],
    ]);
    expect(doc.runners[1]).toMatchObject({ finishedAt: null, heartbeatAt: at(30).toISOString(), leaseMs: 3000, holding: 0 });
    expect(doc.tenants[0]).toMatchObject({ slug: 'acme', claims: 2, runnerId: B, wave: 0, startedAt: at(1).toISOString() });
    expect(doc.tenants[1]).toMatchObject({ slug: 'globex', startedAt: null, finishedAt: null });
  });

  it('lists runs with their key and stop reason in JSON, and without runners or tenants', () => {
    const { term, out } = terminal({ json: true });
    const { tenants: _tenants, runners: _runners, ...summary } = run([tenant('acme')], { runKey: 'k1', stopReason: null });
    renderRuns(term, [summary]);
    const [doc] = JSON.parse(out.text());
    expect(doc).toMatchObject({ id: RUN, runKey: 'k1', stopReason: null });
    expect(doc).not.toHaveProperty('tenants');
    const plain = terminal();
    renderRuns(plain.term, [summary]);
    expect(plain.out.text()).toMatch(/3f2a9c11-1111-4111-8111-111111111111\s+2026-11-27T06:00:00Z\s+ci\s+up/);
  });
});
