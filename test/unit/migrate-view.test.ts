import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import { fleetJson, progressText, summaryTable, tenantLine, totalsLine } from '../../src/cli/migrate-view.js';
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
