/**
 * What `tenant migrate status <run> [--watch]` prints: the block (counts,
 * runners, stop reason, elapsed), the one-line form a watch prints off a
 * terminal for each change, the JSON (one document, or one line per change),
 * and the watch loop's exit status, interruption and failed polls.
 */
import { describe, expect, it, vi } from 'vitest';
import {
  countsText,
  doneCount,
  elapsedMs,
  jsonLine,
  renderStatus,
  runnersText,
  statusBlock,
  statusExitCode,
  statusJson,
  statusKey,
  statusLine,
  watchRun,
  type RunStatusView,
} from '../../src/cli/migrate-status-view.js';
import { Terminal, type OutputStream } from '../../src/cli/terminal.js';
import { Chalk } from 'chalk';
import type { MigrationRunSummary, RunRunner, ShownRunTenantStatus } from '../../src/migrate/migration-runs.js';

const c = new Chalk({ level: 0 });
const RUN = '3f2a9c11-1111-4111-8111-111111111111';
const START = new Date('2026-11-27T06:00:00.000Z');
const at = (seconds: number) => new Date(START.getTime() + seconds * 1000);

function capture(isTTY = false) {
  const chunks: string[] = [];
  const stream = { isTTY, columns: 120, write: (chunk: string) => (chunks.push(chunk), true) } as unknown as OutputStream;
  return { chunks, stream, text: () => chunks.join('') };
}

function terminal(options: { json?: boolean } = {}) {
  const out = capture();
  const err = capture();
  const term = new Terminal({ env: { NO_COLOR: '1' }, stdout: out.stream, stderr: err.stream, ...options });
  return { term, out, err };
}

function counts(given: Partial<Record<ShownRunTenantStatus, number>>): Record<ShownRunTenantStatus, number> {
  return { pending: 0, running: 0, migrated: 0, reverted: 0, 'up-to-date': 0, failed: 0, skipped: 0, unrecorded: 0, ...given };
}

function summary(overrides: Partial<MigrationRunSummary> = {}): MigrationRunSummary {
  const shown = overrides.counts ?? counts({ pending: 30, running: 6, migrated: 20, 'up-to-date': 3, failed: 1 });
  return {
    id: RUN,
    runKey: 'release-42',
    stopReason: null,
    actor: 'ci',
    direction: 'up',
    target: {},
    options: { latest: '00007_x' },
    status: 'running',
    startedAt: START,
    finishedAt: null,
    total: Object.values(shown).reduce((a, b) => a + b, 0),
    ...overrides,
    counts: shown,
  };
}

function runner(n: number, overrides: Partial<RunRunner> = {}): RunRunner {
  return {
    id: `${n}${n}${n}${n}${n}${n}${n}${n}-aaaa-4aaa-8aaa-aaaaaaaaaaaa`,
    host: `ci-${n}`,
    pid: 1000 + n,
    actor: 'ci',
    concurrency: 4,
    leaseMs: 60_000,
    status: 'running',
    startedAt: START,
    heartbeatAt: at(80),
    finishedAt: null,
    done: 8,
    holding: 2,
    ...overrides,
  };
}

const view = (
  s: Partial<MigrationRunSummary> = {},
  runners: RunRunner[] = [runner(1), runner(2), runner(3, { status: 'lost', heartbeatAt: at(5) })],
) => ({
  summary: summary(s),
  runners,
});

describe('migrate status view', () => {
  it('counts the six live statuses in order, reverted for a down run, unrecorded only when there are some', () => {
    expect(countsText(summary())).toBe('30 pending, 6 running, 20 migrated, 3 up-to-date, 1 failed, 0 skipped');
    const down = summary({ direction: 'down', counts: counts({ reverted: 2, pending: 1 }) });
    expect(countsText(down)).toBe('1 pending, 0 running, 2 reverted, 0 up-to-date, 0 failed, 0 skipped');
    const odd = summary({ counts: counts({ migrated: 1, reverted: 1, unrecorded: 4 }) });
    expect(countsText(odd)).toBe('0 pending, 0 running, 1 migrated, 1 reverted, 0 up-to-date, 0 failed, 0 skipped, 4 unrecorded');
    expect(doneCount(summary())).toBe(24);
  });

  it('measures elapsed time to the end or to now, never below zero', () => {
    expect(elapsedMs(summary(), at(90))).toBe(90_000);
    expect(elapsedMs(summary({ finishedAt: at(30), status: 'succeeded' }), at(90))).toBe(30_000);
    expect(elapsedMs(summary(), at(-5))).toBe(0);
  });

  it('sums the runners up by status', () => {
    expect(runnersText(view().runners)).toBe('3 runners: 2 running, 1 lost');
    expect(runnersText([runner(1, { status: 'finished' })])).toBe('1 runner: 1 finished');
    expect(runnersText([])).toBe('no runners');
  });

  it('prints one line with the counts, the runners, the time and why the run stopped', () => {
    expect(statusLine(c, view(), at(90))).toBe(
      'run 3f2a9c11 running: 24/60 done (30 pending, 6 running, 20 migrated, 3 up-to-date, 1 failed, 0 skipped); ' +
        '3 runners: 2 running, 1 lost; 1m30s',
    );
    const stopped = view({ status: 'failed', stopReason: 'failure rate 25% above 20% after 8 tenants', finishedAt: at(12) });
    expect(statusLine(c, stopped, at(90))).toMatch(/^run 3f2a9c11 failed: .*; 12\.0s; stopped: failure rate 25% above 20% after 8 tenants$/);
  });

  it('changes its key with counts, status and runners, not with the clock', () => {
    const a = view();
    expect(statusKey(a)).toBe(statusKey(view()));
    expect(statusKey(view({ counts: counts({ pending: 29, running: 6, migrated: 21, 'up-to-date': 3, failed: 1 }) }))).not.toBe(statusKey(a));
    expect(statusKey(view({ status: 'failed' }))).not.toBe(statusKey(a));
    expect(statusKey(view({}, [runner(1), runner(2), runner(3)]))).not.toBe(statusKey(a));
    expect(statusKey(view({}, [runner(1, { holding: 1 }), runner(2), runner(3, { status: 'lost' })]))).not.toBe(statusKey(a));
  });

  it('shows the block: key, status, elapsed, counts, stop reason and a runner table with heartbeats', () => {
    const text = statusBlock(c, view({ stopReason: 'canary failed: acme' }), at(90), true);
    expect(text).toContain(`run        ${RUN}`);
    expect(text).toContain('key        release-42');
    expect(text).toContain('elapsed    1m30s');
    expect(text).toContain('tenants    24/60 done: 30 pending, 6 running, 20 migrated');
    expect(text).toContain('stopped    canary failed: acme');
    expect(text).toMatch(/runner\s+host\s+pid\s+status\s+done\s+holding\s+last heartbeat/);
    expect(text).toMatch(/11111111\s+ci-1\s+1001\s+running\s+8\s+2\s+10\.0s ago/);
    expect(text).toMatch(/33333333\s+ci-3\s+1003\s+lost\s+8\s+2\s+1m25s ago/);
    const finished = statusBlock(c, view({ runKey: null }, [runner(1, { status: 'finished', holding: 0 })]), at(90), true);
    expect(finished).not.toContain('key');
    expect(finished).not.toContain('stopped');
    expect(finished).toMatch(/11111111\s+ci-1\s+1001\s+finished\s+8\s+0\s+-/);
    expect(statusBlock(c, view({}, []), at(90), true)).not.toContain('holding');
  });

  it('gives JSON with the summary, done, elapsed and every runner', () => {
    const doc = statusJson(view({ stopReason: 'interrupted' }), at(90));
    expect(doc).toMatchObject({
      id: RUN,
      runKey: 'release-42',
      status: 'running',
      stopReason: 'interrupted',
      total: 60,
      done: 24,
      elapsedMs: 90_000,
      counts: { pending: 30, running: 6, migrated: 20 },
    });
    expect(doc).not.toHaveProperty('tenants');
    expect((doc.runners as object[])[2]).toEqual({
      id: '33333333-aaaa-4aaa-8aaa-aaaaaaaaaaaa',
      host: 'ci-3',
      pid: 1003,
      actor: 'ci',
      concurrency: 4,
      leaseMs: 60_000,
      status: 'lost',
      startedAt: START.toISOString(),
      heartbeatAt: at(5).toISOString(),
      finishedAt: null,
      done: 8,
      holding: 2,
    });
    expect(jsonLine({ a: 'x\u009by', b: [1] })).toBe('{"a":"x\\u009by","b":[1]}');
  });

  it('exits with the run status: 0 succeeded, 130 interrupted, 1 otherwise', () => {
    expect(statusExitCode('succeeded')).toBe(0);
    expect(statusExitCode('interrupted')).toBe(130);
    expect(statusExitCode('failed')).toBe(1);
    expect(statusExitCode('abandoned')).toBe(1);
    expect(statusExitCode('running')).toBe(1);
  });

  it('renders once as a block, or as one JSON document', () => {
    const plain = terminal();
    renderStatus(plain.term, view(), at(90));
    expect(plain.out.text()).toContain('24/60 done');
    const json = terminal({ json: true });
    renderStatus(json.term, view(), at(90));
    expect(JSON.parse(json.out.text())).toMatchObject({ id: RUN, done: 24 });
  });
});

describe('watching a run', () => {
  /** A run that advances one step per poll. */
  function script(steps: RunStatusView[], fail: Set<number> = new Set()) {
    const refs: string[] = [];
    let i = 0;
    return {
      refs,
      fetch: async (ref: string) => {
        refs.push(ref);
        const n = i++;
        if (fail.has(n)) throw new Error('connection terminated');
        return steps[Math.min(n, steps.length - 1)] as RunStatusView;
      },
    };
  }

  const ended = (status: MigrationRunSummary['status'], stopReason: string | null = null) =>
    view({ status, stopReason, finishedAt: at(60), counts: counts({ migrated: 58, failed: status === 'failed' ? 2 : 0 }) }, [
      runner(1, { status: 'finished', holding: 0 }),
    ]);

  it('prints a line per change off a terminal and exits with the run status', async () => {
    const { term, out } = terminal();
    const run = script([view(), view(), ended('succeeded')]);
    const sleeps: number[] = [];
    const code = await watchRun(term, 'last', {
      fetch: run.fetch,
      sleep: async (ms) => (sleeps.push(ms), true),
      now: () => at(90),
      intervalMs: 500,
      jsonLine: () => expect.fail('no JSON lines without --json'),
    });
    expect(code).toBe(0);
    // `last` is looked up once; the same run is followed by its id.
    expect(run.refs).toEqual(['last', RUN, RUN]);
    expect(sleeps).toEqual([500, 500]);
    const lines = out.text().trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^run 3f2a9c11 running: 24\/60 done/);
    expect(lines[1]).toMatch(/^run 3f2a9c11 succeeded: 58\/58 done/);
  });

  it('prints one JSON line per change with --json, and exits 1 for a failed run', async () => {
    const { term, out } = terminal({ json: true });
    const lines: string[] = [];
    const code = await watchRun(term, RUN, {
      fetch: script([view(), ended('failed', 'max failures (2) reached')]).fetch,
      sleep: async () => true,
      now: () => at(90),
      intervalMs: 10,
      jsonLine: (text) => lines.push(text),
    });
    expect(code).toBe(1);
    expect(out.text()).toBe('');
    expect(lines.map((l) => (JSON.parse(l) as { status: string }).status)).toEqual(['running', 'failed']);
    expect(JSON.parse(lines[1] as string)).toMatchObject({ stopReason: 'max failures (2) reached', done: 60 });
  });

  it('exits 130 for an interrupted run, and at once for a run that has already ended', async () => {
    const { term } = terminal();
    let slept = 0;
    const code = await watchRun(term, RUN, {
      fetch: script([ended('interrupted', 'interrupted')]).fetch,
      sleep: async () => (slept++, true),
      now: () => at(90),
      intervalMs: 10,
      jsonLine: () => undefined,
    });
    expect(code).toBe(130);
    expect(slept).toBe(0);
  });

  it('stops watching on Ctrl-C with 130 and says the run goes on', async () => {
    const { term, err } = terminal();
    const code = await watchRun(term, RUN, {
      fetch: script([view()]).fetch,
      sleep: async () => false,
      now: () => at(90),
      intervalMs: 10,
      jsonLine: () => undefined,
    });
    expect(code).toBe(130);
    expect(err.text()).toContain(`stopped watching run ${RUN}; the run goes on`);
  });

  it('warns once about a poll that failed and keeps watching', async () => {
    const { term, err, out } = terminal();
    const run = script([view(), view(), view(), ended('succeeded')], new Set([1, 2]));
    const code = await watchRun(term, RUN, {
      fetch: run.fetch,
      sleep: async () => true,
      now: () => at(90),
      intervalMs: 2000,
      jsonLine: () => undefined,
    });
    expect(code).toBe(0);
    expect(err.text().match(/cannot read run/g)).toHaveLength(1);
    expect(err.text()).toContain('(connection terminated); trying again every 2.00s');
    expect(out.text().trim().split('\n')).toHaveLength(2);
  });

  it('redraws the block on a terminal (as the spinner text) and prints the last one when the run ends', async () => {
    const out = capture(true);
    const err = capture(true);
    const term = new Terminal({ env: { TERM: 'xterm' }, color: false, stdout: out.stream, stderr: err.stream });
    expect(term.interactive).toBe(true);
    const drawn: string[] = [];
    vi.spyOn(term, 'progress').mockImplementation((text) => void drawn.push(text));
    const stop = vi.spyOn(term, 'stopSpinner').mockImplementation(() => undefined);
    let clock = 90;
    const code = await watchRun(term, RUN, {
      fetch: script([view(), view(), ended('succeeded')]).fetch,
      sleep: async () => ((clock += 2), true),
      now: () => at(clock),
      intervalMs: 2000,
      jsonLine: () => undefined,
    });
    expect(code).toBe(0);
    // Every poll redraws (the elapsed time moves even when the counts do not).
    expect(drawn).toHaveLength(2);
    expect(drawn[0]).toContain('elapsed    1m30s');
    expect(drawn[1]).toContain('elapsed    1m32s');
    expect(drawn[0]).toMatch(/┌/);
    expect(stop).toHaveBeenCalled();
    expect(out.text()).toContain('succeeded');
    expect(out.text()).toContain('58/58 done');
  });

  it('lets the first lookup fail (an unknown run is an error, not a wait)', async () => {
    const { term } = terminal();
    await expect(
      watchRun(term, 'nope', {
        fetch: script([], new Set([0])).fetch,
        sleep: async () => true,
        now: () => at(0),
        intervalMs: 10,
        jsonLine: () => undefined,
      }),
    ).rejects.toThrow('connection terminated');
  });
});
