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
import { DEFAULT_RETRIES, defaultConcurrency, type FleetMigrateOptions } from './fleet-types.js';
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
  perHost: number;
  /** Infinity when not limited. */
  maxFailures: number;
  ifLocked: 'wait' | 'skip';
  lockTimeoutMs: number;
  statementTimeoutMs: number;
  retries: number;
  retryDelayMs: number | undefined;
  connectTimeoutMs: number | undefined;
  recordRetryMs: number;
}

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
  const concurrency = positive(options.concurrency ?? defaultConcurrency(), 'concurrency');
  return {
    direction,
    target,
    to: options.to,
    dryRun: options.dryRun === true,
    verify: options.verify === true,
    failFast: options.failFast === true,
    concurrency,
    perHost: positive(options.perHost ?? concurrency, 'per-host'),
    maxFailures: options.maxFailures === undefined ? Infinity : positive(options.maxFailures, 'max-failures'),
    ifLocked: options.ifLocked ?? 'wait',
    lockTimeoutMs: options.lockTimeoutMs ?? DEFAULT_LOCK_WAIT_MS,
    statementTimeoutMs: options.statementTimeoutMs ?? 0,
    retries: options.retries ?? DEFAULT_RETRIES,
    retryDelayMs: options.retryDelayMs,
    connectTimeoutMs: options.connectTimeoutMs,
    recordRetryMs: options.recordRetryMs ?? DEFAULT_RECORD_RETRY_MS,
  };
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
    perHost: settings.perHost,
    verify: settings.verify,
    failFast: settings.failFast,
    ...(settings.maxFailures !== Infinity ? { maxFailures: settings.maxFailures } : {}),
    ifLocked: settings.ifLocked,
    lockTimeoutMs: settings.lockTimeoutMs,
    statementTimeoutMs: settings.statementTimeoutMs,
    client: { hostname: os.hostname(), pid: process.pid },
  };
}
