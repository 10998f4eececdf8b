/**
 * Every fleet migration run, recorded in the meta database (tables
 * `migration_runs` / `migration_run_tenants`): who, when, what was targeted,
 * and one outcome per tenant. Rows start `pending` and get their outcome as
 * each tenant finishes, so a run killed midway still shows what is left and
 * `--resume` can pick it up. Writes are batched: starting a run over 1,000
 * tenants is one statement.
 *
 * As shown (summaries, details): a down run's `migrated` rows read
 * `reverted`, and a row still `pending` in a run that is no longer running
 * reads `unrecorded`: the run ended (or died, or lost the meta database)
 * without writing that tenant's outcome, so `pending` would be a guess.
 */
import crypto from 'node:crypto';
import pg from 'pg';
import { InvalidStateError, RunNotFoundError, UsageError } from '../errors.js';
import { isUuid } from '../tenants/tenant.js';
import { applicationName } from '../pg/application-name.js';
import type { MigrationDirection } from '../schema/migration-types.js';

export type RunStatus = 'running' | 'succeeded' | 'failed' | 'interrupted';
/** As shown: a `running` run whose process is gone (its liveness lock is free) is `abandoned`. */
export type ShownRunStatus = RunStatus | 'abandoned';

/** Class id of the liveness lock a live run holds in the meta database (two-key advisory lock). */
const RUN_LOCK_CLASS = 0x4d54;
/** `running`: claimed by a runner (with a lease); the rest as before. */
export type RunTenantStatus = 'pending' | 'running' | 'migrated' | 'up-to-date' | 'failed' | 'skipped';
export const RUN_TENANT_STATUSES: readonly RunTenantStatus[] = ['pending', 'running', 'migrated', 'up-to-date', 'failed', 'skipped'];
/** A tenant row as shown: see the file comment for `reverted` and `unrecorded`. */
export type ShownRunTenantStatus = RunTenantStatus | 'reverted' | 'unrecorded';
export const SHOWN_RUN_TENANT_STATUSES: readonly ShownRunTenantStatus[] = [
  'pending',
  'running',
  'migrated',
  'reverted',
  'up-to-date',
  'failed',
  'skipped',
  'unrecorded',
];

export interface RunTenantRecord {
  tenantId: string;
  status: RunTenantStatus;
  from: string | null;
  to: string | null;
  applied: readonly string[];
  durationMs: number | null;
  /** The error message (failed) or the reason (skipped). */
  error: string | null;
}

/**
 * A runner of a run, as shown: `lost` is a runner that stopped sending
 * heartbeats without leaving (killed, or cut off from the meta database).
 */
export type RunnerStatus = 'running' | 'finished' | 'interrupted' | 'timed-out' | 'lost';

export interface RunRunner {
  id: string;
  host: string;
  pid: number;
  actor: string;
  concurrency: number;
  leaseMs: number;
  status: RunnerStatus;
  startedAt: Date;
  heartbeatAt: Date;
  finishedAt: Date | null;
  /** Tenants whose outcome this runner recorded. */
  done: number;
  /** Tenants it holds now (claimed, lease not run out). */
  holding: number;
}

export interface MigrationRunSummary {
  id: string;
  /** Runners given this key share the run (`--key`). */
  runKey: string | null;
  /** Why the run stopped starting tenants (canary failed, failure rate, fail-fast, interrupted). */
  stopReason: string | null;
  actor: string;
  direction: MigrationDirection;
  target: Record<string, unknown>;
  options: Record<string, unknown>;
  status: ShownRunStatus;
  startedAt: Date;
  finishedAt: Date | null;
  total: number;
  counts: Record<ShownRunTenantStatus, number>;
}

export interface MigrationRunDetail extends MigrationRunSummary {
  runners: RunRunner[];
  tenants: (Omit<RunTenantRecord, 'status'> & {
    status: ShownRunTenantStatus;
    slug: string | null;
    /** 0: canary; 1, 2, ...: waves; null: decided when the run started. */
    wave: number | null;
    /** Times a runner claimed it (more than 1: a lease ran out and another runner took over). */
    claims: number;
    /** The runner holding it (running) or the one that recorded its outcome. */
    runnerId: string | null;
    startedAt: Date | null;
    finishedAt: Date | null;
  })[];
}

/** A tenant row of a new run: its record, and for a queued one its place. */
export interface StartRunTenant extends RunTenantRecord {
  /** Order in which runners claim (and history lists). */
  position?: number;
  /** 0: canary; 1, 2, ...: waves; null or absent: decided at the start, never queued. */
  wave?: number | null;
  /** The server the tenant is on (the per-server limit counts by it). */
  serverName?: string | null;
}

export interface StartRunInput {
  actor: string;
  direction: MigrationDirection;
  target: Record<string, unknown>;
  options: Record<string, unknown>;
  /** Runners given the same key share the run: when a run has it already, that run is returned (created: false). */
  runKey?: string;
  tenants: readonly StartRunTenant[];
}

/** A run is `succeeded` only when every tenant ended migrated or up to date. */
export function runStatusOf(statuses: Iterable<RunTenantStatus>, interrupted: boolean): RunStatus {
  if (interrupted) return 'interrupted';
  for (const s of statuses) if (s !== 'migrated' && s !== 'up-to-date') return 'failed';
  return 'succeeded';
}

const RECORDSET = `jsonb_to_recordset($2::jsonb) AS r(tenant_id uuid, status text, from_version text, to_version text,
  applied jsonb, duration_ms integer, error text)`;

function recordJson(r: RunTenantRecord): Record<string, unknown> {
  return {
    tenant_id: r.tenantId,
    status: r.status,
    from_version: r.from,
    to_version: r.to,
    applied: r.applied,
    duration_ms: r.durationMs === null ? null : Math.round(r.durationMs),
    error: r.error,
  };
}

function toJson(records: readonly RunTenantRecord[]): string {
  return JSON.stringify(records.map(recordJson));
}

interface RunRow {
  id: string;
  actor: string;
  direction: MigrationDirection;
  target: Record<string, unknown>;
  options: Record<string, unknown>;
  status: RunStatus;
  started_at: Date;
  finished_at: Date | null;
  run_key: string | null;
  stop_reason: string | null;
  counts: Partial<Record<RunTenantStatus, number>> | null;
  alive: boolean;
}

interface RunnerRow {
  id: string;
  host: string;
  pid: number;
  actor: string;
  concurrency: number;
  lease_ms: number;
  status: RunnerStatus;
  started_at: Date;
  heartbeat_at: Date;
  finished_at: Date | null;
  stale: boolean;
  done: number;
  holding: number;
}

const RUNNERS_SQL = `SELECT u.*, (u.status = 'running' AND u.heartbeat_at + u.lease_ms * interval '1 millisecond' < now()) AS stale,
    (SELECT count(*)::int FROM migration_run_tenants t WHERE t.run_id = u.run_id AND t.finished_by = u.id
        AND t.status NOT IN ('pending', 'running')) AS done,
    (SELECT count(*)::int FROM migration_run_tenants t WHERE t.run_id = u.run_id AND t.claimed_by = u.id
        AND t.status = 'running' AND t.lease_until > now()) AS holding
   FROM migration_run_runners u WHERE u.run_id = $1 ORDER BY u.started_at, u.id`;

function runnerFromRow(row: RunnerRow): RunRunner {
  return {
    id: row.id,
    host: row.host,
    pid: row.pid,
    actor: row.actor,
    concurrency: row.concurrency,
    leaseMs: row.lease_ms,
    status: row.stale ? 'lost' : row.status,
    startedAt: row.started_at,
    heartbeatAt: row.heartbeat_at,
    finishedAt: row.finished_at,
    done: row.done,
    holding: row.holding,
  };
}

const COUNTS = `(SELECT jsonb_object_agg(status, n) FROM (
    SELECT status, count(*)::int AS n FROM migration_run_tenants t WHERE t.run_id = r.id GROUP BY status) c) AS counts,
  EXISTS (SELECT 1 FROM pg_locks l
           WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 AND l.classid = ${RUN_LOCK_CLASS}
             AND l.objid = hashtext(r.id::text)::oid
             AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())) AS alive`;

function shownStatus(row: RunRow): ShownRunStatus {
  return row.status === 'running' && !row.alive ? 'abandoned' : row.status;
}

/** A stored tenant status as shown for its run. */
function shownTenantStatus(status: RunTenantStatus, run: { direction: MigrationDirection; status: ShownRunStatus }): ShownRunTenantStatus {
  if ((status === 'pending' || status === 'running') && run.status !== 'running') return 'unrecorded';
  if (status === 'migrated' && run.direction === 'down') return 'reverted';
  return status;
}

function summaryFromRow(row: RunRow): MigrationRunSummary {
  const run = { direction: row.direction, status: shownStatus(row) };
  const counts = Object.fromEntries(SHOWN_RUN_TENANT_STATUSES.map((s) => [s, 0])) as Record<ShownRunTenantStatus, number>;
  for (const s of RUN_TENANT_STATUSES) counts[shownTenantStatus(s, run)] += row.counts?.[s] ?? 0;
  return {
    id: row.id,
    runKey: row.run_key,
    stopReason: row.stop_reason,
    actor: row.actor,
    direction: row.direction,
    target: row.target,
    options: row.options,
    status: run.status,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    total: Object.values(counts).reduce((a, b) => a + b, 0),
    counts,
  };
}

export class MigrationRuns {
  constructor(private readonly pool: pg.Pool) {}

  /**
   * Records a new run and all its tenants (in one statement). With a run
   * key another runner already used, nothing is written and that run's id is
   * returned with created: false.
   */
  async start(input: StartRunInput): Promise<{ id: string; created: boolean }> {
    const id = crypto.randomUUID();
    const tenants = JSON.stringify(
      input.tenants.map((t, index) => ({
        ...recordJson(t),
        position: t.position ?? index + 1,
        wave: t.wave ?? null,
        server_name: t.serverName ?? null,
      })),
    );
    const { rows } = await this.pool.query<{ id: string }>(
      `WITH run AS (
         INSERT INTO migration_runs (id, actor, direction, target, options, run_key) VALUES ($1, $3, $4, $5, $6, $7)
         ON CONFLICT (run_key) DO NOTHING RETURNING id
       ), queued AS (
         INSERT INTO migration_run_tenants (run_id, tenant_id, status, from_version, to_version, applied, duration_ms, error,
                                            finished_at, position, wave, server_name)
         SELECT run.id, r.tenant_id, r.status, r.from_version, r.to_version,
                ARRAY(SELECT jsonb_array_elements_text(r.applied)), r.duration_ms, r.error,
                CASE WHEN r.status <> 'pending' THEN now() END, r.position, r.wave, r.server_name
           FROM run, jsonb_to_recordset($2::jsonb) AS r(tenant_id uuid, status text, from_version text, to_version text,
                applied jsonb, duration_ms integer, error text, position integer, wave integer, server_name text)
       )
       SELECT id FROM run`,
      [id, tenants, input.actor, input.direction, input.target, input.options, input.runKey ?? null],
    );
    if (rows[0]) return { id, created: true };
    const existing = await this.pool.query<{ id: string }>('SELECT id FROM migration_runs WHERE run_key = $1', [input.runKey]);
    if (!existing.rows[0]) throw new InvalidStateError(`run key "${input.runKey}" was taken and released meanwhile; try again`);
    return { id: existing.rows[0].id, created: false };
  }

  /**
   * Holds the run's liveness lock until release() is called (or the process
   * dies), so others can tell a live run from an abandoned one. Each runner
   * of the run holds it (shared). It uses its
   * own connection (same settings as the pool), never one of the pool's.
   */
  async holdLiveness(runId: string): Promise<{ release(): Promise<void> }> {
    const { max: _max, min: _min, idleTimeoutMillis: _idle, ...settings } = this.pool.options;
    const client = new pg.Client({ ...settings, application_name: applicationName('migrate', 'run') });
    client.on('error', () => undefined);
    try {
      await client.connect();
      // Shared: every runner of the run holds it; the run is alive while any does.
      await client.query('SELECT pg_advisory_lock_shared($1, hashtext($2))', [RUN_LOCK_CLASS, runId]);
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    return {
      async release() {
        await client.end().catch(() => undefined);
      },
    };
  }

  /** A run to resume: must exist and must not be running in another process. */
  async getResumable(ref: string): Promise<MigrationRunDetail> {
    const run = await this.get(ref);
    if (run.status === 'running') {
      throw new InvalidStateError(`run ${run.id} is still running`, {
        hint: 'wait for it to finish (or stop it), then resume it',
        details: { runId: run.id },
      });
    }
    return run;
  }

  /**
   * Tenants' outcomes as runner `runnerId` found them (one statement). Only
   * the runner holding a tenant's claim records its outcome: a runner whose
   * lease ran out and whose tenant another runner took over is no longer
   * the holder, and its late outcome is dropped (the holder records what it
   * finds under the tenant's lock, and the audit trail keeps who applied
   * what). So a row stays `running`, and counts against its server, for as
   * long as its holder works on it. The holder may replace its own outcome,
   * including a `skipped` the run's end gave it while it was cut off.
   */
  async finishTenants(runId: string, records: readonly RunTenantRecord[], runnerId: string): Promise<void> {
    if (records.length === 0) return;
    await this.pool.query(
      `UPDATE migration_run_tenants t
          SET status = r.status, from_version = r.from_version, to_version = r.to_version,
              applied = ARRAY(SELECT jsonb_array_elements_text(r.applied)), duration_ms = r.duration_ms,
              error = r.error, finished_at = clock_timestamp(), finished_by = $3, lease_until = NULL
         FROM ${RECORDSET}
        WHERE t.run_id = $1 AND t.tenant_id = r.tenant_id AND t.claimed_by = $3`,
      [runId, toJson(records), runnerId],
    );
  }

  async list(limit = 20): Promise<MigrationRunSummary[]> {
    const { rows } = await this.pool.query<RunRow>(
      `SELECT r.*, ${COUNTS} FROM (SELECT * FROM migration_runs ORDER BY started_at DESC, id LIMIT $1) r
        ORDER BY r.started_at DESC, r.id`,
      [limit],
    );
    return rows.map(summaryFromRow);
  }

  /**
   * Runs that have not ended (status `running`: live, or `abandoned` when no
   * runner holds them any more), oldest first, each with how many runners are
   * alive (heartbeat within its lease) and how many were lost. One statement.
   */
  async unfinished(): Promise<(MigrationRunSummary & { runnersAlive: number; runnersLost: number })[]> {
    const { rows } = await this.pool.query<RunRow & { runners_alive: number; runners_lost: number }>(
      `SELECT r.*, ${COUNTS},
              (SELECT count(*)::int FROM migration_run_runners u WHERE u.run_id = r.id AND u.status = 'running'
                  AND u.heartbeat_at + u.lease_ms * interval '1 millisecond' >= now()) AS runners_alive,
              (SELECT count(*)::int FROM migration_run_runners u WHERE u.run_id = r.id AND u.status = 'running'
                  AND u.heartbeat_at + u.lease_ms * interval '1 millisecond' < now()) AS runners_lost
         FROM migration_runs r WHERE r.status = 'running' ORDER BY r.started_at, r.id`,
    );
    return rows.map((row) => ({ ...summaryFromRow(row), runnersAlive: row.runners_alive, runnersLost: row.runners_lost }));
  }

  /** A run by id, unique id prefix (6+ hex digits) or `last`; throws RunNotFoundError. */
  async get(ref: string): Promise<MigrationRunDetail> {
    const { summary, runners } = await this.status(ref);
    const tenants = await this.pool.query<{
      tenant_id: string;
      slug: string | null;
      status: RunTenantStatus;
      from_version: string | null;
      to_version: string | null;
      applied: string[];
      duration_ms: number | null;
      error: string | null;
      wave: number | null;
      claims: number;
      runner_id: string | null;
      started_at: Date | null;
      finished_at: Date | null;
    }>(
      `SELECT t.*, CASE WHEN t.status = 'running' THEN t.claimed_by ELSE t.finished_by END AS runner_id, tn.slug
         FROM migration_run_tenants t LEFT JOIN tenants tn ON tn.id = t.tenant_id
        WHERE t.run_id = $1 ORDER BY t.position NULLS FIRST, tn.created_at, tn.slug`,
      [summary.id],
    );
    return {
      ...summary,
      runners,
      tenants: tenants.rows.map((t) => ({
        tenantId: t.tenant_id,
        slug: t.slug,
        status: shownTenantStatus(t.status, summary),
        from: t.from_version,
        to: t.to_version,
        applied: t.applied,
        durationMs: t.duration_ms,
        error: t.error,
        wave: t.wave,
        claims: t.claims,
        runnerId: t.runner_id,
        startedAt: t.started_at,
        finishedAt: t.finished_at,
      })),
    };
  }

  /** A run's counts and runners, without its tenant rows (cheap enough to poll: `tenant migrate status --watch`). */
  async status(ref: string): Promise<{ summary: MigrationRunSummary; runners: RunRunner[] }> {
    const id = await this.resolveId(ref);
    const { rows } = await this.pool.query<RunRow>(`SELECT r.*, ${COUNTS} FROM migration_runs r WHERE r.id = $1`, [id]);
    const row = rows[0];
    if (!row) throw new RunNotFoundError(ref);
    const runners = await this.pool.query<RunnerRow>(RUNNERS_SQL, [id]);
    return { summary: summaryFromRow(row), runners: runners.rows.map(runnerFromRow) };
  }

  private async resolveId(ref: string): Promise<string> {
    const value = ref.trim().toLowerCase();
    if (isUuid(value)) return value;
    if (value === 'last' || value === 'latest') {
      const { rows } = await this.pool.query<{ id: string }>('SELECT id FROM migration_runs ORDER BY started_at DESC, id LIMIT 1');
      if (!rows[0]) throw new RunNotFoundError(ref);
      return rows[0].id;
    }
    if (!/^[0-9a-f-]{6,35}$/.test(value)) throw new RunNotFoundError(ref);
    const { rows } = await this.pool.query<{ id: string }>(
      "SELECT id FROM migration_runs WHERE id::text LIKE $1 || '%' ORDER BY started_at DESC LIMIT 2",
      [value],
    );
    if (rows.length > 1) throw new UsageError(`run id prefix "${ref}" is ambiguous; give more characters`);
    if (!rows[0]) throw new RunNotFoundError(ref);
    return rows[0].id;
  }
}
