/**
 * What `tenant migrate [up]` and `tenant migrate down` share: the options
 * both accept (worded for each direction), the runner options only `up`
 * takes (join a run, leases, shards, canaries, waves, the failure brake),
 * their mapping onto the library's FleetMigrateOptions (names only: defaults
 * and the checks that combine options are the library's, see
 * resolveFleetOptions; a value is checked here only for its own shape), and
 * the run itself, rendered by migrate-view. The migrator is loaded only when
 * a command runs.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { parseDuration } from '../../duration.js';
import { EXIT, messageOf } from '../../errors.js';
import {
  DEFAULT_LEASE_MS,
  DEFAULT_MIN_SAMPLE,
  DEFAULT_RETRIES,
  DEFAULT_WAIT_TIMEOUT_MS,
  defaultConcurrency,
  type FleetMigrateDeps,
  type FleetMigrateOptions,
  type FleetOutcome,
  type FleetShard,
} from '../../migrate/fleet-types.js';
import type { Runtime } from '../../runtime/runtime.js';
import { adminAccess } from '../../pg/connection-settings.js';
import { isUuid, type TenantStatus } from '../../tenants/tenant.js';
import { hasControlCharacters } from '../../control-characters.js';
import { parseIntegerInRange } from '../../integer-range.js';
import { integerOption, repeatable } from '../options.js';
import type { Session } from '../session.js';

/** The options as commander parses them, for both directions. */
export interface FleetCliOptions {
  id?: string[];
  slug?: string[];
  status?: TenantStatus[];
  includeSuspended?: boolean;
  resume?: string;
  concurrency?: number;
  perServer?: number;
  /** The older name of --per-server (hidden, still accepted). */
  perHost?: number;
  verify?: boolean;
  failFast?: boolean;
  maxFailures?: number;
  dryRun?: boolean;
  to?: string;
  lockTimeout?: number;
  statementTimeout?: number;
  ifLocked?: 'wait' | 'skip';
  retries?: number;
  // Runner options (`migrate [up]` only).
  join?: string;
  key?: string;
  lease?: number;
  waitTimeout?: number;
  shard?: FleetShard;
  canary?: number | string[];
  maxFailureRate?: number;
  minSample?: number;
  wave?: number;
  // Reporting the run for batch-job monitoring.
  metricsFile?: string;
  pushgateway?: string;
}

/** Where the run's metrics go at the end (for batch-job monitoring). */
export interface FleetMetricsOutput {
  metricsFile?: string | undefined;
  pushgateway?: string | undefined;
}

function httpUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError('--pushgateway must be an http(s) URL, like http://pushgateway:9091');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError('--pushgateway must be an http(s) URL');
  return value;
}

function uuidList(value: string, previous: string[] = []): string[] {
  if (!isUuid(value)) throw new InvalidArgumentError('--id takes a tenant id (UUID); use --slug for slugs');
  return [...previous, value.toLowerCase()];
}

function duration(flag: string) {
  return (value: string): number => {
    const ms = value.trim() === '0' ? 0 : parseDuration(value);
    if (ms === undefined) throw new InvalidArgumentError(`${flag} must be a duration like 500ms, 30s or 5m (0: no limit)`);
    return ms;
  };
}

const SECOND = 1000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/**
 * A duration from min to max (ms). `zero`: what 0 means, when it is allowed.
 * The bounds keep values inside what timers and the journal's integer
 * columns hold.
 */
export function boundedDuration(flag: string, min: number, max: number, zero?: string) {
  const range = `from ${formatBound(min)} to ${formatBound(max)}`;
  const message = `${flag} must be a duration ${range}, like 30s or 10m${zero ? ` (0: ${zero})` : ''}`;
  return (value: string): number => {
    if (zero !== undefined && /^0+$/.test(value.trim())) return 0;
    const ms = parseDuration(value);
    if (ms === undefined || ms < min || ms > max) throw new InvalidArgumentError(message);
    return ms;
  };
}

function formatBound(ms: number): string {
  if (ms % DAY === 0) return `${ms / DAY}d`;
  if (ms % HOUR === 0) return `${ms / HOUR}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % SECOND === 0) return `${ms / SECOND}s`;
  return `${ms}ms`;
}

export const MAX_SHARDS = 10_000;

/** `--shard i/n`: the i-th of n shards, 1-based. */
export function shardOption(value: string): FleetShard {
  const match = /^\s*(\d{1,6})\s*\/\s*(\d{1,6})\s*$/.exec(value);
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (!match || index < 1 || count > MAX_SHARDS || index > count) {
    throw new InvalidArgumentError(`--shard must be i/n with 1 <= i <= n <= ${MAX_SHARDS}, like 2/4`);
  }
  return { index, count };
}

export const MAX_CANARY = 1_000_000;

/** `--canary 3` (the first 3 tenants with work to do) or `--canary acme,globex` (repeatable for slugs). */
export function canaryOption(value: string, previous?: number | string[]): number | string[] {
  const text = value.trim();
  const usage = `--canary takes a count from 1 to ${MAX_CANARY} or tenant slugs (acme,globex)`;
  if (/^\d+$/.test(text)) {
    const parsed = parseIntegerInRange('--canary', text, { min: 1, max: MAX_CANARY });
    if (!parsed.ok) throw new InvalidArgumentError(usage);
    if (previous !== undefined) throw new InvalidArgumentError(`${usage}, given once`);
    return parsed.value;
  }
  const slugs = text.split(',').map((s) => s.trim());
  if (slugs.some((s) => s === '' || /\s/.test(s) || hasControlCharacters(s))) throw new InvalidArgumentError(usage);
  if (typeof previous === 'number') throw new InvalidArgumentError(`${usage}, not both`);
  return [...(previous ?? []), ...slugs];
}

/** `--key`: what a CI system gives as a release or pipeline id (the library checks the same). */
export function keyOption(value: string): string {
  if (!/^[\x21-\x7e]{1,200}$/.test(value)) throw new InvalidArgumentError('--key takes 1 to 200 printable characters without spaces');
  return value;
}

/** `--max-failure-rate 5` or `5%` (decimals allowed), 0 to 100. */
export function failureRateOption(value: string): number {
  const match = /^\s*(\d{1,3}(?:\.\d{1,6})?)\s*%?\s*$/.exec(value);
  const rate = Number(match?.[1]);
  if (!match || rate > 100) throw new InvalidArgumentError('--max-failure-rate must be a percentage from 0 to 100, like 5 or 5%');
  return rate;
}

/** The options both directions accept, worded for each (so `migrate down --help` offers nothing down refuses). */
export function addFleetOptions(command: Command, direction: 'up' | 'down'): Command {
  const verb = direction === 'up' ? 'migrated' : 'reverted';
  return (
    command
      .option('--id <uuid>', 'only this tenant (repeatable)', uuidList)
      .option('--slug <slug>', 'only this tenant (repeatable)', repeatable)
      .option('--include-suspended', direction === 'up' ? 'also migrate suspended tenants' : 'also revert named tenants that are suspended')
      .option(
        '--resume <run>',
        `continue the tenants of an earlier ${direction === 'up' ? '' : 'down '}run that did not finish (run id, prefix or "last")`,
      )
      .option('--concurrency <n>', `tenants ${verb} at once (default: ${defaultConcurrency()})`, integerOption('--concurrency', 1, 1000))
      .option(
        '--per-server <n>',
        `tenants ${verb} at once on one database server${direction === 'up' ? ', across every runner of the run' : ''} (default: no limit beyond --concurrency)`,
        integerOption('--per-server', 1, 1000),
      )
      // The older name, before runners shared a run; kept working, no longer offered.
      .addOption(
        new Option('--per-host <n>')
          .hideHelp()
          .argParser(integerOption('--per-host', 1, 1000))
          .conflicts('perServer'),
      )
      .option('--fail-fast', 'start no more tenants after the first failure')
      .option('--max-failures <n>', 'start no more tenants after this many failures', integerOption('--max-failures', 1, 1_000_000))
      .option(
        '--retries <n>',
        `try a tenant again (with backoff) when its connection fails before any migration began (default: ${DEFAULT_RETRIES})`,
        integerOption('--retries', 0, 10),
      )
      .option('--dry-run', `list, per tenant, the migrations that would be ${direction === 'up' ? 'applied' : 'reverted'}; change nothing`)
      .option(
        '--lock-timeout <duration>',
        "wait this long for a tenant's migration lock and for DDL locks (default: 5m; 0: forever)",
        duration('--lock-timeout'),
      )
      .option('--statement-timeout <duration>', 'abort any migration statement running longer (default: none)', duration('--statement-timeout'))
      .addOption(
        new Option('--if-locked <mode>', 'when another migrator is on a tenant: wait for it (default), or skip the tenant').choices([
          'wait',
          'skip',
        ]),
      )
      .option(
        '--metrics-file <path>',
        "write the run's metrics in Prometheus text format to this file at the end (node_exporter textfile collector)",
      )
      .option('--pushgateway <url>', "push the run's metrics to this Prometheus Pushgateway at the end (job tenant_migrate)", httpUrl)
  );
}

/**
 * What `migrate [up]` alone takes: sharing a run between runners (processes,
 * machines), shards, and rollout safety. Down reverts named tenants, one
 * confirmed runner; it refuses these (migrate-down.ts).
 */
export function addRunnerOptions(command: Command): Command {
  return command
    .option('--join <run>', 'work on an open run another runner started (run id, unique prefix or "last"); its targets and options apply')
    .option('--key <key>', 'runners given the same key share one run: the first starts it, the others join it (e.g. a release id)', keyOption)
    .option(
      '--lease <duration>',
      `a claimed tenant stays this runner's this long without a heartbeat; a killed runner's tenants go to the others after it (default: ${formatBound(DEFAULT_LEASE_MS)})`,
      boundedDuration('--lease', SECOND, DAY),
    )
    .option(
      '--wait-timeout <duration>',
      `with nothing left to claim, wait this long for the other runners to end the run (default: ${formatBound(DEFAULT_WAIT_TIMEOUT_MS)}; 0: until it ends)`,
      boundedDuration('--wait-timeout', SECOND, 7 * DAY, 'until the run ends'),
    )
    .option(
      '--shard <i/n>',
      'only the i-th of n disjoint parts of the targets (by tenant id), for CI matrix jobs that share no run',
      shardOption,
    )
    .option('--canary <n|slugs>', 'migrate these first, alone (a count, or slugs: acme,globex); any failure ends the run', canaryOption)
    .option(
      '--max-failure-rate <pct>',
      'start no more tenants once more than this percentage of finished tenants failed (e.g. 5%)',
      failureRateOption,
    )
    .option(
      '--min-sample <k>',
      `tenants finished before --max-failure-rate applies (default: ${DEFAULT_MIN_SAMPLE})`,
      integerOption('--min-sample', 1, 1_000_000),
    )
    .option(
      '--wave <size>',
      'migrate in waves of this many tenants; a wave starts once the one before ended within the failure budget',
      integerOption('--wave', 1, 1_000_000),
    );
}

/** The parsed options under the library's names; what was not given stays unset. */
export function toFleetOptions(opts: FleetCliOptions, direction: 'up' | 'down'): Omit<FleetMigrateOptions, 'actor'> {
  const given = <K extends string, V>(key: K, value: V | undefined) => (value === undefined ? {} : ({ [key]: value } as Record<K, V>));
  return {
    direction,
    target: {
      ...given('ids', opts.id),
      ...given('slugs', opts.slug),
      ...given('statuses', opts.status),
      ...given('includeSuspended', opts.includeSuspended),
      ...given('resume', opts.resume),
    },
    ...given('to', opts.to),
    ...given('verify', opts.verify),
    ...given('failFast', opts.failFast),
    ...given('dryRun', opts.dryRun),
    ...given('concurrency', opts.concurrency),
    ...given('perHost', opts.perServer ?? opts.perHost),
    ...given('maxFailures', opts.maxFailures),
    ...given('ifLocked', opts.ifLocked),
    ...given('lockTimeoutMs', opts.lockTimeout),
    ...given('statementTimeoutMs', opts.statementTimeout),
    ...given('retries', opts.retries),
    ...given('join', opts.join),
    ...given('runKey', opts.key),
    ...given('leaseMs', opts.lease),
    ...given('waitTimeoutMs', opts.waitTimeout),
    ...given('shard', opts.shard),
    ...given('canary', opts.canary),
    ...given('maxFailureRate', opts.maxFailureRate),
    ...given('minSample', opts.minSample),
    ...given('waveSize', opts.wave),
  };
}

export function fleetDeps(runtime: Runtime): FleetMigrateDeps {
  return {
    registry: runtime.registry,
    metaPool: runtime.metaPool,
    credentials: runtime.connections.tenant,
    adminUrl: adminAccess(runtime.connections),
  };
}

/** Runs the fleet migration and renders it; returns the exit code. */
export async function runFleet(session: Session, options: Omit<FleetMigrateOptions, 'actor'>, output: FleetMetricsOutput = {}): Promise<number> {
  const { term, runtime, actor, signal } = session;
  const [{ migrateFleet }, { loadMigrationFiles }, { renderFleetEvent, renderFleetOutcome }] = await Promise.all([
    import('../../migrate/fleet-migrator.js'),
    import('../../schema/migration-files.js'),
    import('../migrate-view.js'),
  ]);
  const files = await loadMigrationFiles(runtime.config.migrationsDir);
  const direction = options.direction ?? 'up';
  const outcome = await migrateFleet(files, fleetDeps(runtime), {
    ...options,
    connectTimeoutMs: runtime.config.pool.connectTimeoutMs,
    actor,
    signal,
    onEvent: renderFleetEvent(term, direction, options.dryRun === true),
  });
  term.stopSpinner();
  renderFleetOutcome(term, outcome);
  const reported = await reportFleetMetrics(session, outcome, output);
  const code = fleetExitCode(outcome.status, signal?.aborted === true);
  return code === EXIT.ok && !reported ? EXIT.failed : code;
}

/**
 * Writes and/or pushes the run's metrics; a dry run writes none (it would
 * overwrite the last real run's). false when either failed (told on stderr):
 * a monitoring gap must not pass silently.
 */
async function reportFleetMetrics(session: Session, outcome: FleetOutcome, output: FleetMetricsOutput): Promise<boolean> {
  if (!output.metricsFile && !output.pushgateway) return true;
  const { term } = session;
  if (outcome.dryRun) {
    term.warn('a dry run writes no metrics (--metrics-file, --pushgateway)');
    return true;
  }
  const { fleetRunMetrics, pushMetrics, writeMetricsFile } = await import('../../metrics/fleet-metrics.js');
  const text = await fleetRunMetrics(outcome);
  let ok = true;
  for (const [target, send] of [
    [output.metricsFile, (to: string) => writeMetricsFile(to, text)],
    [output.pushgateway, (to: string) => pushMetrics(to, 'tenant_migrate', text)],
  ] as const) {
    if (!target) continue;
    try {
      await send(target);
    } catch (err) {
      ok = false;
      term.warn(messageOf(err));
    }
  }
  return ok;
}

/**
 * 0 only when the whole run succeeded; a run still going when this runner
 * stopped waiting (--wait-timeout) is not a success. A runner stopped by a
 * signal exits 130 unless the run succeeded anyway, also when other runners
 * carry the run on.
 */
export function fleetExitCode(status: FleetOutcome['status'], interrupted = false): number {
  if (status === 'succeeded') return EXIT.ok;
  return status === 'interrupted' || interrupted ? EXIT.interrupted : EXIT.failed;
}
