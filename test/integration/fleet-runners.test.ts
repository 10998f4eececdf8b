/**
 * Fleet runs shared by several runners, in one process (the CLI-level proof
 * with separate processes and three servers is multi-server-runners.test.ts):
 * runners sharing a key, a lease that runs out, the per-server limit across
 * runners, canaries, the failure brake, waves and shards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tenant } from '../../src/tenants/tenant.js';
import { migrateFleet } from '../../src/migrate/fleet-migrator.js';
import type { FleetEvent, FleetMigrateOptions, FleetOutcome } from '../../src/migrate/fleet-types.js';
import { loadMigrationFiles, type MigrationFile } from '../../src/schema/migration-files.js';
import { MigrationRuns } from '../../src/migrate/migration-runs.js';
import { RunQueue } from '../../src/migrate/run-queue.js';
import { shardOf } from '../../src/migrate/fleet-shard.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { appliedInDb } from '../support/fleet-fixtures.js';
import { migrationsWith } from '../support/migrations-dir.js';
import { createTenants } from '../support/tenant-fixtures.js';
import { createTestEnvironment } from '../support/test-environment.js';

const env = createTestEnvironment();
let rt: Runtime;
const LATEST = '00006_posting';

beforeAll(async () => {
  rt = await env.runtime();
});
afterAll(async () => {
  await env.cleanup();
});

const deps = () => ({
  registry: rt.registry,
  metaPool: rt.metaPool,
  credentials: rt.connections.tenant,
  adminUrl: rt.connections.adminUrl,
});
const fleet = (files: readonly MigrationFile[], options: Omit<FleetMigrateOptions, 'actor'> = {}) =>
  migrateFleet(files, deps(), { actor: 'test', ...options });
const filesWith = async (extra: Record<string, string>) => loadMigrationFiles(await migrationsWith(extra));
const slugsOf = (tenants: readonly Tenant[]) => tenants.map((t) => t.slug);
/** Tenants made in order of the registry (a run's queue order); createTenants provisions them concurrently. */
const createOrdered = async (n: number, prefix: string) => {
  const made = await createTenants(rt, n, prefix);
  return rt.registry.list({ ids: made.map((t) => t.id) });
};

/** A migration that takes a while, so runners overlap. */
const slowMigration = (name: string, sleep = 0.15) => ({
  [`00007_${name}.sql`]: `-- migrate:up\nSELECT pg_sleep(${sleep});\nCREATE TABLE ${name} (id int);\n-- migrate:down\nDROP TABLE ${name};\n`,
});
/** A migration that fails in the named tenant databases only. */
const failingIn = (name: string, dbNames: readonly string[]) => ({
  [`00007_${name}.sql`]:
    `-- migrate:up\nCREATE TABLE ${name} (id int);\n` +
    `DO $$ BEGIN IF current_database() IN (${dbNames.map((d) => `'${d}'`).join(', ') || "''"}) THEN RAISE EXCEPTION 'bad data here'; END IF; END $$;\n` +
    `-- migrate:down\nDROP TABLE ${name};\n`,
});

function tracker() {
  let now = 0;
  let max = 0;
  return {
    onEvent: (event: FleetEvent) => {
      if (event.type === 'tenant-started') max = Math.max(max, ++now);
      if (event.type === 'tenant-finished' && event.result.checkedIn === 'database') now -= 1;
    },
    get max() {
      return max;
    },
  };
}

describe('runners sharing one run', () => {
  it('three runners with one key: each tenant migrated exactly once, every runner reports the run succeeded', async () => {
    const tenants = await createTenants(rt, 24, 'shared-run');
    // Slow enough that the first runner alone would need seconds: the others join well before the end.
    const files = await filesWith(slowMigration('shared_table', 0.3));
    const key = `release-${Date.now()}`;
    const first = fleet(files, { target: { slugs: slugsOf(tenants) }, runKey: key, concurrency: 3 });
    // The others start once the run exists, with the same key: they join it instead of starting their own.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const others = [1, 2].map(() => fleet(files, { target: { slugs: slugsOf(tenants) }, runKey: key, concurrency: 3 }));
    const outcomes = await Promise.all([first, ...others]);

    const runIds = new Set(outcomes.map((o) => o.runId));
    expect(runIds.size).toBe(1);
    expect(outcomes.map((o) => o.joined)).toEqual([false, true, true]);
    for (const o of outcomes) expect(o).toMatchObject({ status: 'succeeded', counts: expect.objectContaining({ migrated: 24, failed: 0 }) });
    const migrated = outcomes.flatMap((o) => o.results.filter((r) => r.status === 'migrated').map((r) => r.tenantId));
    expect(migrated.sort()).toEqual(tenants.map((t) => t.id).sort());
    // The joiners did part of the work.
    expect(outcomes.slice(1).some((o) => o.results.some((r) => r.status === 'migrated'))).toBe(true);
    for (const t of tenants) expect((await appliedInDb(t, rt.connections.tenant)).filter((n) => n === '00007_shared_table')).toHaveLength(1);

    const run = await new MigrationRuns(rt.metaPool).get([...runIds][0] as string);
    expect(run.runKey).toBe(key);
    expect(run.runners).toHaveLength(3);
    expect(run.runners.every((r) => r.status === 'finished')).toBe(true);
    expect(run.runners.reduce((n, r) => n + r.done, 0)).toBe(24);
    expect(run.tenants.every((t) => t.claims === 1 && t.status === 'migrated')).toBe(true);
  });

  it('a runner joining a run that ended reports it and does nothing', async () => {
    const tenants = await createTenants(rt, 2, 'ended-run');
    const files = await filesWith(slowMigration('ended_table', 0));
    const done = await fleet(files, { target: { slugs: slugsOf(tenants) } });
    const late = await fleet(files, { join: done.runId as string });
    expect(late).toMatchObject({ runId: done.runId, joined: true, status: 'succeeded', results: [] });
    expect(late.counts.migrated).toBe(2);
  });

  it('refuses to join with other migration files, or with options that are the run’s', async () => {
    const tenants = await createTenants(rt, 1, 'join-refused');
    const files = await filesWith(slowMigration('join_table', 0));
    const done = await fleet(files, { target: { slugs: slugsOf(tenants) } });
    const other = await filesWith(slowMigration('other_table', 0));
    await expect(fleet(other, { join: done.runId as string })).rejects.toMatchObject({ code: 'USAGE' });
    await expect(fleet(files, { join: 'last', target: { slugs: ['x'] } })).rejects.toMatchObject({
      code: 'USAGE',
      message: expect.stringContaining('--slug'),
    });
    await expect(fleet(files, { join: 'last', perHost: 2 })).rejects.toMatchObject({ message: expect.stringContaining('--per-server') });
  });

  it('takes over the tenants of a runner whose lease ran out; the tenant lock keeps each migration applied once', async () => {
    const tenants = await createOrdered(5, 'lease-out');
    const files = await filesWith(slowMigration('lease_table', 0.05));
    const runs = new MigrationRuns(rt.metaPool);
    // A run whose only runner claims two tenants and then goes silent, as after kill -9.
    const { id } = await runs.start({
      actor: 'test',
      direction: 'up',
      target: { slugs: slugsOf(tenants) },
      options: { latest: '00007_lease_table' },
      tenants: tenants.map((t, i) => ({
        tenantId: t.id,
        status: 'pending' as const,
        from: LATEST,
        to: null,
        applied: [],
        durationMs: null,
        error: null,
        position: i + 1,
        wave: 1,
        serverName: t.serverName,
      })),
    });
    const ghost = new RunQueue(rt.metaPool, id);
    const ghostId = await ghost.register({ actor: 'ghost', concurrency: 2, leaseMs: 1_000 });
    const claim = await ghost.claim(ghostId, 2, 1_000);
    const held = claim.kind === 'claimed' ? claim.tenantIds : [];
    expect(held).toEqual([tenants[0]?.id, tenants[1]?.id]);
    expect((await runs.status(id)).runners[0]).toMatchObject({ id: ghostId, status: 'running', holding: 2 });

    const joined = await fleet(files, { join: id, concurrency: 2, leaseMs: 2_000 });
    expect(joined).toMatchObject({ status: 'succeeded', joined: true });
    expect(joined.results.map((r) => r.status)).toEqual(Array(5).fill('migrated'));
    const detail = await runs.get(id);
    for (const tenantId of held)
      expect(detail.tenants.find((t) => t.tenantId === tenantId)).toMatchObject({ claims: 2, runnerId: joined.runnerId });
    expect(detail.runners.find((r) => r.id === ghostId)?.status).toBe('lost');
    for (const t of tenants) expect((await appliedInDb(t, rt.connections.tenant)).filter((n) => n === '00007_lease_table')).toHaveLength(1);

    // The lost runner's late outcome does not overwrite the one recorded.
    await runs.finishTenants(
      id,
      [{ tenantId: held[0] as string, status: 'failed', from: LATEST, to: LATEST, applied: [], durationMs: 1, error: 'late' }],
      ghostId,
    );
    expect((await runs.get(id)).tenants.find((t) => t.tenantId === held[0])?.status).toBe('migrated');
  });
});

describe('rollout safety', () => {
  it('a failing canary ends the run before any other tenant is touched', async () => {
    const tenants = await createTenants(rt, 5, 'canary');
    const canary = tenants[2] as Tenant;
    const files = await filesWith(failingIn('canary_table', [canary.dbName]));
    const outcome = await fleet(files, { target: { slugs: slugsOf(tenants) }, canary: [canary.slug], concurrency: 4 });
    expect(outcome.status).toBe('failed');
    expect(outcome.stopReason).toContain(`canary ${canary.slug} failed`);
    const bySlug = new Map(outcome.results.map((r) => [r.slug, r]));
    expect(bySlug.get(canary.slug)?.status).toBe('failed');
    for (const t of tenants.filter((x) => x !== canary)) {
      expect(bySlug.get(t.slug)).toMatchObject({ status: 'skipped', reason: expect.stringContaining('not started') });
      expect((await appliedInDb(t, rt.connections.tenant)).at(-1)).toBe(LATEST);
    }
  });

  it('canaries that pass go first and alone, then the rest', async () => {
    const tenants = await createOrdered(4, 'canary-ok');
    const files = await filesWith(slowMigration('canary_ok_table', 0.05));
    const order: string[] = [];
    const outcome = await fleet(files, {
      target: { slugs: slugsOf(tenants) },
      canary: 1,
      concurrency: 4,
      onEvent: (e) => {
        if (e.type === 'tenant-started') order.push(`start ${e.tenant.slug}`);
        if (e.type === 'tenant-finished') order.push(`end ${e.result.slug}`);
      },
    });
    expect(outcome.status).toBe('succeeded');
    expect(order.slice(0, 2)).toEqual([`start ${tenants[0]?.slug}`, `end ${tenants[0]?.slug}`]);
    const run = await new MigrationRuns(rt.metaPool).get(outcome.runId as string);
    expect(run.tenants.map((t) => t.wave)).toEqual([0, 1, 1, 1]);
  });

  it('the failure brake stops new starts once the rate is exceeded; resume finishes the run after the fix', async () => {
    const tenants = await createOrdered(8, 'brake');
    const bad = tenants.slice(0, 2);
    const files = await filesWith(
      failingIn(
        'brake_table',
        bad.map((t) => t.dbName),
      ),
    );
    const outcome: FleetOutcome = await fleet(files, { target: { slugs: slugsOf(tenants) }, concurrency: 1, maxFailureRate: 20, minSample: 2 });
    expect(outcome.status).toBe('failed');
    expect(outcome.stopReason).toContain('--max-failure-rate 20%');
    expect(outcome.results.map((r) => r.status)).toEqual(['failed', 'failed', ...Array(6).fill('skipped')]);
    for (const t of tenants.slice(2)) expect((await appliedInDb(t, rt.connections.tenant)).at(-1)).toBe(LATEST);

    const fixed = await filesWith(failingIn('brake_table', []));
    // Same name, different checksum: the failed tenants never applied it, so the fixed file is what they get.
    const resumed = await fleet(fixed, { target: { resume: outcome.runId as string } });
    expect(resumed.status).toBe('succeeded');
    expect(resumed.counts.migrated).toBe(8);
  });

  it('waves: the next wave starts only when the previous one ended within the failure budget', async () => {
    const tenants = await createOrdered(6, 'waves');
    const files = await filesWith(failingIn('wave_table', [(tenants[1] as Tenant).dbName]));
    const outcome = await fleet(files, { target: { slugs: slugsOf(tenants) }, waveSize: 2, concurrency: 4 });
    expect(outcome.status).toBe('failed');
    expect(outcome.stopReason).toContain('before wave 2');
    expect(outcome.results.map((r) => r.status)).toEqual(['migrated', 'failed', 'skipped', 'skipped', 'skipped', 'skipped']);
    const run = await new MigrationRuns(rt.metaPool).get(outcome.runId as string);
    expect(run.tenants.map((t) => t.wave)).toEqual([1, 1, 2, 2, 3, 3]);
  });

  it('holds --per-server across runners', async () => {
    const tenants = await createTenants(rt, 12, 'per-server');
    const files = await filesWith(slowMigration('per_server_table', 0.1));
    const track = tracker();
    const key = `per-server-${Date.now()}`;
    const outcomes = await Promise.all(
      [0, 1, 2].map((i) =>
        new Promise((resolve) => setTimeout(resolve, i * 150)).then(() =>
          fleet(files, { target: { slugs: slugsOf(tenants) }, runKey: key, perHost: 2, concurrency: 3, onEvent: track.onEvent }),
        ),
      ),
    );
    for (const o of outcomes) expect(o.status).toBe('succeeded');
    expect(track.max).toBeLessThanOrEqual(2);
    expect(track.max).toBe(2);
  });
});

describe('shards', () => {
  it('split the targets into disjoint parts whose union is every target; an empty shard succeeds', async () => {
    const tenants = await createTenants(rt, 9, 'sharded');
    const files = await filesWith(slowMigration('shard_table', 0));
    const outcomes = [];
    for (const index of [1, 2, 3]) outcomes.push(await fleet(files, { target: { slugs: slugsOf(tenants) }, shard: { index, count: 3 } }));
    const parts = outcomes.map((o) => o.results.map((r) => r.tenantId));
    expect(parts.flat().sort()).toEqual(tenants.map((t) => t.id).sort());
    expect(new Set(parts.flat()).size).toBe(9);
    parts.forEach((part, i) => {
      for (const id of part) expect(shardOf(id, 3)).toBe(i + 1);
    });
    for (const o of outcomes) expect(o.status).toBe('succeeded');

    // A shard with nobody in it.
    const one = tenants[0] as Tenant;
    const other = (shardOf(one.id, 2) % 2) + 1;
    const empty = await fleet(files, { target: { slugs: [one.slug] }, shard: { index: other, count: 2 } });
    expect(empty).toMatchObject({ status: 'succeeded', results: [] });
  });
});
