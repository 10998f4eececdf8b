/**
 * Runners of one fleet run that die or stall, as real `tenant migrate`
 * processes on the suite's server (30 tenants, a migration that sleeps):
 *  - kill -9 one runner mid-run (`--lease 3s`): the others take over its
 *    claims once the lease has run out, finish the run and exit 0; history
 *    shows the dead runner `lost` and its tenants done by the others
 *    (claims 2);
 *  - a runner that stalls (SIGSTOP) past its lease while its migrations hold
 *    the tenants' migration locks: another runner reclaims the tenants, and
 *    the tenant's advisory lock still keeps each migration to one
 *    application when the stalled runner wakes up;
 *  - a runner that waits for a stopped one longer than `--wait-timeout`
 *    exits 1 with the run still `running`;
 *  - the only runner killed with -9: the run is abandoned until a runner
 *    joins it, takes over the dead claims and finishes it;
 *  - the only runner interrupted (SIGINT): the run ends `interrupted`
 *    (exit 130), the rest skipped, and `--resume` completes it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MigrationRuns } from '../../src/migrate/migration-runs.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import type { Tenant } from '../../src/tenants/tenant.js';
import { appliedInDb, tableExists } from '../support/fleet-fixtures.js';
import { migrationsWith } from '../support/migrations-dir.js';
import { runCli } from '../support/run-cli.js';
import {
  appliedAudits,
  claimedBy,
  exitWithin,
  killRunners,
  metaQuery,
  parseRunnerJson,
  runIdByKey,
  runnerIdOf,
  runTenantCounts,
  slowMigration,
  startRunner,
  type RunnerProcess,
} from '../support/runner-fixtures.js';
import { createTenants, eventually } from '../support/tenant-fixtures.js';
import { createTestEnvironment } from '../support/test-environment.js';

const TENANTS = 30;
const LEASE = '3s';
const env = createTestEnvironment();
let rt: Runtime;
let tenants: Tenant[];
const started: RunnerProcess[] = [];
const kept: Record<string, string> = {};

beforeAll(async () => {
  rt = await env.runtime();
  await createTenants(rt, TENANTS, 'kill', 6);
  tenants = await rt.registry.list();
}, 300_000);

afterAll(async () => {
  // A stopped runner cannot act on SIGKILL's cleanup until it is continued; both go by pid to our own children only.
  for (const r of started) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGCONT');
  killRunners(started);
  await env.cleanup();
});

async function cliWith(extra: Record<string, string>): Promise<Record<string, string>> {
  Object.assign(kept, extra);
  return { ...env.env, TENANT_MIGRATIONS_DIR: await migrationsWith({ ...kept }) };
}

function runner(args: string[], cli: Record<string, string>): RunnerProcess {
  const r = startRunner(args, cli);
  started.push(r);
  return r;
}

const metaUrl = () => rt.connections.metaUrl;

async function expectAppliedOnce(migration: string, table: string): Promise<void> {
  for (const t of tenants) {
    const applied = await appliedInDb(t, rt.connections.tenant);
    expect(
      applied.filter((n) => n === migration),
      t.slug,
    ).toHaveLength(1);
    expect(await tableExists(t, rt.connections.tenant, table), t.slug).toBe(true);
  }
  const audits = await appliedAudits(metaUrl(), migration);
  for (const t of tenants) expect(audits.get(t.id) ?? 0, `${t.slug}: audit entries applying ${migration}`).toBe(1);
}

/** Starts the creating runner with a key and waits until its run exists. */
async function createRun(key: string, cli: Record<string, string>, concurrency: number): Promise<{ first: RunnerProcess; runId: string }> {
  const first = runner(['migrate', '--key', key, '--lease', LEASE, '--concurrency', String(concurrency), '--wait-timeout', '2m', '--json'], cli);
  let runId: string | undefined;
  await eventually('the run exists', async () => (runId = await runIdByKey(metaUrl(), key)) !== undefined, 30_000);
  return { first, runId: runId as string };
}

function joiner(runId: string, cli: Record<string, string>, concurrency: number): RunnerProcess {
  return runner(['migrate', '--join', runId, '--lease', LEASE, '--concurrency', String(concurrency), '--wait-timeout', '2m', '--json'], cli);
}

async function runnerId(runId: string, r: RunnerProcess): Promise<string> {
  let id: string | undefined;
  await eventually(
    `runner ${r.pid} is registered in the run`,
    async () => (id = await runnerIdOf(metaUrl(), runId, r.pid)) !== undefined,
    30_000,
  );
  return id as string;
}

describe('a runner killed with -9', () => {
  it('loses its claims when the lease runs out; the others finish them, exit 0, and history shows it lost', async () => {
    const migration = '00007_kill_marks';
    const cli = await cliWith({ [`${migration}.sql`]: slowMigration('kill_marks', 1.5) });
    const { first: victim, runId } = await createRun(`kill-${env.id}`, cli, 3);
    const others = [joiner(runId, cli, 3), joiner(runId, cli, 3)];
    const victimId = await runnerId(runId, victim);
    const otherIds = await Promise.all(others.map((r) => runnerId(runId, r)));

    // Mid-run: some tenants done, the victim holding claims.
    await eventually(
      'the victim holds claims after the run has made progress',
      async () => {
        const counts = await runTenantCounts(metaUrl(), runId);
        return (counts.migrated ?? 0) >= 3 && (await claimedBy(metaUrl(), runId, victimId)).length > 0;
      },
      60_000,
    );
    // What it holds as it dies (it may just finish one of them: those are told apart by who recorded them).
    const holding = await claimedBy(metaUrl(), runId, victimId);
    victim.child.kill('SIGKILL');
    const killed = await exitWithin(victim, 10_000);
    expect(killed.signal).toBe('SIGKILL');

    // The others finish within the lease plus the work left (at most 30 tenants x 1.5 s over 6 slots) and a margin.
    const results = await Promise.all(others.map((r) => exitWithin(r, 45_000, `runner ${r.pid} after the kill`)));
    results.forEach((r, i) => expect(r.code, `runner ${i}: ${r.stderr}`).toBe(0));
    for (const [i, r] of results.entries()) {
      const doc = parseRunnerJson(r, `runner ${i}`);
      expect(doc).toMatchObject({ runId, status: 'succeeded' });
      expect((doc.counts.migrated ?? 0) + (doc.counts['up-to-date'] ?? 0)).toBe(TENANTS);
    }

    const run = await new MigrationRuns(rt.metaPool).get(runId);
    expect(run.status).toBe('succeeded');
    expect(run.runners.find((u) => u.id === victimId)?.status).toBe('lost');
    for (const id of otherIds) expect(run.runners.find((u) => u.id === id)?.status).toBe('finished');
    for (const t of run.tenants) expect(['migrated', 'up-to-date'], t.slug ?? t.tenantId).toContain(t.status);
    // The tenants it held and did not finish: claimed a second time, finished by a live runner.
    const orphaned = run.tenants.filter((t) => holding.includes(t.tenantId) && t.runnerId !== victimId).map((t) => t.tenantId);
    expect(orphaned.length, 'tenants the killed runner held when it died').toBeGreaterThan(0);
    for (const t of run.tenants.filter((x) => orphaned.includes(x.tenantId))) {
      expect(t.claims, t.slug ?? t.tenantId).toBe(2);
      expect(otherIds, t.slug ?? t.tenantId).toContain(t.runnerId);
    }
    // Whatever it recorded, it recorded before it died, on its one claim.
    for (const t of run.tenants.filter((x) => x.runnerId === victimId)) expect(t.claims, t.slug ?? t.tenantId).toBe(1);

    // The CLI's history says the same.
    const history = await runCli(['migrate', 'history', runId, '--json'], cli);
    expect(history.code, history.stderr).toBe(0);
    const shown = JSON.parse(history.stdout) as {
      status: string;
      runners: { id: string; pid: number; status: string }[];
      tenants: { tenantId: string; status: string; runnerId: string | null; claims: number }[];
    };
    expect(shown.status).toBe('succeeded');
    expect(shown.runners.find((u) => u.pid === victim.pid)).toMatchObject({ id: victimId, status: 'lost' });
    for (const t of shown.tenants.filter((x) => orphaned.includes(x.tenantId))) {
      expect(t).toMatchObject({ claims: 2 });
      expect(otherIds).toContain(t.runnerId);
    }
    await expectAppliedOnce(migration, 'kill_marks');
  });
});

describe('a runner that stalls past its lease', () => {
  it('loses its tenants to another runner, which waits on the migration lock: each migration is applied once', async () => {
    const migration = '00008_stall_marks';
    const cli = await cliWith({ [`${migration}.sql`]: slowMigration('stall_marks', 1) });
    const { first: stalled, runId } = await createRun(`stall-${env.id}`, cli, 3);
    const stalledId = await runnerId(runId, stalled);
    await eventually('the first runner holds claims', async () => (await claimedBy(metaUrl(), runId, stalledId)).length > 0, 30_000);
    // Its migrations are under way (holding the tenants' migration locks) when it stops.
    await eventually(
      'one of its migrations is running',
      async () => {
        const held = await claimedBy(metaUrl(), runId, stalledId);
        const dbs = tenants.filter((t) => held.includes(t.id)).map((t) => t.dbName);
        return env.admin(async (c) => {
          const { rowCount } = await c.query(
            "SELECT 1 FROM pg_stat_activity WHERE datname = ANY($1) AND query LIKE '%pg_sleep%' AND state = 'active'",
            [dbs],
          );
          return (rowCount ?? 0) > 0;
        });
      },
      30_000,
    );
    stalled.child.kill('SIGSTOP');
    const held = await claimedBy(metaUrl(), runId, stalledId);
    expect(held.length).toBeGreaterThan(0);

    const other = joiner(runId, cli, 3);
    const otherId = await runnerId(runId, other);
    // Once the lease has run out, the other runner claims them, and waits for the tenant's migration lock.
    await eventually(
      'the other runner has reclaimed the stalled runner’s tenants',
      async () => {
        const rows = await metaQuery<{ n: number }>(
          metaUrl(),
          'SELECT count(*)::int AS n FROM migration_run_tenants WHERE run_id = $1 AND tenant_id = ANY($2) AND claims >= 2',
          [runId, held],
        );
        return rows[0]?.n === held.length;
      },
      30_000,
    );
    const heldDbs = tenants.filter((t) => held.includes(t.id)).map((t) => t.dbName);
    await eventually(
      'the other runner waits on a migration lock',
      () =>
        env.admin(async (c) => {
          const { rowCount } = await c.query(
            `SELECT 1 FROM pg_stat_activity WHERE datname = ANY($1) AND wait_event_type = 'Lock' AND application_name LIKE 'metapus:migrate:%'`,
            [heldDbs],
          );
          return (rowCount ?? 0) > 0;
        }),
      30_000,
    );
    stalled.child.kill('SIGCONT');

    const results = await Promise.all([stalled, other].map((r) => exitWithin(r, 60_000)));
    results.forEach((r, i) => expect(r.code, `runner ${i}: ${r.stderr}`).toBe(0));
    const run = await new MigrationRuns(rt.metaPool).get(runId);
    expect(run.status).toBe('succeeded');
    for (const t of run.tenants) {
      expect(['migrated', 'up-to-date'], t.slug ?? t.tenantId).toContain(t.status);
      if (held.includes(t.tenantId)) expect(t.claims, t.slug ?? t.tenantId).toBeGreaterThanOrEqual(2);
    }
    expect(run.runners.map((u) => u.id).sort()).toEqual([stalledId, otherId].sort());
    await expectAppliedOnce(migration, 'stall_marks');
  });
});

describe('a runner that waits longer than --wait-timeout', () => {
  it('exits 1 with the run still running; the run ends when the runner holding the rest comes back', async () => {
    const migration = '00009_wait_marks';
    const cli = await cliWith({ [`${migration}.sql`]: slowMigration('wait_marks', 1) });
    const key = `wait-${env.id}`;
    // A long lease: nobody takes this runner's tenants while it is stopped.
    const holder = runner(['migrate', '--key', key, '--lease', '60s', '--concurrency', '3', '--wait-timeout', '2m', '--json'], cli);
    let runId: string | undefined;
    await eventually('the run exists', async () => (runId = await runIdByKey(metaUrl(), key)) !== undefined, 30_000);
    const holderId = await runnerId(runId as string, holder);
    await eventually('the holder has claims', async () => (await claimedBy(metaUrl(), runId as string, holderId)).length > 0, 30_000);
    holder.child.kill('SIGSTOP');
    const held = await claimedBy(metaUrl(), runId as string, holderId);

    const waiter = runner(['migrate', '--join', runId as string, '--concurrency', '6', '--wait-timeout', '3s', '--json'], cli);
    const waited = await exitWithin(waiter, 90_000);
    expect(waited.code, waited.stderr).toBe(1);
    const doc = parseRunnerJson(waited, 'the waiting runner');
    expect(doc).toMatchObject({ runId, status: 'running' });
    // It did what it could: every tenant but the ones held by the stopped runner.
    expect(doc.results.map((r) => r.tenantId).filter((id) => held.includes(id))).toEqual([]);
    expect(doc.results.every((r) => r.status === 'migrated')).toBe(true);
    expect(doc.results.length).toBe(TENANTS - held.length - (await finishedBy(runId as string, holderId)));
    const status = await new MigrationRuns(rt.metaPool).status(runId as string);
    expect(status.summary.status).toBe('running');
    expect(status.runners.find((u) => u.pid === waiter.pid)?.status).toBe('timed-out');

    holder.child.kill('SIGCONT');
    const resumed = await exitWithin(holder, 60_000);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(parseRunnerJson(resumed, 'the holder')).toMatchObject({ runId, status: 'succeeded' });
    await expectAppliedOnce(migration, 'wait_marks');
  });
});

/** Tenants of a run this runner recorded. */
async function finishedBy(runId: string, runner: string): Promise<number> {
  const rows = await metaQuery<{ n: number }>(
    metaUrl(),
    `SELECT count(*)::int AS n FROM migration_run_tenants WHERE run_id = $1 AND finished_by = $2 AND status NOT IN ('pending', 'running')`,
    [runId, runner],
  );
  return rows[0]?.n ?? 0;
}

describe('the only runner killed with -9', () => {
  it('leaves the run abandoned; a runner that joins it later finishes it, taking over the dead claims', async () => {
    const migration = '00010_rejoin_marks';
    const cli = await cliWith({ [`${migration}.sql`]: slowMigration('rejoin_marks', 1) });
    const { first: lone, runId } = await createRun(`rejoin-${env.id}`, cli, 3);
    const loneId = await runnerId(runId, lone);
    await eventually(
      'the run has made progress and the runner holds claims',
      async () => {
        const counts = await runTenantCounts(metaUrl(), runId);
        return (counts.migrated ?? 0) >= 3 && (await claimedBy(metaUrl(), runId, loneId)).length > 0;
      },
      60_000,
    );
    const holding = await claimedBy(metaUrl(), runId, loneId);
    lone.child.kill('SIGKILL');
    expect((await exitWithin(lone, 10_000)).signal).toBe('SIGKILL');

    // Nobody runs it now: history shows it abandoned, its runner lost once the lease has run out.
    await eventually(
      'the dead runner shows as lost',
      async () => (await new MigrationRuns(rt.metaPool).status(runId)).runners.some((u) => u.id === loneId && u.status === 'lost'),
      30_000,
    );
    const shown = await new MigrationRuns(rt.metaPool).status(runId);
    expect(shown.summary.status).toBe('abandoned');

    const rescuer = joiner(runId, cli, 6);
    const result = await exitWithin(rescuer, 90_000);
    expect(result.code, result.stderr).toBe(0);
    expect(parseRunnerJson(result)).toMatchObject({ runId, joined: true, status: 'succeeded' });
    const run = await new MigrationRuns(rt.metaPool).get(runId);
    expect(run.status).toBe('succeeded');
    const rescuerId = run.runners.find((u) => u.pid === rescuer.pid)?.id;
    const orphaned = run.tenants.filter((t) => holding.includes(t.tenantId) && t.runnerId !== loneId);
    expect(orphaned.length).toBeGreaterThan(0);
    for (const t of orphaned) expect(t, t.slug ?? t.tenantId).toMatchObject({ claims: 2, runnerId: rescuerId });
    for (const t of run.tenants) expect(['migrated', 'up-to-date'], t.slug ?? t.tenantId).toContain(t.status);
    await expectAppliedOnce(migration, 'rejoin_marks');
  });
});

describe('the only runner interrupted (SIGINT)', () => {
  it('finishes what it runs, ends the run interrupted (exit 130) with the rest skipped; --resume completes it', async () => {
    const migration = '00011_interrupt_marks';
    const cli = await cliWith({ [`${migration}.sql`]: slowMigration('interrupt_marks', 1) });
    const { first: lone, runId } = await createRun(`interrupt-${env.id}`, cli, 3);
    const loneId = await runnerId(runId, lone);
    await eventually('the runner holds claims', async () => (await claimedBy(metaUrl(), runId, loneId)).length > 0, 30_000);
    const holding = await claimedBy(metaUrl(), runId, loneId);
    lone.child.kill('SIGINT');
    const result = await exitWithin(lone, 60_000);
    expect(result.code, result.stderr).toBe(130);
    expect(parseRunnerJson(result)).toMatchObject({ runId, status: 'interrupted' });

    const run = await new MigrationRuns(rt.metaPool).get(runId);
    expect(run.status).toBe('interrupted');
    expect(run.runners.find((u) => u.id === loneId)?.status).toBe('interrupted');
    // What it was running when interrupted it finished; nothing was started after.
    for (const t of run.tenants.filter((x) => holding.includes(x.tenantId))) expect(t.status, t.slug ?? t.tenantId).toBe('migrated');
    const skipped = run.tenants.filter((t) => t.status === 'skipped');
    expect(skipped.length).toBeGreaterThan(0);
    for (const t of skipped) {
      expect(t.error, t.slug ?? t.tenantId).toMatch(/not started/i);
      expect(await tableExists(tenants.find((x) => x.id === t.tenantId) as Tenant, rt.connections.tenant, 'interrupt_marks')).toBe(false);
    }

    const resumed = await runCli(['migrate', '--resume', runId, '--json'], cli);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(parseRunnerJson(resumed)).toMatchObject({ status: 'succeeded' });
    await expectAppliedOnce(migration, 'interrupt_marks');
  });
});
