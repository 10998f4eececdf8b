/**
 * A fleet run shared by several runners: one ~200 ms migration
 * (`SELECT pg_sleep(0.2)` and a small CREATE TABLE) over BENCH_FLEET_TENANTS
 * (300) registered, empty tenant databases, run by
 *   - 1 runner:  one `tenant migrate --key K1` process;
 *   - 3 runners: three `tenant migrate --key K3` processes started at once
 *                (the first to arrive creates the run, the other two join it),
 * every runner at the same concurrency (BENCH_FLEET_CONCURRENCY, 4), next to
 * the raw bound: `psql -f` of the same SQL (in one transaction, as the
 * migrator runs it) per database, fanned out by `xargs -P` at the same total
 * concurrency (4 and 12). Everything runs on the same cluster in one run.
 *
 * The migrations folder holds only the bench's file (TENANT_MIGRATIONS_DIR),
 * so what is timed is the queue and the per-tenant work, not the project's
 * schema. No --per-server limit is set (its default: none beyond each
 * runner's --concurrency), so three runners may have three times as many
 * tenants in flight on the one server.
 *
 * Wall times are process times (node start, runtime, meta database, the
 * run's bookkeeping, waiting for the last runner) from the first spawn to
 * the last exit. Databases are created once and reset (public schema
 * dropped and recreated, meta rows cleared, a CHECKPOINT) before each timed
 * pass. Knobs: BENCH_FLEET_TENANTS (300), BENCH_FLEET_RUNS (3; about 7
 * minutes in all on 2 CPUs; 0 skips the runs), BENCH_FLEET_CONCURRENCY (4,
 * per runner), BENCH_FLEET_SLEEP_MS (200), BENCH_FLEET_CLAIM_TENANTS (20,000:
 * the claim cost below).
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { withDatabase } from '../../src/connection-url.js';
import { runWorkQueue } from '../../src/migrate/work-queue.js';
import { MigrationRuns } from '../../src/migrate/migration-runs.js';
import { RunQueue } from '../../src/migrate/run-queue.js';
import { openRuntime } from '../../src/runtime/runtime.js';
import { loadMigrationFiles } from '../../src/schema/migration-files.js';
import { createEmptyDatabases, registerTenants } from '../support/fleet-fixtures.js';
import { findClientBinary, median, printTable, startBenchServer, type BenchServer } from './bench-support.js';

const N = Number(process.env.BENCH_FLEET_TENANTS ?? 300);
const RUNS = Number(process.env.BENCH_FLEET_RUNS ?? 3);
const CONCURRENCY = Number(process.env.BENCH_FLEET_CONCURRENCY ?? 4);
const SLEEP_MS = Number(process.env.BENCH_FLEET_SLEEP_MS ?? 200);
const RUNNERS = 3;
const DURABILITY_OFF = { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' };
const BIN = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'bin', 'tenant');

/** What `tenant migrate --json` prints, as far as the bench reads it. */
interface RunnerDoc {
  runId: string | null;
  runnerId: string | null;
  joined: boolean;
  status: string;
  counts: Record<string, number>;
  results: { status: string }[];
}

const MIGRATION = (sleepMs: number) => `-- The fleet bench's one migration: ~${sleepMs} ms of server time and a small DDL.
-- migrate:up
SELECT pg_sleep(${(sleepMs / 1000).toFixed(3)});
CREATE TABLE fleet_bench (id bigint PRIMARY KEY, note text NOT NULL DEFAULT '');
-- migrate:down
DROP TABLE fleet_bench;
`;

/** A migrations folder with the bench's one file, and the raw script running its up section in one transaction. */
async function writeFiles(): Promise<{ dir: string; migrations: string; script: string }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'metapus-bench-fleet-'));
  const migrations = path.join(dir, 'migrations');
  await fs.mkdir(migrations);
  await fs.writeFile(path.join(migrations, '00001_fleet_bench.sql'), MIGRATION(SLEEP_MS));
  const [file] = await loadMigrationFiles(migrations);
  if (!file) throw new Error('the bench migration did not load');
  const script = path.join(dir, 'raw.sql');
  await fs.writeFile(script, ['\\set ON_ERROR_STOP 1', 'BEGIN;', file.up, 'COMMIT;', ''].join('\n'));
  return { dir, migrations, script };
}

async function pool<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  await runWorkQueue(items, { concurrency, perKey: concurrency, keyOf: () => 'one' }, fn);
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await fn();
  return (performance.now() - started) / 1000;
}

/** Empties the databases and the tenants' meta rows again (not timed) and checkpoints, so every pass starts alike. */
async function reset(server: BenchServer, metaPool: pg.Pool, databases: readonly string[], ids: readonly string[]): Promise<void> {
  await pool(databases, 8, async (db) => {
    const client = new pg.Client({ connectionString: withDatabase(server.adminUrl, db) });
    await client.connect();
    try {
      await client.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public AUTHORIZATION pg_database_owner');
    } finally {
      await client.end();
    }
  });
  await metaPool.query("UPDATE tenants SET schema_version = NULL, status = 'active' WHERE id = ANY($1::uuid[])", [ids]);
  await metaPool.query('DELETE FROM tenant_migrations WHERE tenant_id = ANY($1::uuid[])', [ids]);
  await server.admin((c) => c.query('CHECKPOINT'));
}

/** One `tenant migrate` process; resolves with its parsed --json document. */
function runner(env: Record<string, string>, args: string[]): Promise<RunnerDoc> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'migrate', ...args, '--json'], {
      env: { ...process.env, ...env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`tenant migrate ${args.join(' ')} exited ${code}: ${stderr.trim() || stdout.slice(0, 500)}`));
      try {
        resolve(JSON.parse(stdout) as RunnerDoc);
      } catch {
        reject(new Error(`tenant migrate ${args.join(' ')} printed no JSON document: ${stdout.slice(0, 500)}`));
      }
    });
  });
}

/**
 * `runners` processes on one run (same --key, started together), each at
 * CONCURRENCY. Checks that they shared one run that migrated every tenant
 * and returns how many tenants each one migrated.
 */
async function fleetPass(env: Record<string, string>, runners: number, key: string): Promise<number[]> {
  const args = ['--key', key, '--concurrency', String(CONCURRENCY)];
  const docs = await Promise.all(Array.from({ length: runners }, () => runner(env, args)));
  const runIds = new Set(docs.map((d) => d.runId));
  if (runIds.size !== 1) throw new Error(`runners with one --key reported ${runIds.size} runs: ${[...runIds].join(', ')}`);
  if (docs.filter((d) => !d.joined).length !== 1) throw new Error(`expected one runner to start the run and the rest to join`);
  for (const doc of docs) {
    if (doc.status !== 'succeeded' || doc.counts.migrated !== N)
      throw new Error(`runner ${doc.runnerId}: run ${doc.status}, counts ${JSON.stringify(doc.counts)}`);
  }
  const mine = docs.map((d) => d.results.filter((r) => r.status === 'migrated').length);
  const total = mine.reduce((a, b) => a + b, 0);
  if (total !== N) throw new Error(`runners migrated ${total} tenants between them (${mine.join('/')}), expected ${N}`);
  return mine;
}

/** `xargs -P <parallel> psql ... -f raw.sql -d <db>`, one psql per database. */
async function rawPass(psqlBin: string, server: BenchServer, script: string, databases: readonly string[], parallel: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn(
      'xargs',
      [
        '-P',
        String(parallel),
        '-n',
        '1',
        psqlBin,
        '-X',
        '-q',
        '-h',
        server.host,
        '-p',
        String(server.port),
        '-U',
        server.appUser,
        '-f',
        script,
        '-d',
      ],
      {
        // The password goes through the environment, never the command line.
        env: { ...process.env, PGPASSWORD: server.appPassword, PGSSLMODE: 'disable' },
        stdio: ['pipe', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`xargs psql exited ${code}: ${stderr.trim()}`))));
    child.stdin.end(`${databases.join('\n')}\n`);
  });
}

async function fleetVersusRaw(server: BenchServer): Promise<void> {
  const files = await writeFiles();
  const { config, env, prefix } = server.config({ TENANT_MIGRATIONS_DIR: files.migrations });
  const rt = await openRuntime(config);
  const psqlBin = await findClientBinary('psql');
  try {
    const databases = Array.from({ length: N }, (_, i) => `${prefix}t_${String(i).padStart(4, '0')}`);
    const setupStarted = performance.now();
    await pool(databases, 8, (db) => server.admin((c) => createEmptyDatabases(c, [db], server.appUser)));
    const tenants = await registerTenants(
      rt.connections.metaUrl,
      rt.connections.tenant,
      databases.map((dbName, i) => ({ slug: `fleet-${String(i).padStart(4, '0')}`, dbName })),
    );
    const ids = tenants.map((t) => t.id);
    console.log(
      `(setup: ${N} databases in ${((performance.now() - setupStarted) / 1000).toFixed(1)}s; psql: ${psqlBin ?? 'not found, raw bound skipped'}; ${os.availableParallelism()} CPUs, load average ${os.loadavg()[0]?.toFixed(1)} before the start)`,
    );

    const one: number[] = [];
    const many: number[] = [];
    const rawOne: number[] = [];
    const rawMany: number[] = [];
    const splits: string[] = [];
    let fresh = true;
    const pass = async (fn: () => Promise<void>): Promise<number> => {
      if (!fresh) await reset(server, rt.metaPool, databases, ids);
      fresh = false;
      return timed(fn);
    };
    const tag = crypto.randomBytes(3).toString('hex');
    for (let run = 0; run < RUNS; run++) {
      one.push(await pass(async () => void (await fleetPass(env, 1, `bench-${tag}-${run}-1`))));
      let split: number[] = [];
      many.push(await pass(async () => void (split = await fleetPass(env, RUNNERS, `bench-${tag}-${run}-${RUNNERS}`))));
      splits.push(split.join('/'));
      // Each tenant's migration applied once: one bookkeeping row per tenant in the meta mirror.
      const { rows } = await rt.metaPool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM tenant_migrations WHERE tenant_id = ANY($1::uuid[])',
        [ids],
      );
      if (rows[0]?.n !== N) throw new Error(`after ${RUNNERS} runners: ${rows[0]?.n} bookkeeping rows for ${N} tenants`);
      if (psqlBin) {
        rawOne.push(await pass(() => rawPass(psqlBin, server, files.script, databases, CONCURRENCY)));
        rawMany.push(await pass(() => rawPass(psqlBin, server, files.script, databases, CONCURRENCY * RUNNERS)));
      }
    }

    const ideal = (parallel: number) => (Math.ceil(N / parallel) * SLEEP_MS) / 1000;
    const row = (label: string, parallel: number, times: number[], raw: number[]) => {
      const m = median(times);
      return [
        label,
        parallel,
        m,
        Math.min(...times),
        Math.max(...times),
        N / m,
        raw.length > 0 ? `${(m / median(raw)).toFixed(2)}x` : '-',
        ideal(parallel),
      ];
    };
    const rows = [
      row('1 runner: tenant migrate --key', CONCURRENCY, one, rawOne),
      row(`${RUNNERS} runners: same --key (1 starts, ${RUNNERS - 1} join)`, CONCURRENCY * RUNNERS, many, rawMany),
    ];
    if (psqlBin) {
      rows.push(row(`raw: psql -f via xargs -P ${CONCURRENCY}`, CONCURRENCY, rawOne, rawOne));
      rows.push(row(`raw: psql -f via xargs -P ${CONCURRENCY * RUNNERS}`, CONCURRENCY * RUNNERS, rawMany, rawMany));
    }
    printTable(
      `fleet run of one ~${SLEEP_MS} ms migration over ${N} tenants, --concurrency ${CONCURRENCY} per runner; median of ${RUNS} runs; ${process.env.BENCH_DATABASE_URL ? 'BENCH_DATABASE_URL server' : 'embedded server, durability off'}`,
      ['path', 'in flight', 'median s', 'min s', 'max s', 'tenants/s', 'vs raw same in flight', 'sleep-only floor s'],
      rows,
    );
    const speedUp = median(one) / median(many);
    const rawSpeedUp = psqlBin ? median(rawOne) / median(rawMany) : NaN;
    printTable(
      `speed-up of ${RUNNERS} runners over 1 (ideal ${RUNNERS}x)`,
      ['what', 'value'],
      [
        [`runners: 1 runner / ${RUNNERS} runners`, `${speedUp.toFixed(2)}x`],
        [`raw: xargs -P ${CONCURRENCY} / xargs -P ${CONCURRENCY * RUNNERS}`, psqlBin ? `${rawSpeedUp.toFixed(2)}x` : '-'],
        [`tenants migrated per runner, each ${RUNNERS}-runner pass`, splits.join(', ')],
      ],
    );
  } finally {
    await rt.close();
    await server.dropPrefix(prefix);
    await fs.rm(files.dir, { recursive: true, force: true });
  }
}

/**
 * What one claim costs in a large run (BENCH_FLEET_CLAIM_TENANTS queued rows,
 * 20,000 by default; no tenant databases needed): the run row's lock, the
 * rule, and taking 8 rows, timed over 60 claims (each claimed batch is
 * recorded done before the next). Without a stop rule the queue's partial
 * index answers; a stop rule (here --max-failure-rate) also counts every
 * outcome of the run; --per-server picks rows in batches skipping full
 * servers. The raw bound is the bare take: one UPDATE ... FOR UPDATE SKIP
 * LOCKED of 8 pending rows, with no rule and no lock on the run.
 */
async function claimCost(server: BenchServer): Promise<void> {
  const size = Number(process.env.BENCH_FLEET_CLAIM_TENANTS ?? 20_000);
  const { config } = server.config();
  const rt = await openRuntime(config);
  try {
    const tenants = await registerTenants(
      rt.connections.metaUrl,
      rt.connections.tenant,
      Array.from({ length: size }, (_, i) => ({ slug: `claim-${i}`, dbName: `claim_${i}` })),
    );
    const runs = new MigrationRuns(rt.metaPool);
    const rows: (string | number)[][] = [];
    const start = async (options: Record<string, unknown>) =>
      (
        await runs.start({
          actor: 'bench',
          direction: 'up',
          target: {},
          options,
          tenants: tenants.map((t, i) => ({
            tenantId: t.id,
            status: 'pending' as const,
            from: null,
            to: null,
            applied: [],
            durationMs: null,
            error: null,
            position: i + 1,
            wave: 1,
            serverName: t.serverName,
          })),
        })
      ).id;
    const done = (tenantId: string) => ({
      tenantId,
      status: 'migrated' as const,
      from: null,
      to: null,
      applied: [],
      durationMs: 1,
      error: null,
    });
    let raw = NaN;
    {
      const id = await start({});
      const times: number[] = [];
      for (let i = 0; i < 60; i++) {
        times.push(
          await timed(async () => {
            await rt.metaPool.query(
              `UPDATE migration_run_tenants SET status = 'migrated' WHERE run_id = $1 AND tenant_id IN (
                 SELECT tenant_id FROM migration_run_tenants WHERE run_id = $1 AND wave = 1 AND status = 'pending'
                  ORDER BY position LIMIT 8 FOR UPDATE SKIP LOCKED)`,
              [id],
            );
          }),
        );
      }
      raw = median(times) * 1000;
    }
    for (const [label, options] of [
      ['no stop rule', {}],
      ['--max-failure-rate 5', { maxFailureRate: 5, minSample: 10 }],
      ['--per-server 4', { perHost: 4 }],
    ] as const) {
      const id = await start(options);
      const queue = new RunQueue(rt.metaPool, id);
      const runner = await queue.register({ actor: 'bench', concurrency: 8, leaseMs: 60_000 });
      const times: number[] = [];
      for (let i = 0; i < 60; i++) {
        let claimed: string[] = [];
        times.push(
          await timed(async () => {
            const result = await queue.claim(runner, 8, 60_000);
            if (result.kind === 'claimed') claimed = result.tenantIds;
          }),
        );
        if (claimed.length === 0) throw new Error(`claim bench (${label}): nothing claimed`);
        await runs.finishTenants(id, claimed.map(done), runner);
      }
      const ms = median(times) * 1000;
      rows.push([label, ms.toFixed(2), (ms / raw).toFixed(1) + 'x']);
    }
    rows.push(['raw: UPDATE ... SKIP LOCKED of 8 rows', raw.toFixed(2), '1.0x']);
    printTable(`one claim of 8 tenants in a run of ${size} queued tenants; median of 60`, ['claim', 'ms', 'vs raw'], rows);
  } finally {
    await rt.close();
  }
}

export async function run(): Promise<void> {
  if (!Number.isInteger(N) || N < 1) throw new Error('BENCH_FLEET_TENANTS must be a positive integer');
  const server = await startBenchServer(DURABILITY_OFF);
  try {
    if (RUNS > 0) await fleetVersusRaw(server);
    await claimCost(server);
  } finally {
    await server.stop();
  }
}
