/**
 * Fleet runners as real processes (the built `bin/tenant`), for the
 * distributed-run tests: start a `tenant migrate` runner and keep its output,
 * find its runner row by pid, wait for a run by key, sample the migrations in
 * flight on each server (pg_stat_activity by application_name), and build the
 * test migrations (slow, failing in one database, failing where a marker
 * table exists).
 */
import type { ChildProcess } from 'node:child_process';
import pg from 'pg';
import { startCli, type CliResult } from './run-cli.js';

/** A `tenant ...` subprocess whose output is kept; `done` resolves when it has exited (with the signal that ended it, if any). */
export interface RunnerProcess {
  child: ChildProcess;
  pid: number;
  args: string[];
  /** What it has written so far. */
  output(): { stdout: string; stderr: string };
  done: Promise<CliResult & { signal: NodeJS.Signals | null }>;
}

export function startRunner(args: string[], env: Record<string, string>): RunnerProcess {
  const child = startCli(args, env);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<CliResult & { signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  if (child.pid === undefined) throw new Error(`could not start tenant ${args.join(' ')}`);
  return { child, pid: child.pid, args, output: () => ({ stdout, stderr }), done };
}

/** Resolves with the runner's result, or rejects after timeoutMs (a liveness bound, not a timing assertion). */
export async function exitWithin(runner: RunnerProcess, timeoutMs: number, what = `tenant ${runner.args.join(' ')}`) {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const { stdout, stderr } = runner.output();
      reject(new Error(`${what} (pid ${runner.pid}) did not exit within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([runner.done, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Kills every runner still alive (test cleanup): SIGKILL to each of our own children by pid. */
export function killRunners(runners: readonly RunnerProcess[]): void {
  for (const r of runners) {
    if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
  }
}

/** The outcome a runner printed with --json (the fields these tests read). */
export interface RunnerJson {
  runId: string | null;
  runnerId?: string | null;
  joined?: boolean;
  status: string;
  stopReason: string | null;
  counts: Record<string, number>;
  results: {
    tenantId: string;
    slug: string;
    status: string;
    applied: string[];
    error: { code: string; message: string } | null;
    reason?: string | null;
  }[];
}

export function parseRunnerJson(result: CliResult, what = 'runner'): RunnerJson {
  try {
    return JSON.parse(result.stdout) as RunnerJson;
  } catch {
    throw new Error(`${what} printed no JSON (exit ${String(result.code)})\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  }
}

/** A meta-database query helper: one short-lived client per call. */
export async function metaQuery<R extends pg.QueryResultRow>(metaUrl: string, sql: string, params: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: metaUrl });
  await client.connect();
  try {
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** The id of the run started with this key, once a runner has created it. */
export async function runIdByKey(metaUrl: string, key: string): Promise<string | undefined> {
  const rows = await metaQuery<{ id: string }>(metaUrl, 'SELECT id FROM migration_runs WHERE run_key = $1', [key]);
  return rows[0]?.id;
}

/** The newest run started after `since` (for runs started without a key). */
export async function runStartedAfter(metaUrl: string, since: Date): Promise<string | undefined> {
  const rows = await metaQuery<{ id: string }>(
    metaUrl,
    'SELECT id FROM migration_runs WHERE started_at >= $1 ORDER BY started_at DESC, id DESC LIMIT 1',
    [since],
  );
  return rows[0]?.id;
}

/** The runner row a process registered in a run (by its pid). */
export async function runnerIdOf(metaUrl: string, runId: string, pid: number): Promise<string | undefined> {
  const rows = await metaQuery<{ id: string }>(metaUrl, 'SELECT id FROM migration_run_runners WHERE run_id = $1 AND pid = $2', [runId, pid]);
  return rows[0]?.id;
}

/** Tenant rows of a run claimed by this runner and still `running` (its claims in hand). */
export async function claimedBy(metaUrl: string, runId: string, runnerId: string): Promise<string[]> {
  const rows = await metaQuery<{ tenant_id: string }>(
    metaUrl,
    `SELECT tenant_id FROM migration_run_tenants WHERE run_id = $1 AND claimed_by = $2 AND status = 'running' ORDER BY tenant_id`,
    [runId, runnerId],
  );
  return rows.map((r) => r.tenant_id);
}

/** Tenant rows of a run by stored status. */
export async function runTenantCounts(metaUrl: string, runId: string): Promise<Record<string, number>> {
  const rows = await metaQuery<{ status: string; n: number }>(
    metaUrl,
    'SELECT status, count(*)::int AS n FROM migration_run_tenants WHERE run_id = $1 GROUP BY status',
    [runId],
  );
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

/**
 * Audit entries that applied this migration, per tenant id (`migrate.applied`,
 * or `migrate.recovered` for a tenant that was migration_failed): a tenant
 * whose migration ran twice would have two.
 */
export async function appliedAudits(metaUrl: string, migration: string): Promise<Map<string, number>> {
  const rows = await metaQuery<{ tenant_id: string; n: number }>(
    metaUrl,
    `SELECT tenant_id, count(*)::int AS n FROM tenant_audit
      WHERE action IN ('migrate.applied', 'migrate.recovered') AND details->'steps' ? $1
      GROUP BY tenant_id`,
    [migration],
  );
  return new Map(rows.map((r) => [r.tenant_id, r.n]));
}

/** `-- migrate:up` text that creates `table` and sleeps; down drops it. */
export function slowMigration(table: string, seconds: number): string {
  return `-- migrate:up
CREATE TABLE ${table} (id int);
SELECT pg_sleep(${seconds});
-- migrate:down
DROP TABLE ${table};
`;
}

/** Creates `table`, then raises only in the database named (a bad migration for one tenant). */
export function failingInDatabase(table: string, database: string, message = 'this tenant refuses the migration'): string {
  return `-- migrate:up
CREATE TABLE ${table} (id int);
DO $$ BEGIN
  IF current_database() = '${database}' THEN RAISE EXCEPTION '${message}'; END IF;
END $$;
-- migrate:down
DROP TABLE ${table};
`;
}

/**
 * Creates `table`, then raises in every database that has a `marker` table:
 * the test marks the tenants that fail, and "fixes" them by dropping the
 * marker, without changing the file (its checksum stays).
 */
export function failingWhereMarked(table: string, marker: string, seconds = 0): string {
  return `-- migrate:up
CREATE TABLE ${table} (id int);
SELECT pg_sleep(${seconds});
DO $$ BEGIN
  IF to_regclass('public.${marker}') IS NOT NULL THEN RAISE EXCEPTION 'marked as failing (${marker})'; END IF;
END $$;
-- migrate:down
DROP TABLE ${table};
`;
}

/** What one server's sampler saw. */
export interface ServerActivity {
  /** Most tenant databases with a migration in flight at once. */
  peak: number;
  samples: number;
  /** Every (database, application_name) pair seen in flight. */
  seen: Map<string, Set<string>>;
}

// The run's own hold (metapus:migrate:run) sits in the meta database, which
// shares a server with tenants when the suite runs on one cluster (the PG 15 stage).
const IN_FLIGHT = `SELECT datname, application_name FROM pg_stat_activity
  WHERE application_name LIKE 'metapus:migrate:%' AND application_name <> 'metapus:migrate:run'
    AND datname IS NOT NULL
    AND (state = 'active' OR state LIKE 'idle in transaction%') AND pid <> pg_backend_pid()`;

/**
 * Samples pg_stat_activity on each server every `intervalMs` until stopped:
 * the tenant databases with a migration connection (application_name
 * `metapus:migrate:<slug>`) that is running a statement or inside a
 * transaction. Counted per database, so a migrator that uses two connections
 * for one tenant is still one migration in flight.
 */
export async function startActivitySampler(
  urls: Record<string, string>,
  intervalMs = 20,
): Promise<{ stop(): Promise<Record<string, ServerActivity>> }> {
  const clients = new Map<string, pg.Client>();
  for (const [name, url] of Object.entries(urls)) {
    const client = new pg.Client({ connectionString: url, application_name: 'metapus-test-sampler' });
    client.on('error', () => undefined);
    await client.connect();
    clients.set(name, client);
  }
  const activity: Record<string, ServerActivity> = {};
  for (const name of clients.keys()) activity[name] = { peak: 0, samples: 0, seen: new Map() };
  let running = true;
  const loops = [...clients].map(async ([name, client]) => {
    const a = activity[name] as ServerActivity;
    while (running) {
      const { rows } = await client.query<{ datname: string; application_name: string }>(IN_FLIGHT);
      const databases = new Set(rows.map((r) => r.datname));
      a.peak = Math.max(a.peak, databases.size);
      a.samples += 1;
      for (const r of rows) {
        const names = a.seen.get(r.datname) ?? new Set<string>();
        names.add(r.application_name);
        a.seen.set(r.datname, names);
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  });
  return {
    async stop() {
      running = false;
      try {
        await Promise.all(loops);
      } finally {
        await Promise.all([...clients.values()].map((c) => c.end()));
      }
      return activity;
    },
  };
}
