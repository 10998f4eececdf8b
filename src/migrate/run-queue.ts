/**
 * A fleet run as a work queue shared by its runners, kept in the meta
 * database (the run journal itself: migration_run_tenants).
 *
 * A claim is one transaction that locks the run row, so the runners of one
 * run claim one at a time and the per-server count of tenants in flight is
 * exact across them; the rows are then taken FOR UPDATE SKIP LOCKED, so a
 * claimer never waits behind a row another transaction is writing (an
 * outcome, a heartbeat). A claimed row is `running` with a lease that the
 * runner's heartbeat extends; once a lease has run out (the runner was
 * killed, or lost the meta database) the row is claimable again. The run's
 * stop rule (run-policy.ts) is applied in the same transaction, and the run
 * is ended there by whichever runner finds nothing left to run.
 */
import os from 'node:os';
import crypto from 'node:crypto';
import type pg from 'pg';
import { withClient, withTransaction } from '../pg/with-helpers.js';
import type { RunStatus } from './migration-runs.js';
import { decide, type RunDecision, type RunPolicy, type WaveCounts } from './run-policy.js';

/** stop_reason of a run whose last runner was interrupted (SIGINT / abort). */
export const INTERRUPTED = 'interrupted';

export interface QueueProgress {
  total: number;
  /** Tenants with an outcome (decided at the start included). */
  done: number;
  failed: number;
  /** Tenants claimed by a runner now. */
  running: number;
}

export type ClaimResult =
  | { kind: 'claimed'; tenantIds: string[] }
  /** stopReason: the run stopped starting tenants and waits for the running ones. */
  | { kind: 'wait'; reason: string; stopReason: string | null }
  | {
      kind: 'ended';
      status: RunStatus;
      stopReason: string | null;
      /** Tenants this call marked skipped (never started, or their runner was lost), with the reason. */
      skipped: { tenantId: string; reason: string }[];
    };

export interface RunnerInput {
  actor: string;
  concurrency: number;
  leaseMs: number;
}

/** The run-wide policy as the run's options record it (see recordedOptions). */
export function policyOf(options: Record<string, unknown>): RunPolicy & { perServer: number } {
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  return {
    failFast: options.failFast === true,
    maxFailures: num(options.maxFailures) ?? Infinity,
    maxFailureRate: num(options.maxFailureRate) ?? null,
    minSample: num(options.minSample) ?? 1,
    perServer: num(options.perHost) ?? UNLIMITED,
  };
}

/** No per-server limit: each runner's concurrency bounds it. */
const UNLIMITED = 2 ** 31 - 1;

/** Whether the run's rule needs the counts of every outcome (a stop rule, or more than one wave). */
function needsCounts(policy: RunPolicy, options: Record<string, unknown>): boolean {
  const waves = typeof options.waves === 'number' ? options.waves : 1;
  return policy.failFast || policy.maxFailures !== Infinity || policy.maxFailureRate !== null || waves > 1;
}

const WAVES_SQL = `SELECT wave,
    count(*) FILTER (WHERE status = 'pending')::int AS pending,
    count(*) FILTER (WHERE status = 'running' AND lease_until > now())::int AS running,
    count(*) FILTER (WHERE status = 'running' AND lease_until <= now())::int AS expired,
    count(*) FILTER (WHERE status IN ('migrated', 'up-to-date'))::int AS succeeded,
    count(*) FILTER (WHERE status = 'failed')::int AS failed,
    count(*) FILTER (WHERE status = 'skipped')::int AS skipped
  FROM migration_run_tenants WHERE run_id = $1 GROUP BY wave`;

/** Claimable rows of a wave in queue order (the partial index on pending/running rows serves it). */
const CLAIMABLE = `run_id = $1 AND wave = $2 AND status IN ('pending', 'running') AND (status = 'pending' OR lease_until <= now())`;

// Start and finish times are clock_timestamp(), not now() (the transaction's start): a claim that waited
// for the run's lock while an outcome was committed starts after that outcome in history too.
const TAKE_SQL = `UPDATE migration_run_tenants t
     SET status = 'running', claimed_by = $3, lease_until = now() + $4 * interval '1 millisecond',
         claims = t.claims + 1, started_at = clock_timestamp()
   WHERE t.run_id = $1 AND t.tenant_id = ANY($2::uuid[])
  RETURNING t.tenant_id, t.position`;

/**
 * Under a per-server limit: the servers with claimable rows in the wave (a
 * loose scan of the per-server queue index: one probe per server, not per
 * row), each server's room (the limit less every runner's live claims
 * there), and from each server with room its first rows in queue order;
 * then the first `want` of those in queue order.
 */
const PICK_PER_SERVER_SQL = `WITH RECURSIVE servers AS (
    (SELECT server_name FROM migration_run_tenants
      WHERE run_id = $1 AND wave = $2 AND status IN ('pending', 'running') AND server_name IS NOT NULL
      ORDER BY server_name LIMIT 1)
    UNION ALL
    SELECT (SELECT t.server_name FROM migration_run_tenants t
             WHERE t.run_id = $1 AND t.wave = $2 AND t.status IN ('pending', 'running') AND t.server_name > s.server_name
             ORDER BY t.server_name LIMIT 1)
      FROM servers s WHERE s.server_name IS NOT NULL
  ), flying AS (
    SELECT server_name, count(*)::int AS n FROM migration_run_tenants
     WHERE run_id = $1 AND status = 'running' AND lease_until > now() GROUP BY server_name
  ), room AS (
    SELECT s.server_name, least($3 - coalesce(f.n, 0), $4) AS room
      FROM servers s LEFT JOIN flying f ON f.server_name = s.server_name
     WHERE s.server_name IS NOT NULL
  ), candidates AS (
    SELECT c.tenant_id, c.position FROM room r CROSS JOIN LATERAL (
      SELECT t.tenant_id, t.position FROM migration_run_tenants t
       WHERE t.run_id = $1 AND t.wave = $2 AND t.server_name = r.server_name AND t.status IN ('pending', 'running')
         AND (t.status = 'pending' OR t.lease_until <= now())
       ORDER BY t.position LIMIT r.room FOR UPDATE SKIP LOCKED) c
     WHERE r.room > 0
  )
  SELECT tenant_id FROM candidates ORDER BY position LIMIT $4`;

export class RunQueue {
  constructor(
    private readonly pool: pg.Pool,
    readonly runId: string,
  ) {}

  /** Registers a runner of this run; returns its id. */
  async register(runner: RunnerInput): Promise<string> {
    const id = crypto.randomUUID();
    await this.pool.query(
      `INSERT INTO migration_run_runners (id, run_id, host, pid, actor, concurrency, lease_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [id, this.runId, os.hostname(), process.pid, runner.actor, runner.concurrency, Math.round(runner.leaseMs)],
    );
    return id;
  }

  /** Claims up to `want` tenants for the runner (0: only look, and end the run if nothing is left). */
  claim(runnerId: string, want: number, leaseMs: number): Promise<ClaimResult> {
    return withClient(this.pool, (client) => withTransaction(client, () => this.step(client, runnerId, want, leaseMs)));
  }

  /** Looks at the run without claiming; ends it when nothing is left to run. */
  look(): Promise<ClaimResult> {
    return withClient(this.pool, (client) => withTransaction(client, () => this.step(client, null, 0, 0)));
  }

  /** Extends the runner's live claims by leaseMs and records that it is alive. */
  async heartbeat(runnerId: string, leaseMs: number): Promise<void> {
    await this.pool.query(
      `WITH runner AS (UPDATE migration_run_runners SET heartbeat_at = now() WHERE id = $1)
       UPDATE migration_run_tenants SET lease_until = now() + $3 * interval '1 millisecond'
        WHERE run_id = $2 AND claimed_by = $1 AND status = 'running'`,
      [runnerId, this.runId, Math.round(leaseMs)],
    );
  }

  /**
   * The runner leaves the run. An interrupted runner that was the run's
   * last live one stops the run (`interrupted`): nobody else would start the
   * tenants left, and the run ends here once nothing runs.
   */
  leave(runnerId: string, how: 'finished' | 'interrupted' | 'timed-out'): Promise<ClaimResult> {
    return withClient(this.pool, (client) =>
      withTransaction(client, async () => {
        await client.query('SELECT 1 FROM migration_runs WHERE id = $1 FOR UPDATE', [this.runId]);
        await client.query(`UPDATE migration_run_runners SET status = $2, finished_at = now() WHERE id = $1`, [runnerId, how]);
        if (how === 'interrupted') {
          const others = await client.query(
            `SELECT 1 FROM migration_run_runners WHERE run_id = $1 AND id <> $2 AND status = 'running'
                AND heartbeat_at + lease_ms * interval '1 millisecond' > now() LIMIT 1`,
            [this.runId, runnerId],
          );
          if (others.rowCount === 0) {
            await client.query(`UPDATE migration_runs SET stop_reason = coalesce(stop_reason, $2) WHERE id = $1`, [this.runId, INTERRUPTED]);
          }
        }
        return this.step(client, runnerId, 0, 0);
      }),
    );
  }

  /** The run's counts now (a read without locks; runners poll it for their progress lines). */
  async progress(): Promise<QueueProgress> {
    const { rows } = await this.pool.query<WaveCounts & { wave: number | null }>(WAVES_SQL, [this.runId]);
    return progressOf(rows);
  }

  /**
   * One look at the run under its row lock: stop, end, wait, or claim. The
   * counts of every outcome (a scan of the run's rows) are read only when
   * the run has a stop rule or waves to apply; otherwise the queue's partial
   * index answers, so a claim stays cheap in a run of 20,000 tenants.
   */
  private async step(client: pg.ClientBase, runnerId: string | null, want: number, leaseMs: number): Promise<ClaimResult> {
    const run = await client.query<{ status: RunStatus; stop_reason: string | null; options: Record<string, unknown> }>(
      'SELECT status, stop_reason, options FROM migration_runs WHERE id = $1 FOR UPDATE',
      [this.runId],
    );
    const row = run.rows[0];
    if (!row) throw new Error(`run ${this.runId} is gone from the meta database`);
    if (row.status !== 'running') return { kind: 'ended', status: row.status, stopReason: row.stop_reason, skipped: [] };

    const policy = policyOf(row.options);
    let stopReason = row.stop_reason;
    if (stopReason === null) {
      const decision = needsCounts(policy, row.options) ? await this.decideByCounts(client, policy) : await this.openWave(client);
      if (decision.kind === 'end') return this.end(client, null);
      if (decision.kind === 'wait') return { kind: 'wait', reason: decision.reason, stopReason: null };
      if (decision.kind === 'stop') {
        stopReason = decision.reason;
        await client.query('UPDATE migration_runs SET stop_reason = $2 WHERE id = $1', [this.runId, stopReason]);
      } else {
        if (want <= 0 || runnerId === null) return { kind: 'wait', reason: 'no free slot', stopReason: null };
        const tenantIds = await this.take(client, decision.wave, policy.perServer, want, runnerId, leaseMs);
        if (tenantIds.length > 0) return { kind: 'claimed', tenantIds };
        const running = await this.runningCount(client);
        if (running === 0 && !(await this.hasClaimable(client, decision.wave))) return this.end(client, null);
        const limit = policy.perServer < UNLIMITED ? `--per-server ${policy.perServer} reached on every server with tenants left; ` : '';
        return { kind: 'wait', reason: `${limit}${running} tenant(s) running`, stopReason: null };
      }
    }
    const running = await this.runningCount(client);
    if (running > 0) return { kind: 'wait', reason: `stopping: ${running} tenant(s) still running`, stopReason };
    return this.end(client, stopReason);
  }

  /** The rule with every count: stop rules, canaries, wave gates. */
  private async decideByCounts(client: pg.ClientBase, policy: RunPolicy): Promise<RunDecision> {
    const { rows } = await client.query<WaveCounts & { wave: number | null }>(WAVES_SQL, [this.runId]);
    const queued = rows.filter((w): w is WaveCounts => w.wave !== null);
    const canaries = queued.some((w) => w.wave === 0 && w.failed > 0) ? await this.failedCanaries(client) : [];
    return decide(queued, policy, canaries);
  }

  /** Without stop rules or waves: claim from the lowest wave with work; end when there is none. */
  private async openWave(client: pg.ClientBase): Promise<RunDecision> {
    const { rows } = await client.query<{ wave: number }>(
      `SELECT wave FROM migration_run_tenants WHERE run_id = $1 AND wave IS NOT NULL AND status IN ('pending', 'running')
        ORDER BY wave, position LIMIT 1`,
      [this.runId],
    );
    return rows[0] ? { kind: 'claim', wave: rows[0].wave } : { kind: 'end' };
  }

  /**
   * Takes up to `want` claimable rows of the wave in queue order, skipping
   * servers with perServer tenants in flight (every runner's live claims
   * and the rows taken here count), FOR UPDATE SKIP LOCKED.
   */
  private async take(
    client: pg.ClientBase,
    wave: number,
    perServer: number,
    want: number,
    runnerId: string,
    leaseMs: number,
  ): Promise<string[]> {
    const picked: string[] = [];
    if (perServer >= UNLIMITED) {
      const { rows } = await client.query<{ tenant_id: string }>(
        `SELECT tenant_id FROM migration_run_tenants WHERE ${CLAIMABLE} ORDER BY position LIMIT $3 FOR UPDATE SKIP LOCKED`,
        [this.runId, wave, want],
      );
      picked.push(...rows.map((r) => r.tenant_id));
    } else {
      const { rows } = await client.query<{ tenant_id: string }>(PICK_PER_SERVER_SQL, [this.runId, wave, perServer, want]);
      picked.push(...rows.map((r) => r.tenant_id));
      if (picked.length < want) {
        // A row without a server (a run recorded before servers, its tenant since deleted) counts against none.
        const { rows: serverless } = await client.query<{ tenant_id: string }>(
          `SELECT tenant_id FROM migration_run_tenants WHERE ${CLAIMABLE} AND server_name IS NULL
            ORDER BY position LIMIT $3 FOR UPDATE SKIP LOCKED`,
          [this.runId, wave, want - picked.length],
        );
        picked.push(...serverless.map((r) => r.tenant_id));
      }
    }
    if (picked.length === 0) return [];
    const { rows } = await client.query<{ tenant_id: string; position: number }>(TAKE_SQL, [this.runId, picked, runnerId, Math.round(leaseMs)]);
    return rows.sort((a, b) => a.position - b.position).map((r) => r.tenant_id);
  }

  private async runningCount(client: pg.ClientBase): Promise<number> {
    const { rows } = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM migration_run_tenants WHERE run_id = $1 AND status = 'running' AND lease_until > now()`,
      [this.runId],
    );
    return rows[0]?.n ?? 0;
  }

  private async hasClaimable(client: pg.ClientBase, wave: number): Promise<boolean> {
    const { rowCount } = await client.query(`SELECT 1 FROM migration_run_tenants WHERE ${CLAIMABLE} LIMIT 1`, [this.runId, wave]);
    return (rowCount ?? 0) > 0;
  }

  /** Ends the run: what was never started (or lost its runner) is skipped with the reason; the status follows the outcomes. */
  private async end(client: pg.ClientBase, stopReason: string | null): Promise<ClaimResult> {
    const why = stopReason ?? 'the run ended';
    const { rows: skipped } = await client.query<{ tenant_id: string; error: string }>(
      `UPDATE migration_run_tenants
          SET status = 'skipped', finished_at = clock_timestamp(), lease_until = NULL,
              error = CASE WHEN status = 'running' THEN 'not finished: its runner was lost (' || $2 || ')'
                           ELSE 'not started: ' || $2 END
        WHERE run_id = $1 AND status IN ('pending', 'running')
        RETURNING tenant_id, error`,
      [this.runId, why],
    );
    const interrupted = stopReason === INTERRUPTED && skipped.length > 0;
    const { rows } = await client.query<{ status: RunStatus }>(
      `UPDATE migration_runs
          SET status = CASE WHEN $2 THEN 'interrupted'
                            WHEN EXISTS (SELECT 1 FROM migration_run_tenants
                                          WHERE run_id = $1 AND status NOT IN ('migrated', 'up-to-date')) THEN 'failed'
                            ELSE 'succeeded' END,
              finished_at = now()
        WHERE id = $1 RETURNING status`,
      [this.runId, interrupted],
    );
    return {
      kind: 'ended',
      status: rows[0]?.status ?? 'failed',
      stopReason,
      skipped: skipped.map((r) => ({ tenantId: r.tenant_id, reason: r.error })),
    };
  }

  private async failedCanaries(client: pg.ClientBase): Promise<string[]> {
    const { rows } = await client.query<{ slug: string }>(
      `SELECT coalesce(tn.slug, t.tenant_id::text) AS slug FROM migration_run_tenants t LEFT JOIN tenants tn ON tn.id = t.tenant_id
        WHERE t.run_id = $1 AND t.wave = 0 AND t.status = 'failed' ORDER BY t.position`,
      [this.runId],
    );
    return rows.map((r) => r.slug);
  }
}

function progressOf(waves: readonly (WaveCounts & { wave: number | null })[]): QueueProgress {
  let total = 0;
  let done = 0;
  let failed = 0;
  let running = 0;
  for (const w of waves) {
    total += w.pending + w.running + w.expired + w.succeeded + w.failed + w.skipped;
    done += w.succeeded + w.failed + w.skipped;
    failed += w.failed;
    running += w.running;
  }
  return { total, done, failed, running };
}
