import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import { findingsOf } from '../../src/status/fleet-findings.js';
import { versionSkew } from '../../src/status/fleet-status.js';
import type { FleetStatus } from '../../src/status/fleet-status-model.js';
import { statusJson, statusText } from '../../src/cli/status-view.js';
import type { MigrationFile } from '../../src/schema/migration-files.js';
import { TENANT_STATUSES, type TenantStatus } from '../../src/tenants/tenant.js';

const c = new Chalk({ level: 0 });
const files = ['00001_a', '00002_b', '00003_c'].map((name) => ({ name }) as MigrationFile);
const at = new Date('2026-11-27T12:00:00Z');

function fleet(over: Partial<Omit<FleetStatus, 'findings'>> = {}): FleetStatus {
  const byStatus = Object.fromEntries(TENANT_STATUSES.map((s) => [s, 0])) as Record<TenantStatus, number>;
  const base: Omit<FleetStatus, 'findings'> = {
    at,
    latestVersion: '00003_c',
    tenants: { total: 3, byStatus: { ...byStatus, active: 3 } },
    versions: { current: 3, behind: 0, unknown: 0, oldest: null, byVersion: [{ version: '00003_c', tenants: 3, behind: 0 }] },
    failed: { total: 0, tenants: [] },
    staleProvisioning: { total: 0, tenants: [] },
    runs: [],
    servers: [{ name: 'default', host: '127.0.0.1', port: 5432, status: 'active', capacity: null, tenants: 3 }],
    checked: false,
    ...over,
  };
  return { ...base, findings: findingsOf(base) };
}

describe('version skew', () => {
  it('counts live tenants current, behind (with how far and the oldest) and at versions the files do not have', () => {
    const skew = versionSkew(
      [
        { status: 'active', schema_version: '00003_c', n: 5 },
        { status: 'suspended', schema_version: '00001_a', n: 2 },
        { status: 'migration_failed', schema_version: '00002_b', n: 1 },
        { status: 'active', schema_version: '00009_future', n: 1 },
        { status: 'active', schema_version: null, n: 1 },
        { status: 'deleted', schema_version: '00001_a', n: 7 },
        { status: 'provisioning', schema_version: null, n: 3 },
      ],
      files,
    );
    expect(skew).toMatchObject({ current: 5, behind: 4, unknown: 1, oldest: null });
    // Newest first: a version this release does not have was made by a newer one.
    expect(skew.byVersion).toEqual([
      { version: '00009_future', tenants: 1, behind: null },
      { version: '00003_c', tenants: 5, behind: 0 },
      { version: '00002_b', tenants: 1, behind: 1 },
      { version: '00001_a', tenants: 2, behind: 2 },
      { version: null, tenants: 1, behind: 3 },
    ]);
    expect(versionSkew([{ status: 'active', schema_version: '00002_b', n: 1 }], files).oldest).toBe('00002_b');
  });
});

describe('findings', () => {
  it('are empty for a healthy fleet, and name each problem with a code, a count and what to do', () => {
    expect(fleet().findings).toEqual([]);
    const sick = fleet({
      versions: {
        current: 1,
        behind: 2,
        unknown: 1,
        oldest: '00001_a',
        byVersion: [
          { version: '00001_a', tenants: 2, behind: 2 },
          { version: '00009_x', tenants: 1, behind: null },
        ],
      },
      failed: { total: 1, tenants: [{ id: 'i', slug: 'acme', version: '00002_b', migration: '00003_c', error: 'boom', at }] },
      staleProvisioning: { total: 1, tenants: [{ id: 'j', slug: 'stuck', since: at }] },
      servers: [
        {
          name: 'eu-2',
          host: '10.0.0.2',
          port: 5432,
          status: 'active',
          capacity: 10,
          tenants: 4,
          probe: { reachable: false, error: { code: 'DATABASE_UNAVAILABLE', message: 'timeout' } },
          orphans: { server: 'eu-2', databases: ['t_old'], roles: ['t_old_app'] },
        },
      ],
      checked: true,
    });
    expect(sick.findings.map((f) => [f.code, f.count, f.subjects])).toEqual([
      ['MIGRATION_FAILED', 1, ['acme']],
      ['TENANTS_BEHIND', 2, ['00001_a']],
      ['UNKNOWN_SCHEMA_VERSION', 1, ['00009_x']],
      ['PROVISIONING_STALE', 1, ['stuck']],
      ['SERVER_UNREACHABLE', 1, ['eu-2']],
      ['ORPHANS', 2, ['t_old', 't_old_app']],
    ]);
    for (const f of sick.findings) expect(f.hint.length).toBeGreaterThan(5);

    const text = statusText(c, sick, true);
    expect(text).toContain('Needs attention');
    expect(text).toContain('MIGRATION_FAILED 1 tenant in migration_failed: acme');
    expect(text).toContain('no: timeout');
    const doc = statusJson(sick);
    expect(doc).toMatchObject({ healthy: false, checked: true, at: at.toISOString() });
    expect((doc.servers as Record<string, unknown>[])[0]).toMatchObject({
      reachable: false,
      orphanDatabases: ['t_old'],
      orphanRoles: ['t_old_app'],
    });
  });

  it('shows runs not ended, abandoned ones as a finding', () => {
    const counts = { pending: 3, running: 1, migrated: 5, reverted: 0, 'up-to-date': 1, failed: 1, skipped: 0, unrecorded: 0 };
    const run = {
      id: 'abcdef12-0000-4000-8000-000000000000',
      runKey: null,
      stopReason: null,
      actor: 'ci',
      direction: 'up' as const,
      target: {},
      options: {},
      startedAt: at,
      finishedAt: null,
      total: 11,
      counts,
      runnersAlive: 0,
      runnersLost: 1,
    };
    const s = fleet({ runs: [{ ...run, status: 'abandoned' }] });
    expect(s.findings.map((f) => f.code)).toEqual(['RUN_ABANDONED']);
    const text = statusText(c, s, true);
    expect(text).toContain('abcdef12');
    expect(text).toContain('7/11');
    expect(text).toContain('0 alive, 1 lost');
    expect(fleet({ runs: [{ ...run, status: 'running', runnersAlive: 2 }] }).findings).toEqual([]);
    expect(statusText(c, fleet(), true)).toContain('Nothing needs attention in the meta database');
  });
});
