/**
 * What `tenant migrate [up]` and `tenant migrate down` share: the options
 * both accept (worded for each direction), their mapping onto the library's
 * FleetMigrateOptions (names only: defaults and checks are the library's,
 * see resolveFleetOptions), and the run itself, rendered by migrate-view.
 * The migrator is loaded only when a command runs.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { parseDuration } from '../../duration.js';
import { EXIT } from '../../errors.js';
import { DEFAULT_RETRIES, defaultConcurrency, type FleetMigrateDeps, type FleetMigrateOptions } from '../../migrate/fleet-types.js';
import type { Runtime } from '../../runtime/runtime.js';
import { adminAccess } from '../../pg/connection-settings.js';
import { isUuid, type TenantStatus } from '../../tenants/tenant.js';
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

/** The options both directions accept, worded for each (so `migrate down --help` offers nothing down refuses). */
export function addFleetOptions(command: Command, direction: 'up' | 'down'): Command {
  const verb = direction === 'up' ? 'migrated' : 'reverted';
  return command
    .option('--id <uuid>', 'only this tenant (repeatable)', uuidList)
    .option('--slug <slug>', 'only this tenant (repeatable)', repeatable)
    .option('--include-suspended', direction === 'up' ? 'also migrate suspended tenants' : 'also revert named tenants that are suspended')
    .option(
      '--resume <run>',
      `continue the tenants of an earlier ${direction === 'up' ? '' : 'down '}run that did not finish (run id, prefix or "last")`,
    )
    .option('--concurrency <n>', `tenants ${verb} at once (default: ${defaultConcurrency()})`, integerOption('--concurrency', 1, 1000))
    .option('--per-host <n>', `tenants ${verb} at once on one database server (default: --concurrency)`, integerOption('--per-host', 1, 1000))
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
    ...given('perHost', opts.perHost),
    ...given('maxFailures', opts.maxFailures),
    ...given('ifLocked', opts.ifLocked),
    ...given('lockTimeoutMs', opts.lockTimeout),
    ...given('statementTimeoutMs', opts.statementTimeout),
    ...given('retries', opts.retries),
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
export async function runFleet(session: Session, options: Omit<FleetMigrateOptions, 'actor'>): Promise<number> {
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
  if (outcome.status === 'succeeded') return EXIT.ok;
  return outcome.status === 'interrupted' ? EXIT.interrupted : EXIT.failed;
}
