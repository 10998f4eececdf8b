/**
 * Fleet runs shared by several runners, as real `tenant migrate` processes,
 * over 60 tenants spread on three PostgreSQL servers (the suite's own, a
 * private embedded cluster, a private system-PostgreSQL cluster; isolated
 * mode). Proves: three runners on one run migrate each tenant once and all
 * exit 0; `--per-server 2` holds across runners (pg_stat_activity sampled by
 * application_name on every server); shards are disjoint and complete; a
 * failing canary touches nobody else; canary and waves go in order; the
 * failure-rate brake stops new starts and `--resume` finishes the run.
 *
 * The tests run in order on the same tenants; each adds its own migration to
 * a cumulative migrations folder (the failing canary's is never applied, so
 * it is left out afterwards).
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MigrationRuns, type MigrationRunDetail } from '../../src/migrate/migration-runs.js';
import { TENANT_STORAGE_TABLE } from '../../src/migrate/tenant-migrator.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import type { Tenant } from '../../src/tenants/tenant.js';
import { dropRolesWithPrefix } from '../support/drop-databases.js';
import { migrationsWith } from '../support/migrations-dir.js';
import { asTenantOwner, openMoveRuntime, type MoveServers } from '../support/move-servers.js';
import { runCli } from '../support/run-cli.js';
import {
  appliedAudits,
  exitWithin,
  failingInDatabase,
  failingWhereMarked,
  killRunners,
  parseRunnerJson,
  runIdByKey,
  slowMigration,
  startActivitySampler,
  startRunner,
  type RunnerJson,
  type RunnerProcess,
} from '../support/runner-fixtures.js';
import { createTenants, eventually } from '../support/tenant-fixtures.js';
import { createTestEnvironment } from '../support/test-environment.js';

const TENANTS = 60;
const SERVERS = ['default', 'pg-embedded', 'pg-system'] as const;

const env = createTestEnvironment();
let servers: MoveServers;
let rt: Runtime;
/** The CLI's environment without a migrations folder: isolated mode, the private servers' admin URLs. */
let base: Record<string, string>;
/** Every tenant, in registry order (created_at, slug). */
let tenants: Tenant[];
const started: RunnerProcess[] = [];
/** The migrations every later test keeps (file name -> text). */
const kept: Record<string, string> = {};

beforeAll(async () => {
  ({ servers, rt } = await openMoveRuntime(env.isolatedEnv));
  base = { ...env.isolatedEnv, ...servers.env };
  await createTenants(rt, TENANTS, 'fleet', 6);
  tenants = await rt.registry.list();
}, 600_000);

afterAll(async () => {
  killRunners(started);
  await rt?.close();
  await servers?.dispose();
  await env.cleanup();
  await env.admin((client) => dropRolesWithPrefix(client, env.prefix));
});

/** A migrations folder with every kept migration plus `extra`; `keep` adds `extra` to the kept ones. */
async function cliWith(extra: Record<string, string>, keep = true): Promise<Record<string, string>> {
  if (keep) Object.assign(kept, extra);
  return { ...base, TENANT_MIGRATIONS_DIR: await migrationsWith({ ...kept, ...extra }) };
}

function runner(args: string[], cli: Record<string, string>): RunnerProcess {
  const r = startRunner(args, cli);
  started.push(r);
  return r;
}

function adminUrls(): Record<string, string> {
  return Object.fromEntries(SERVERS.map((s) => [s, servers.urlOf(s, env.adminUrl)]));
}

/** fn over items, `limit` at a time (every tenant database, without opening 60 connections at once). */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i] as T);
      }
    }),
  );
  return out;
}

/** The tenant database's own bookkeeping (names applied) and whether a table exists, as its owner. */
async function inspect(tenant: Tenant, table: string): Promise<{ applied: string[]; hasTable: boolean }> {
  const current = await rt.registry.resolve(tenant.id);
  return asTenantOwner(rt, current, async (c: pg.Client) => {
    const applied = (await c.query<{ name: string }>(`SELECT name FROM ${TENANT_STORAGE_TABLE} ORDER BY name`)).rows.map((r) => r.name);
    const exists = (await c.query<{ ok: boolean }>('SELECT to_regclass($1) IS NOT NULL AS ok', [`public.${table}`])).rows[0]?.ok === true;
    return { applied, hasTable: exists };
  });
}

/** Every tenant has `migration` applied exactly once: in its own database, and once in the meta audit. */
async function expectAppliedOnce(migration: string, table: string, among: readonly Tenant[] = tenants): Promise<void> {
  const states = await mapLimit(among, 8, (t) => inspect(t, table));
  states.forEach((s, i) => {
    const slug = among[i]?.slug;
    expect(
      s.applied.filter((n) => n === migration),
      slug,
    ).toHaveLength(1);
    expect(s.hasTable, slug).toBe(true);
  });
  const audits = await appliedAudits(rt.connections.metaUrl, migration);
  for (const t of among) expect(audits.get(t.id) ?? 0, `${t.slug}: audit entries applying ${migration}`).toBe(1);
}

async function detail(runId: string): Promise<MigrationRunDetail> {
  return new MigrationRuns(rt.metaPool).get(runId);
}

function slugsOf(doc: RunnerJson, status?: string): string[] {
  return doc.results.filter((r) => status === undefined || r.status === status).map((r) => r.slug);
}

describe('the fleet on three servers', () => {
  it('spreads the 60 tenants over the three servers', () => {
    expect(tenants).toHaveLength(TENANTS);
    const per = new Map<string, number>();
    for (const t of tenants) per.set(t.serverName ?? '?', (per.get(t.serverName ?? '?') ?? 0) + 1);
    expect([...per.keys()].sort()).toEqual([...SERVERS].sort());
    for (const s of SERVERS) expect(per.get(s), s).toBeGreaterThanOrEqual(10);
  });
});

describe('runners sharing one run', () => {
  it('three runners with one --key migrate each of the 60 tenants once, each by one runner, and all exit 0', async () => {
    const migration = '00007_runner_marks';
    const cli = await cliWith({ [`${migration}.sql`]: slowMigration('runner_marks', 0.2) });
    const key = `release-${env.id}-shared`;
    const args = ['migrate', '--key', key, '--concurrency', '2', '--wait-timeout', '5m', '--json'];
    const runners = [runner(args, cli), runner(args, cli), runner(args, cli)];
    const results = await Promise.all(runners.map((r) => exitWithin(r, 150_000)));
    results.forEach((r, i) => expect(r.code, `runner ${i}: ${r.stderr}`).toBe(0));
    const docs = results.map((r, i) => parseRunnerJson(r, `runner ${i}`));

    const runId = await runIdByKey(rt.connections.metaUrl, key);
    expect(runId).toBeDefined();
    for (const doc of docs) {
      // Every runner reports the one run, succeeded, with the whole run's counts.
      expect(doc).toMatchObject({ runId, status: 'succeeded' });
      expect(doc.counts).toMatchObject({ migrated: TENANTS, failed: 0, skipped: 0 });
    }
    // Each runner's results are its own: disjoint, together every tenant, each migrated.
    const bySlug = new Map<string, number>();
    docs.forEach((doc, i) => {
      for (const r of doc.results) {
        expect(bySlug.has(r.slug), `${r.slug} reported by two runners`).toBe(false);
        bySlug.set(r.slug, i);
        expect(r, r.slug).toMatchObject({ status: 'migrated', applied: [migration] });
      }
    });
    expect([...bySlug.keys()].sort()).toEqual(tenants.map((t) => t.slug).sort());

    const run = await detail(runId as string);
    expect(run.status).toBe('succeeded');
    expect(run.runKey).toBe(key);
    expect(run.runners.map((u) => u.pid).sort()).toEqual(runners.map((r) => r.pid).sort());
    for (const u of run.runners) expect(u.status, `runner ${u.pid}`).toBe('finished');
    // The history agrees with what each runner printed: its done count and the runner of each tenant.
    const ids = new Map(run.runners.map((u) => [u.pid, u.id]));
    runners.forEach((r, i) => {
      const id = ids.get(r.pid) as string;
      const own = docs[i]?.results.map((x) => x.slug).sort();
      expect(run.runners.find((u) => u.id === id)?.done, `runner ${i}`).toBe(own?.length);
      expect(
        run.tenants
          .filter((t) => t.runnerId === id)
          .map((t) => t.slug)
          .sort(),
      ).toEqual(own);
      // Every runner took part (each alone would need ~6 s for the 60 tenants).
      expect(own?.length, `tenants migrated by runner ${i}`).toBeGreaterThan(0);
    });
    for (const t of run.tenants) expect(t, t.slug ?? t.tenantId).toMatchObject({ status: 'migrated', claims: 1 });
    await expectAppliedOnce(migration, 'runner_marks');
  });

  it('--per-server 2 holds across three runners (two joined with --join): never more than 2 migrations in flight on a server', async () => {
    const migration = '00008_per_server_marks';
    const cli = await cliWith({ [`${migration}.sql`]: slowMigration('per_server_marks', 0.3) });
    const key = `release-${env.id}-per-server`;
    const sampler = await startActivitySampler(adminUrls(), 20);
    let activity: Awaited<ReturnType<typeof sampler.stop>> | undefined;
    try {
      const first = runner(['migrate', '--key', key, '--per-server', '2', '--concurrency', '4', '--wait-timeout', '5m', '--json'], cli);
      let runId: string | undefined;
      await eventually(
        'the first runner has created the run',
        async () => (runId = await runIdByKey(rt.connections.metaUrl, key)) !== undefined,
        30_000,
      );
      const byLast = runner(['migrate', '--join', 'last', '--concurrency', '4', '--wait-timeout', '5m', '--json'], cli);
      const byId = runner(['migrate', '--join', runId as string, '--concurrency', '4', '--wait-timeout', '5m', '--json'], cli);
      const results = await Promise.all([first, byLast, byId].map((r) => exitWithin(r, 150_000)));
      results.forEach((r, i) => expect(r.code, `runner ${i}: ${r.stderr}`).toBe(0));
      const docs = results.map((r, i) => parseRunnerJson(r, `runner ${i}`));
      for (const doc of docs) expect(doc).toMatchObject({ runId, status: 'succeeded' });
      expect(docs.flatMap((d) => slugsOf(d, 'migrated')).sort()).toEqual(tenants.map((t) => t.slug).sort());
      const run = await detail(runId as string);
      expect(run.runners).toHaveLength(3);
    } finally {
      activity = await sampler.stop();
    }

    const slugOf = new Map(tenants.map((t) => [t.dbName, t.slug]));
    for (const server of SERVERS) {
      const a = activity[server];
      expect(a?.samples, server).toBeGreaterThan(10);
      // The limit: never more than 2 tenant databases of one server migrating at once, across the runners.
      expect(a?.peak, `${server}: tenant databases with a migration in flight at once`).toBeLessThanOrEqual(2);
      // The sampler saw the migrations (so the bound above means something).
      expect(a?.peak, server).toBeGreaterThanOrEqual(1);
      // Every migration connection names its tenant: application_name = metapus:migrate:<slug>.
      for (const [db, names] of a?.seen ?? []) expect([...names], db).toEqual([`metapus:migrate:${slugOf.get(db)}`]);
    }
    expect(Math.max(...SERVERS.map((s) => activity[s]?.peak ?? 0))).toBe(2);
    await expectAppliedOnce(migration, 'per_server_marks');
  });
});

describe('shards', () => {
  it('--shard 1/3..3/3 are disjoint runs whose union is every tenant, the same set on every call', async () => {
    const migration = '00009_shard_marks';
    const cli = await cliWith({ [`${migration}.sql`]: slowMigration('shard_marks', 0.05) });
    const shards = [1, 2, 3].map((i) => runner(['migrate', '--shard', `${i}/3`, '--concurrency', '4', '--json'], cli));
    const results = await Promise.all(shards.map((r) => exitWithin(r, 150_000)));
    results.forEach((r, i) => expect(r.code, `shard ${i + 1}: ${r.stderr}`).toBe(0));
    const docs = results.map((r, i) => parseRunnerJson(r, `shard ${i + 1}`));
    // Three runs of their own, no coordination.
    expect(new Set(docs.map((d) => d.runId)).size).toBe(3);
    const sets = docs.map((d) => slugsOf(d).sort());
    docs.forEach((d, i) => {
      expect(d.status, `shard ${i + 1}`).toBe('succeeded');
      expect(
        d.results.every((r) => r.status === 'migrated'),
        `shard ${i + 1}`,
      ).toBe(true);
      expect(sets[i]?.length, `shard ${i + 1} of 60 tenants`).toBeGreaterThan(0);
    });
    const all = sets.flat();
    expect(new Set(all).size, 'shards overlap').toBe(all.length);
    expect([...all].sort()).toEqual(tenants.map((t) => t.slug).sort());
    await expectAppliedOnce(migration, 'shard_marks');

    // Deterministic: a dry run of each shard lists the same tenants (now up to date).
    for (const [i, set] of sets.entries()) {
      const dry = await runCli(['migrate', '--shard', `${i + 1}/3`, '--dry-run', '--json'], cli);
      expect(dry.code, dry.stderr).toBe(0);
      expect(slugsOf(parseRunnerJson(dry)).sort(), `shard ${i + 1}`).toEqual(set);
    }

    // One tenant named, three shards: the one holding it reports it; the two empty ones exit 0 with nothing.
    const one = tenants[7] as Tenant;
    const holder = sets.findIndex((s) => s.includes(one.slug)) + 1;
    for (const i of [1, 2, 3]) {
      const r = await runCli(['migrate', '--slug', one.slug, '--shard', `${i}/3`, '--json'], cli);
      expect(r.code, `shard ${i}: ${r.stderr}`).toBe(0);
      const doc = parseRunnerJson(r, `shard ${i}`);
      expect(doc.status).toBe('succeeded');
      expect(slugsOf(doc), `shard ${i}`).toEqual(i === holder ? [one.slug] : []);
    }
  });
});

describe('rollout safety', () => {
  it('a failing canary ends the run before anyone else is touched: exit 1, every other tenant skipped and unchanged', async () => {
    const canary = tenants.find((t) => t.serverName === 'pg-system') as Tenant;
    const migration = '00010_canary_bad';
    // Kept out of later folders: it is never applied anywhere.
    const cli = await cliWith({ [`${migration}.sql`]: failingInDatabase('canary_marks', canary.dbName, 'the canary refuses') }, false);
    const canaryRunners = [runner(['migrate', '--canary', canary.slug, '--key', `canary-${env.id}`, '--json'], cli)];
    let runId: string | undefined;
    await eventually(
      'the canary run exists',
      async () => (runId = await runIdByKey(rt.connections.metaUrl, `canary-${env.id}`)) !== undefined,
      30_000,
    );
    // Another runner joins: it must not start anyone either.
    canaryRunners.push(runner(['migrate', '--join', runId as string, '--wait-timeout', '2m', '--json'], cli));
    const results = await Promise.all(canaryRunners.map((r) => exitWithin(r, 120_000)));
    results.forEach((r, i) => expect(r.code, `runner ${i}: ${r.stderr}`).toBe(1));
    const doc = parseRunnerJson(results[0] as (typeof results)[0]);
    expect(doc).toMatchObject({ runId, status: 'failed' });
    expect(doc.stopReason).toMatch(/canary/i);
    expect(doc.counts).toMatchObject({ failed: 1, migrated: 0, skipped: TENANTS - 1 });

    const run = await detail(runId as string);
    expect(run.status).toBe('failed');
    expect(run.stopReason).toMatch(/canary/i);
    for (const t of run.tenants) {
      if (t.tenantId === canary.id) {
        expect(t).toMatchObject({ status: 'failed', wave: 0 });
        expect(t.error).toContain('the canary refuses');
      } else {
        expect(t.status, t.slug ?? t.tenantId).toBe('skipped');
        expect(t.error, t.slug ?? t.tenantId).toMatch(/not started/i);
        expect(t.startedAt, t.slug ?? t.tenantId).toBeNull();
      }
    }
    // Nobody else's schema was touched.
    const others = tenants.filter((t) => t.id !== canary.id);
    const states = await mapLimit(others, 8, (t) => inspect(t, 'canary_marks'));
    states.forEach((s, i) => {
      expect(s.hasTable, others[i]?.slug).toBe(false);
      expect(s.applied.at(-1), others[i]?.slug).toBe('00009_shard_marks');
    });
    expect((await inspect(canary, 'canary_marks')).hasTable).toBe(false);
    const audited = await rt.metaPool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM tenant_audit WHERE details->>'runId' = $1 AND tenant_id <> $2`,
      [runId, canary.id],
    );
    expect(audited.rows[0]?.n).toBe(0);
  });

  it('--canary 2 --wave 20: the canaries finish before anyone else starts, each wave before the next', async () => {
    const migration = '00011_wave_marks';
    const cli = await cliWith({ [`${migration}.sql`]: slowMigration('wave_marks', 0.05) });
    const result = await runCli(['migrate', '--canary', '2', '--wave', '20', '--concurrency', '6', '--json'], cli);
    expect(result.code, result.stderr).toBe(0);
    const doc = parseRunnerJson(result);
    expect(doc.status).toBe('succeeded');
    const run = await detail(doc.runId as string);
    const waves = new Map<number, typeof run.tenants>();
    for (const t of run.tenants) {
      expect(t.status, t.slug ?? t.tenantId).toBe('migrated');
      expect(t.wave, t.slug ?? t.tenantId).not.toBeNull();
      waves.set(t.wave as number, [...(waves.get(t.wave as number) ?? []), t]);
    }
    const order = [...waves.keys()].sort((a, b) => a - b);
    expect(order[0]).toBe(0);
    expect(waves.get(0)).toHaveLength(2);
    expect(order.length).toBeGreaterThanOrEqual(4); // canary + ceil(58 / 20) waves
    for (const w of order.slice(1)) expect(waves.get(w)?.length, `wave ${w}`).toBeLessThanOrEqual(20);
    // Each wave ended before the next one started (timestamps of the meta database, one clock).
    for (let i = 1; i < order.length; i += 1) {
      const previous = waves.get(order[i - 1] as number) ?? [];
      const current = waves.get(order[i] as number) ?? [];
      const ended = Math.max(...previous.map((t) => t.finishedAt?.getTime() ?? Infinity));
      const began = Math.min(...current.map((t) => t.startedAt?.getTime() ?? -Infinity));
      expect(began, `wave ${order[i]} started before wave ${order[i - 1]} ended`).toBeGreaterThanOrEqual(ended);
    }
    await expectAppliedOnce(migration, 'wave_marks');
  });

  it('--max-failure-rate 20 --min-sample 5 stops starting tenants; the run is failed, the rest skipped; --resume last completes it after the fix', async () => {
    const migration = '00012_brake_marks';
    const cli = await cliWith({ [`${migration}.sql`]: failingWhereMarked('brake_marks', 'brake_fail') });
    // Every other tenant in registry order fails (half the fleet): whatever the run's order, the rate passes 20 %.
    const marked = tenants.filter((_, i) => i % 2 === 0);
    await mapLimit(marked, 8, async (t) =>
      asTenantOwner(rt, await rt.registry.resolve(t.id), (c) => c.query('CREATE TABLE brake_fail (id int)')),
    );

    const braked = await runCli(['migrate', '--max-failure-rate', '20', '--min-sample', '5', '--concurrency', '1', '--json'], cli);
    expect(braked.code, braked.stderr).toBe(1);
    const doc = parseRunnerJson(braked);
    expect(doc.status).toBe('failed');
    expect(doc.stopReason).toMatch(/failure rate|max-failure-rate/i);
    const { migrated = 0, failed = 0, skipped = 0 } = doc.counts;
    expect(migrated + failed + skipped).toBe(TENANTS);
    // It waited for the sample, stopped once the rate was over the brake, and started nobody after.
    expect(migrated + failed).toBeGreaterThanOrEqual(5);
    expect(failed / (migrated + failed)).toBeGreaterThan(0.2);
    // With half the fleet failing, the brake holds by 38 finished tenants in any order (8 / 38 > 20 %).
    expect(skipped).toBeGreaterThanOrEqual(22);

    const history = await runCli(['migrate', 'history', doc.runId as string, '--json'], cli);
    expect(history.code, history.stderr).toBe(0);
    const shown = JSON.parse(history.stdout) as { status: string; counts: Record<string, number>; tenants: { slug: string; status: string }[] };
    expect(shown.status).toBe('failed');
    expect(shown.counts).toMatchObject({ skipped, failed, migrated });
    const run = await detail(doc.runId as string);
    const skippedTenants = run.tenants.filter((t) => t.status === 'skipped');
    for (const t of skippedTenants) expect(t.error, t.slug ?? t.tenantId).toMatch(/not started/i);
    const skippedIds = new Set(skippedTenants.map((t) => t.tenantId));
    const untouched = tenants.filter((t) => skippedIds.has(t.id));
    const states = await mapLimit(untouched, 8, (t) => inspect(t, 'brake_marks'));
    states.forEach((s, i) => {
      expect(s.hasTable, untouched[i]?.slug).toBe(false);
      expect(s.applied, untouched[i]?.slug).not.toContain(migration);
    });

    // The fix: the marked tenants no longer fail. --resume last continues the braked run to the end.
    await mapLimit(marked, 8, async (t) => asTenantOwner(rt, await rt.registry.resolve(t.id), (c) => c.query('DROP TABLE brake_fail')));
    const resumed = await runCli(['migrate', '--resume', 'last', '--json'], cli);
    expect(resumed.code, resumed.stderr).toBe(0);
    const after = parseRunnerJson(resumed);
    expect(after).toMatchObject({ status: 'succeeded', counts: expect.objectContaining({ failed: 0, skipped: 0 }) as unknown });
    expect(slugsOf(after, 'migrated').length).toBe(failed + skipped);
    await expectAppliedOnce(migration, 'brake_marks');
    for (const t of await rt.registry.list()) expect(t.status, t.slug).toBe('active');
  });
});

describe('runners on one server', () => {
  it('without --per-server, each runner adds its --concurrency: three runners of 2 have more than 2 migrations in flight on one server', async () => {
    const migration = '00013_one_server_marks';
    const cli = await cliWith({ [`${migration}.sql`]: slowMigration('one_server_marks', 0.5) });
    const here = tenants.filter((t) => t.serverName === 'default');
    const key = `release-${env.id}-one-server`;
    const args = ['migrate', '--key', key, ...here.flatMap((t) => ['--slug', t.slug]), '--concurrency', '2', '--wait-timeout', '5m', '--json'];
    const sampler = await startActivitySampler({ default: env.adminUrl }, 20);
    let activity: Awaited<ReturnType<typeof sampler.stop>> | undefined;
    try {
      const runners = [runner(args, cli), runner(args, cli), runner(args, cli)];
      const results = await Promise.all(runners.map((r) => exitWithin(r, 150_000)));
      results.forEach((r, i) => expect(r.code, `runner ${i}: ${r.stderr}`).toBe(0));
    } finally {
      activity = await sampler.stop();
    }
    // --concurrency is per runner: the run's per-server limit is not the first runner's concurrency.
    expect(activity.default?.peak, 'tenant databases of one server migrating at once').toBeGreaterThan(2);
    expect(activity.default?.peak).toBeLessThanOrEqual(6);
    await expectAppliedOnce(migration, 'one_server_marks', here);
  });
});
