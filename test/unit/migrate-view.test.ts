import { Chalk } from 'chalk';
import { InvalidArgumentError } from 'commander';
import { describe, expect, it, vi } from 'vitest';
import {
  boundedDuration,
  canaryOption,
  failureRateOption,
  fleetExitCode,
  keyOption,
  shardOption,
  toFleetOptions,
} from '../../src/cli/commands/migrate-fleet.js';
import {
  fleetJson,
  joinedText,
  progressText,
  renderFleetEvent,
  renderFleetOutcome,
  summaryTable,
  tenantLine,
  totalsLine,
  unfinishedNote,
  waitingText,
} from '../../src/cli/migrate-view.js';
import { Terminal, type OutputStream } from '../../src/cli/terminal.js';
import type { FleetTenantResult } from '../../src/migrate/fleet-result.js';
import type { FleetOutcome } from '../../src/migrate/fleet-types.js';

const c = new Chalk({ level: 0 });

function result(overrides: Partial<FleetTenantResult>): FleetTenantResult {
  return {
    tenantId: '00000000-0000-4000-8000-000000000001',
    slug: 'acme',
    server: '127.0.0.1:5432',
    status: 'migrated',
    from: '00005_a',
    to: '00006_b',
    applied: [],
    reverted: [],
    planned: [],
    durationMs: 1200,
    attempts: 1,
    checkedIn: 'database',
    error: null,
    reason: null,
    ...overrides,
  };
}

function outcome(results: FleetTenantResult[], overrides: Partial<FleetOutcome> = {}): FleetOutcome {
  const counts = { migrated: 0, reverted: 0, 'up-to-date': 0, pending: 0, failed: 0, skipped: 0 };
  for (const r of results) counts[r.status] += 1;
  return {
    runId: '11111111-1111-4111-8111-111111111111',
    runnerId: '22222222-2222-4222-8222-222222222222',
    joined: false,
    resumedFrom: null,
    direction: 'up',
    dryRun: false,
    targetVersion: '00006_b',
    latestVersion: '00006_b',
    status: 'succeeded',
    stopReason: null,
    results,
    counts,
    recorded: true,
    unrecorded: [],
    durationMs: 2000,
    ...overrides,
  };
}

describe('fleet migration views', () => {
  it('labels the running tenants in the progress text instead of listing them after "done"', () => {
    const text = progressText({ total: 10, done: 3, failed: 1, running: ['acme', 'globex'] }, 'up', false);
    expect(text).toBe('migrating tenants: 3/10 done, 1 failed (running: acme, globex)');
    expect(progressText({ total: 2, done: 2, failed: 0, running: [] }, 'down', false)).toBe('reverting tenants: 2/2 done');
  });

  it('says reverted for a down run, and shows a dry run going from the current to the planned version', () => {
    const down = result({ status: 'reverted', from: '00006_b', to: '00004_x', reverted: ['00006_b', '00005_a'] });
    expect(tenantLine(c, down, 'down')).toBe('acme: reverted 00006_b -> 00004_x (2 reverted in 1.20s)');
    const table = summaryTable(c, outcome([down], { direction: 'down' }), true, false) as string;
    expect(table).toMatch(/tenant\s+from -> to\s+reverted\s+duration\s+result/);
    expect(table).toMatch(/acme\s+00006_b -> 00004_x\s+2\s+1\.20s\s+reverted/);
    expect(totalsLine(c, outcome([down], { direction: 'down' }))).toContain('1 tenant: 1 reverted');

    const dry = result({ status: 'pending', from: '00004_x', to: '00006_b', planned: ['00005_a', '00006_b'] });
    expect(tenantLine(c, dry, 'up')).toBe('acme: would apply 00005_a, 00006_b (00004_x -> 00006_b)');
  });

  it('gives a failed tenant its hint and counts the tries', () => {
    const failed = result({
      status: 'failed',
      to: '00005_a',
      attempts: 3,
      error: { code: 'DATABASE_UNAVAILABLE', message: 'cannot connect to the tenant database: connect ECONNREFUSED', hint: 'check the server' },
    });
    expect(tenantLine(c, failed, 'up')).toBe(
      'acme: FAILED: cannot connect to the tenant database: connect ECONNREFUSED (now at 00005_a, 3 tries)\n  hint: check the server',
    );
    expect(tenantLine(c, result({ applied: ['00006_b'], attempts: 2 }), 'up')).toBe(
      'acme: migrated 00005_a -> 00006_b (1 applied in 1.20s, 2 tries)',
    );
    const cut = result({ status: 'failed', error: { code: 'DATABASE_UNAVAILABLE', message: 'connection lost', migration: '00006_b' } });
    expect(summaryTable(c, outcome([cut], { status: 'failed' }), true, false)).toContain('failed DATABASE_UNAVAILABLE at 00006_b');
  });

  it('marks outcomes missing from the run history as unrecorded in the JSON report', () => {
    const one = result({ applied: ['00006_b'] });
    const two = result({ tenantId: '00000000-0000-4000-8000-000000000002', slug: 'globex', applied: ['00006_b'] });
    const doc = fleetJson(outcome([one, two], { recorded: false, unrecorded: [two.tenantId] })) as {
      recorded: boolean;
      results: { slug: string; recorded: boolean; reverted: string[]; attempts: number }[];
    };
    expect(doc.recorded).toBe(false);
    expect(doc.results.map((r) => [r.slug, r.recorded])).toEqual([
      ['acme', true],
      ['globex', false],
    ]);
    expect(doc.results[0]).toMatchObject({ reverted: [], attempts: 1 });
    const dry = fleetJson(outcome([result({ status: 'pending' })], { dryRun: true, runId: null, recorded: false })) as { results: object[] };
    expect(dry.results[0]).not.toHaveProperty('recorded');
  });
});

function capture() {
  const chunks: string[] = [];
  const stream = { isTTY: false, write: (chunk: string) => (chunks.push(chunk), true) } as unknown as OutputStream;
  return { stream, text: () => chunks.join('') };
}

function terminal(options: { json?: boolean; quiet?: boolean; verbose?: boolean } = {}) {
  const out = capture();
  const err = capture();
  return { term: new Terminal({ env: { NO_COLOR: '1' }, stdout: out.stream, stderr: err.stream, ...options }), out, err };
}

const RUN = '11111111-1111-4111-8111-111111111111';
const progress = { total: 60, done: 41, failed: 1, running: [] };

describe('fleet runs shared by several runners', () => {
  it('says a runner joined a run, and what it waits for', () => {
    expect(joinedText(RUN, '22222222-2222-4222-8222-222222222222')).toBe(`joined run ${RUN} as runner 22222222`);
    expect(joinedText(RUN, null)).toBe(`joined run ${RUN}, which had already ended`);
    expect(waitingText('2 tenants running on other runners', progress)).toBe(
      'waiting: 2 tenants running on other runners (run: 41/60 done, 1 failed)',
    );
    expect(waitingText('a lease must run out', { ...progress, failed: 0 })).toBe('waiting: a lease must run out (run: 41/60 done)');
  });

  it('prints joined and each reason to wait once without a terminal (the reason repeats at every poll)', () => {
    const { term, out, err } = terminal();
    const render = renderFleetEvent(term, 'up', false);
    render({
      type: 'run-started',
      runId: RUN,
      runnerId: '22222222-2222-4222-8222-222222222222',
      joined: true,
      total: 60,
      queued: 19,
      direction: 'up',
      dryRun: false,
    });
    render({ type: 'waiting', reason: 'others are running tenants', progress });
    render({ type: 'waiting', reason: 'others are running tenants', progress: { ...progress, done: 42 } });
    render({ type: 'waiting', reason: 'a lease must run out', progress });
    expect(out.text()).toBe('');
    expect(err.text().split('\n').filter(Boolean)).toEqual([
      `joined run ${RUN} as runner 22222222`,
      'waiting: others are running tenants (run: 41/60 done, 1 failed)',
      'waiting: a lease must run out (run: 41/60 done, 1 failed)',
    ]);
    // The runner that started the run says nothing new; --quiet silences these notices.
    const starter = terminal();
    renderFleetEvent(
      starter.term,
      'up',
      false,
    )({ type: 'run-started', runId: RUN, runnerId: 'x', joined: false, total: 2, queued: 2, direction: 'up', dryRun: false });
    expect(starter.err.text()).toBe('');
    const quiet = terminal({ quiet: true });
    const q = renderFleetEvent(quiet.term, 'up', false);
    q({ type: 'run-started', runId: RUN, runnerId: 'x', joined: true, total: 2, queued: 2, direction: 'up', dryRun: false });
    q({ type: 'waiting', reason: 'r', progress });
    expect(quiet.err.text()).toBe('');
  });

  it('shows every wait on the spinner on a terminal', () => {
    const tty = { isTTY: true, columns: 100, write: () => true } as unknown as OutputStream;
    const term = new Terminal({ env: { TERM: 'xterm' }, color: false, stdout: tty, stderr: tty });
    const shown: string[] = [];
    vi.spyOn(term, 'progress').mockImplementation((text) => void shown.push(text));
    const render = renderFleetEvent(term, 'up', false);
    render({ type: 'waiting', reason: 'others are running tenants', progress });
    render({ type: 'waiting', reason: 'others are running tenants', progress: { ...progress, done: 42 } });
    expect(shown).toEqual([
      'waiting: others are running tenants (run: 41/60 done, 1 failed)',
      'waiting: others are running tenants (run: 42/60 done, 1 failed)',
    ]);
  });

  it("counts the whole run, and says how many tenants were this runner's", () => {
    const mine = [result({ applied: ['00006_b'] })];
    const whole = { migrated: 58, reverted: 0, 'up-to-date': 2, pending: 0, failed: 0, skipped: 0 };
    expect(totalsLine(c, outcome(mine, { counts: whole, joined: true }))).toBe(
      '60 tenants: 58 migrated, 2 up-to-date (target 00006_b, 1 by this runner) in 2.00s',
    );
    // A lone runner: its results are the run.
    expect(totalsLine(c, outcome(mine))).toBe('1 tenant: 1 migrated (target 00006_b) in 2.00s');
    // Stopped waiting before the run ended: what is left is not finished (in a dry run it is work to do).
    const open = { ...whole, migrated: 40, pending: 18 };
    expect(totalsLine(c, outcome(mine, { counts: open, status: 'running', joined: true, targetVersion: null }))).toBe(
      '60 tenants: 40 migrated, 2 up-to-date, 18 not finished (1 by this runner) in 2.00s',
    );
    expect(totalsLine(c, outcome([result({ status: 'pending' })], { dryRun: true }))).toContain('1 with work to do');
    // An empty shard.
    expect(totalsLine(c, outcome([]))).toBe('no tenants to migrate');
  });

  it('gives the runner id, whether it joined, and the whole run counts in JSON', () => {
    const counts = { migrated: 58, reverted: 0, 'up-to-date': 2, pending: 0, failed: 0, skipped: 0 };
    const doc = fleetJson(outcome([result({ applied: ['00006_b'] })], { joined: true, counts }));
    expect(doc).toMatchObject({ runId: RUN, runnerId: '22222222-2222-4222-8222-222222222222', joined: true, counts });
    expect(doc.results).toHaveLength(1);
  });

  it('tells a runner that stopped waiting how to watch the run, and a stopped run how to continue it', () => {
    expect(unfinishedNote(outcome([]))).toBeUndefined();
    expect(unfinishedNote(outcome([], { runId: null, status: 'failed' }))).toBeUndefined();
    expect(unfinishedNote(outcome([], { status: 'running' }))).toBe(
      `run ${RUN} is still going (other runners are on it); this runner stopped waiting (--wait-timeout). ` +
        `Watch it: \`tenant migrate status ${RUN} --watch\``,
    );
    expect(unfinishedNote(outcome([], { status: 'failed', stopReason: 'canary failed: acme' }))).toBe(
      `run ${RUN} failed (stopped: canary failed: acme): see \`tenant migrate history ${RUN}\`; retry with \`tenant migrate --resume ${RUN}\``,
    );
    expect(unfinishedNote(outcome([], { status: 'interrupted', direction: 'down' }))).toContain(`tenant migrate down --resume ${RUN}`);
  });

  it('renders a run still going: totals on stdout, how to watch it on stderr', () => {
    const { term, out, err } = terminal();
    const counts = { migrated: 1, reverted: 0, 'up-to-date': 0, pending: 5, failed: 0, skipped: 0 };
    renderFleetOutcome(term, outcome([result({ applied: ['00006_b'] })], { status: 'running', counts, joined: true }));
    expect(out.text()).toContain('6 tenants: 1 migrated, 5 not finished');
    expect(err.text()).toContain(`tenant migrate status ${RUN} --watch`);
    const json = terminal({ json: true });
    renderFleetOutcome(json.term, outcome([], { status: 'running', counts }));
    expect(JSON.parse(json.out.text())).toMatchObject({ status: 'running', counts });
  });

  it('sums up many tenants skipped for one reason in one line (and leaves them out of the table); --verbose lists them', () => {
    const reason = 'not started: canary t-3 failed; no other tenant was started';
    const rest = Array.from({ length: 12 }, (_, i) =>
      result({
        tenantId: `00000000-0000-4000-8000-0000000001${String(i).padStart(2, '0')}`,
        slug: `t-${i}`,
        status: 'skipped',
        reason,
        checkedIn: 'meta',
        applied: [],
      }),
    );
    const odd = result({
      tenantId: '00000000-0000-4000-8000-000000000999',
      slug: 'moving-one',
      status: 'skipped',
      reason: 'tenant is moving',
      checkedIn: 'meta',
    });
    const canary = result({ slug: 't-canary', status: 'failed', error: { code: 'MIGRATION_FAILED', message: 'boom', migration: '00006_b' } });
    const failed = outcome([canary, ...rest, odd], { status: 'failed', stopReason: 'canary t-3 failed; no other tenant was started' });
    const { term, out } = terminal();
    renderFleetOutcome(term, failed);
    const lines = out.text().split('\n');
    expect(lines).toContain(
      `12 tenants skipped: ${reason} (t-0, t-1, t-2 +9 more; --verbose lists them, \`tenant migrate history\` shows them)`,
    );
    expect(lines).toContain('moving-one: skipped: tenant is moving');
    expect(lines.filter((l) => /^\s*t-\d+\s/.test(l))).toEqual([]);
    expect(out.text()).toMatch(/t-canary\s+.*failed MIGRATION_FAILED at 00006_b/);
    expect(out.text()).toMatch(/moving-one\s+.*skipped tenant is moving/);
    const verbose = terminal({ verbose: true });
    renderFleetOutcome(verbose.term, failed);
    expect(verbose.out.text()).not.toContain('12 tenants skipped');
    expect(verbose.out.text()).toContain(`t-11: skipped: ${reason}`);
  });

  it('exits 0 only for a run that succeeded; 130 interrupted; 1 failed or still going', () => {
    expect(fleetExitCode('succeeded')).toBe(0);
    expect(fleetExitCode('interrupted')).toBe(130);
    expect(fleetExitCode('failed')).toBe(1);
    expect(fleetExitCode('running')).toBe(1);
    // This runner was stopped by a signal while others carry the run on.
    expect(fleetExitCode('running', true)).toBe(130);
    expect(fleetExitCode('succeeded', true)).toBe(0);
  });
});

describe('runner options of `tenant migrate`', () => {
  const refuses = (parse: () => unknown, message: string) => {
    expect(parse).toThrow(InvalidArgumentError);
    expect(parse).toThrow(message);
  };

  it('parses --shard i/n (1-based) and refuses anything else', () => {
    expect(shardOption('2/4')).toEqual({ index: 2, count: 4 });
    expect(shardOption(' 1 / 1 ')).toEqual({ index: 1, count: 1 });
    for (const bad of ['0/3', '4/3', '1/0', '1/10001', '2', '2/4/8', 'a/b', '-1/3', '1.5/3']) {
      refuses(() => shardOption(bad), '--shard must be i/n with 1 <= i <= n <= 10000, like 2/4');
    }
  });

  it('parses --canary as a count or slugs (repeatable), not both', () => {
    expect(canaryOption('3')).toBe(3);
    expect(canaryOption('acme, globex')).toEqual(['acme', 'globex']);
    expect(canaryOption('initech', ['acme'])).toEqual(['acme', 'initech']);
    for (const bad of ['0', '1000001', 'acme,,globex', ' ', 'acme,'])
      refuses(() => canaryOption(bad), '--canary takes a count from 1 to 1000000');
    refuses(() => canaryOption('acme', 3), 'not both');
    refuses(() => canaryOption('3', ['acme']), 'given once');
  });

  it('takes a --key of printable characters without spaces, as the library does', () => {
    expect(keyOption('release-2026.11.27+build/42')).toBe('release-2026.11.27+build/42');
    for (const bad of ['', ' ', 'release 42', 'x'.repeat(201), 'tab\there', 'caf\u00e9']) {
      refuses(() => keyOption(bad), '--key takes 1 to 200 printable characters without spaces');
    }
  });

  it('parses --max-failure-rate as a percentage, with or without %', () => {
    expect(failureRateOption('5')).toBe(5);
    expect(failureRateOption('5%')).toBe(5);
    expect(failureRateOption('2.5 %')).toBe(2.5);
    expect(failureRateOption('0')).toBe(0);
    expect(failureRateOption('100%')).toBe(100);
    for (const bad of ['101', '-1', 'five', '5%%', '', '1e1']) {
      refuses(() => failureRateOption(bad), '--max-failure-rate must be a percentage from 0 to 100, like 5 or 5%');
    }
  });

  it('parses bounded durations; 0 only where it means something', () => {
    const lease = boundedDuration('--lease', 1000, 86_400_000);
    expect(lease('3s')).toBe(3000);
    expect(lease('1m30s')).toBe(90_000);
    for (const bad of ['0', '500ms', '2d', 'soon', '']) refuses(() => lease(bad), '--lease must be a duration from 1s to 1d, like 30s or 10m');
    const wait = boundedDuration('--wait-timeout', 1000, 7 * 86_400_000, 'until the run ends');
    expect(wait('0')).toBe(0);
    expect(wait('30m')).toBe(1_800_000);
    refuses(() => wait('8d'), '--wait-timeout must be a duration from 1s to 7d, like 30s or 10m (0: until the run ends)');
    refuses(() => boundedDuration('--interval', 100, 3_600_000)('50ms'), 'from 100ms to 1h');
  });

  it('maps the runner flags onto the library options, --per-host as the older name of --per-server', () => {
    const options = toFleetOptions(
      {
        join: 'last',
        key: 'release-42',
        lease: 3000,
        waitTimeout: 0,
        shard: { index: 2, count: 4 },
        canary: ['acme'],
        maxFailureRate: 5,
        minSample: 20,
        wave: 100,
        perServer: 2,
      },
      'up',
    );
    expect(options).toEqual({
      direction: 'up',
      target: {},
      join: 'last',
      runKey: 'release-42',
      leaseMs: 3000,
      waitTimeoutMs: 0,
      shard: { index: 2, count: 4 },
      canary: ['acme'],
      maxFailureRate: 5,
      minSample: 20,
      waveSize: 100,
      perHost: 2,
    });
    expect(toFleetOptions({ perHost: 3 }, 'up')).toEqual({ direction: 'up', target: {}, perHost: 3 });
    expect(toFleetOptions({}, 'down')).toEqual({ direction: 'down', target: {} });
  });
});
