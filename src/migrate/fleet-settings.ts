/**
 * A fleet run's options, resolved once: every default is set here and every
 * check that needs no database is made here, so the CLI only parses, and the
 * plan, the tenant runs and the run record all read the same values.
 */
import os from 'node:os';
import { UsageError } from '../errors.js';
import { DEFAULT_LOCK_WAIT_MS } from '../schema/migration-lock.js';
import type { MigrationDirection } from '../schema/migration-types.js';
import type { FleetTarget } from './fleet-targets.js';
import { checkShard } from './fleet-shard.js';
import {
  DEFAULT_LEASE_MS,
  DEFAULT_MIN_SAMPLE,
  DEFAULT_RETRIES,
  DEFAULT_WAIT_TIMEOUT_MS,
  defaultConcurrency,
  type FleetMigrateOptions,
  type FleetShard,
} from './fleet-types.js';
import { DEFAULT_RECORD_RETRY_MS } from './run-recorder.js';

export interface FleetSettings {
  direction: MigrationDirection;
  target: FleetTarget;
  /** As given; a resumed run's `to` is filled in by the plan. */
  to: string | undefined;
  dryRun: boolean;
  verify: boolean;
  failFast: boolean;
  concurrency: number;
  /** Tenants in flight on one server across every runner of the run; null: only each runner's concurrency limits. */
  perHost: number | null;
  /** Infinity when not limited. */
  maxFailures: number;
  ifLocked: 'wait' | 'skip';
  lockTimeoutMs: number;
  statementTimeoutMs: number;
  retries: number;
  retryDelayMs: number | undefined;
  connectTimeoutMs: number | undefined;
  recordRetryMs: number;
  /** Run id, prefix or `last` to join (the run's own settings then apply; see joinSettings). */
  join: string | undefined;
  runKey: string | undefined;
  leaseMs: number;
  /** 0: forever. */
  waitTimeoutMs: number;
  shard: FleetShard | undefined;
  canary: number | readonly string[] | undefined;
  /** Percent; null when not limited. */
  maxFailureRate: number | null;
  minSample: number;
  /** null: one wave. */
  waveSize: number | null;
}

/** Options a joining runner may not set: they are the run's (target, direction, policy). */
const RUN_OPTIONS: readonly (keyof Omit<FleetMigrateOptions, 'actor'>)[] = [
  'target',
  'direction',
  'to',
  'dryRun',
  'verify',
  'perHost',
  'failFast',
  'maxFailures',
  'ifLocked',
  'lockTimeoutMs',
  'statementTimeoutMs',
  'runKey',
  'shard',
  'canary',
  'maxFailureRate',
  'minSample',
  'waveSize',
];

/** Defaults and the checks that need no database; throws UsageError. */
export function resolveFleetOptions(options: Omit<FleetMigrateOptions, 'actor'>): FleetSettings {
  const direction = options.direction ?? 'up';
  const target = options.target ?? {};
  const named = (target.ids?.length ?? 0) + (target.slugs?.length ?? 0) > 0;
  if (target.resume !== undefined && (named || target.statuses?.length)) {
    throw new UsageError('--resume continues the tenants of an earlier run; it cannot be combined with --id, --slug or --status');
  }
  if (direction === 'down' && target.resume === undefined) {
    if (!named) throw new UsageError('`migrate down` needs explicit tenants (--slug or --id); it never runs across the whole fleet');
    if (options.to === undefined) throw downNeedsTo();
  }
  if (options.join !== undefined) {
    const given = RUN_OPTIONS.filter((key) => {
      const value = options[key];
      if (key === 'target') return Object.values(value ?? {}).some((v) => v !== undefined && (!Array.isArray(v) || v.length > 0));
      return value !== undefined && !(key === 'direction' && value === 'up');
    });
    if (given.length > 0) {
      throw new UsageError(`--join works on the run's own targets and options; drop ${given.map(flagOf).join(', ')}`, {
        hint: 'a joining runner brings only --concurrency, --lease, --wait-timeout and --retries',
      });
    }
  }
  const upOnly = (['shard', 'canary', 'maxFailureRate', 'waveSize'] as const).filter((key) => options[key] !== undefined);
  if (direction === 'down' && upOnly.length > 0) {
    throw new UsageError(`\`migrate down\` reverts named tenants; ${upOnly.map(flagOf).join(', ')} apply to \`migrate up\` only`);
  }
  if (options.shard !== undefined && target.resume !== undefined) {
    throw new UsageError('--resume continues the tenants of an earlier run (already one shard, if it was); drop --shard');
  }
  if (options.runKey !== undefined && options.dryRun) throw new UsageError('a dry run is not recorded, so it cannot share a run: drop --key');
  if (options.runKey !== undefined && !/^[\x21-\x7e]{1,200}$/.test(options.runKey)) {
    throw new UsageError('--key takes 1 to 200 printable characters without spaces');
  }
  const concurrency = positive(options.concurrency ?? defaultConcurrency(), 'concurrency');
  const maxFailureRate = options.maxFailureRate ?? null;
  if (maxFailureRate !== null && !(Number.isFinite(maxFailureRate) && maxFailureRate >= 0 && maxFailureRate <= 100)) {
    throw new UsageError(`max-failure-rate must be a percentage from 0 to 100, got ${maxFailureRate}`);
  }
  const canary = options.canary;
  if (typeof canary === 'number') positive(canary, 'canary');
  else if (canary !== undefined && canary.length === 0) throw new UsageError('--canary takes a count or tenant slugs');
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  if (!Number.isFinite(leaseMs) || leaseMs < 1_000) throw new UsageError(`lease must be at least 1s, got ${leaseMs} ms`);
  const waitTimeoutMs = options.waitTimeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS;
  if (!Number.isFinite(waitTimeoutMs) || waitTimeoutMs < 0) throw new UsageError(`wait-timeout must be 0 or more, got ${waitTimeoutMs}`);
  return {
    direction,
    target,
    to: options.to,
    dryRun: options.dryRun === true,
    verify: options.verify === true,
    failFast: options.failFast === true,
    concurrency,
    perHost: options.perHost === undefined ? null : positive(options.perHost, 'per-server'),
    maxFailures: options.maxFailures === undefined ? Infinity : positive(options.maxFailures, 'max-failures'),
    ifLocked: options.ifLocked ?? 'wait',
    lockTimeoutMs: options.lockTimeoutMs ?? DEFAULT_LOCK_WAIT_MS,
    statementTimeoutMs: options.statementTimeoutMs ?? 0,
    retries: options.retries ?? DEFAULT_RETRIES,
    retryDelayMs: options.retryDelayMs,
    connectTimeoutMs: options.connectTimeoutMs,
    recordRetryMs: options.recordRetryMs ?? DEFAULT_RECORD_RETRY_MS,
    join: options.join,
    runKey: options.runKey,
    leaseMs,
    waitTimeoutMs,
    shard: options.shard === undefined ? undefined : checkShard(options.shard),
    canary,
    maxFailureRate,
    minSample: positive(options.minSample ?? DEFAULT_MIN_SAMPLE, 'min-sample'),
    waveSize: options.waveSize === undefined ? null : positive(options.waveSize, 'wave'),
  };
}

/** The CLI flag of an option, for messages. */
function flagOf(key: keyof FleetMigrateOptions): string {
  const flags: Partial<Record<keyof FleetMigrateOptions, string>> = {
    target: '--slug/--id/--status/--resume',
    perHost: '--per-server',
    lockTimeoutMs: '--lock-timeout',
    statementTimeoutMs: '--statement-timeout',
    runKey: '--key',
    waveSize: '--wave',
    direction: 'down',
  };
  return flags[key] ?? `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

export function downNeedsTo(): UsageError {
  return new UsageError('`migrate down` needs --to <migration> (or --to 0 to revert everything)');
}

function positive(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`${name} must be a positive integer, got ${value}`);
  return value;
}

/** What the run record stores as the run's options (shown by history, reused by --resume). */
export function recordedOptions(settings: FleetSettings, latest: string | null): Record<string, unknown> {
  return {
    ...(settings.to !== undefined ? { to: settings.to } : {}),
    latest,
    concurrency: settings.concurrency,
    ...(settings.perHost !== null ? { perHost: settings.perHost } : {}),
    verify: settings.verify,
    failFast: settings.failFast,
    ...(settings.maxFailures !== Infinity ? { maxFailures: settings.maxFailures } : {}),
    ...(settings.maxFailureRate !== null ? { maxFailureRate: settings.maxFailureRate, minSample: settings.minSample } : {}),
    ...(settings.waveSize !== null ? { waveSize: settings.waveSize } : {}),
    ...(settings.shard ? { shard: `${settings.shard.index}/${settings.shard.count}` } : {}),
    ifLocked: settings.ifLocked,
    lockTimeoutMs: settings.lockTimeoutMs,
    statementTimeoutMs: settings.statementTimeoutMs,
    client: { hostname: os.hostname(), pid: process.pid },
  };
}
