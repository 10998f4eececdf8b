import { confirm } from '@inquirer/prompts';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { isUuid, type TenantStatus } from '../../tenants/tenant.js';
import { formatDuration, parseDuration } from '../../duration.js';
import { EXIT, UsageError } from '../../errors.js';
import { migrateFleet } from '../../migrate/fleet-migrator.js';
import { DEFAULT_RETRIES, defaultConcurrency, type FleetEvent, type FleetMigrateOptions, type FleetOutcome } from '../../migrate/fleet-types.js';
import { loadMigrationFiles } from '../../schema/migration-files.js';
import { MigrationRuns } from '../../migrate/migration-runs.js';
import type { Runtime } from '../../runtime/runtime.js';
import {
  fleetJson,
  progressText,
  runDetails,
  runJson,
  runsTable,
  runTenantsTable,
  summaryTable,
  tenantLine,
  totalsLine,
} from '../migrate-view.js';
import { addActor, addJson, integerOption, repeatable, statusList } from '../options.js';
import { terminalFor, withSession, type CliState, type Session } from '../session.js';
import type { Terminal } from '../terminal.js';
import { detailBlock } from '../tenant-view.js';

interface FleetCliOptions {
  all?: boolean;
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
  yes?: boolean;
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

/**
 * Options shared by `migrate` and `migrate down`, worded for each: every
 * option listed here is accepted by both (options only `migrate` takes are
 * added to it alone, so `migrate down --help` offers nothing down refuses).
 */
function addFleetOptions(command: Command, direction: 'up' | 'down'): Command {
  const verb = direction === 'up' ? 'migrated' : 'reverted';
  return command
    .option('--id <uuid>', 'only this tenant (repeatable)', uuidList)
    .option('--slug <slug>', 'only this tenant (repeatable)', repeatable)
    .option('--include-suspended', direction === 'up' ? 'also migrate suspended tenants' : 'also revert named tenants that are suspended')
    .option('--resume <run>', `continue the tenants of an earlier ${direction === 'up' ? '' : 'down '}run that did not finish (run id, prefix or "last")`)
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
    .option('--lock-timeout <duration>', 'wait this long for a tenant\'s migration lock and for DDL locks (default: 5m; 0: forever)', duration('--lock-timeout'))
    .option('--statement-timeout <duration>', 'abort any migration statement running longer (default: none)', duration('--statement-timeout'))
    .addOption(new Option('--if-locked <mode>', 'when another migrator is on a tenant: wait for it (default), or skip the tenant').choices(['wait', 'skip']));
}

export function registerMigrate(program: Command, state: CliState): void {
  const migrate = program
    .command('migrate')
    .description('migrate tenant databases to the latest schema (every active or migration_failed tenant by default)')
    .addOption(new Option('--all', 'every targeted tenant (the default; kept for compatibility)').conflicts(['id', 'slug', 'resume']))
    .option('--status <status>', 'only tenants in these statuses (active, migration_failed, suspended)', statusList)
    .option('--verify', 'check every tenant database, even those the meta database records as current')
    .option('--to <migration>', 'migrate up to and including this migration (default: the latest)');
  addActor(addJson(addFleetOptions(migrate, 'up')));
  migrate.addHelpText(
    'after',
    `
Examples:
  $ tenant migrate                          # every active tenant, to the latest schema
  $ tenant migrate --concurrency 8 --per-host 4
  $ tenant migrate --slug acme-corp --slug globex --dry-run
  $ tenant migrate --max-failures 3 --json
  $ tenant migrate --resume last            # retry what the last run left
  $ tenant migrate down --slug acme-corp --to 00004_documents
  $ tenant migrate history

Tenants whose recorded schema version is current are reported up to date
without connecting (--verify checks each database). A failed tenant is rolled
back to its last good migration and marked migration_failed; the next run
retries it. A tenant whose connection fails before any migration began is
tried again (--retries). Exit code 0 only if every targeted tenant ended
migrated or up to date.`,
  );
  migrate.action(async (opts: FleetCliOptions, cmd: Command) => {
    state.term = terminalFor(cmd);
    if (opts.resume !== undefined && (opts.status?.length || opts.to !== undefined)) {
      throw new UsageError('--resume continues an earlier run as it was; do not combine it with --status or --to');
    }
    await withSession(cmd, state, (session) => runFleet(session, 'up', opts));
  });
  registerDown(migrate, state);
  registerHistory(migrate, state);
}

function registerDown(migrate: Command, state: CliState): void {
  const down = migrate
    .command('down')
    .description('revert migrations on named tenants: everything applied after --to (drops those objects and their data)')
    .option('--to <migration>', 'the migration to go back to (it stays applied); 0 reverts everything')
    .option('-y, --yes', 'do not ask for confirmation (required without a terminal)');
  addActor(addJson(addFleetOptions(down, 'down')));
  down.addHelpText(
    'after',
    `
Examples:
  $ tenant migrate down --slug acme-corp --to 00004_documents --dry-run
  $ tenant migrate down --slug acme-corp --slug globex --to 00004_documents --yes

The tenants keep their status; their schema version is recorded as it really is,
and \`tenant list\` shows the reverted migrations as pending until the next \`tenant migrate\`.`,
  );
  down.action(async (_own: FleetCliOptions, cmd: Command) => {
    state.term = terminalFor(cmd);
    // Options shared with `migrate` (e.g. --slug, --to) are parsed by `migrate` wherever they appear: read both.
    const opts = cmd.optsWithGlobals<FleetCliOptions>();
    for (const [key, flag] of [['all', '--all'], ['status', '--status'], ['verify', '--verify']] as const) {
      if (opts[key] !== undefined) throw new UsageError(`${flag} cannot be used with \`migrate down\`; name the tenants with --slug or --id`);
    }
    if (opts.resume === undefined) {
      if (opts.to === undefined) throw new UsageError('`migrate down` needs --to <migration> (0 reverts everything)');
      if (!opts.id?.length && !opts.slug?.length) {
        throw new UsageError('`migrate down` needs explicit tenants (--slug or --id); it never runs across the whole fleet');
      }
    } else if (opts.id?.length || opts.slug?.length) {
      throw new UsageError('--resume continues an earlier run as it was; do not combine it with --id or --slug');
    }
    await withSession(cmd, state, async (session) => {
      const { term } = session;
      if (!opts.dryRun && !opts.yes) {
        if (!term.stdinInteractive || term.json) {
          throw new UsageError('migrating down drops schema objects and their data; pass --yes to confirm (no terminal to ask on)');
        }
        const proceed = await confirmDown(session, opts);
        if (proceed !== undefined) return proceed;
      }
      return runFleet(session, 'down', opts);
    });
  });
}

/** Shows the plan and asks; returns an exit code to stop with, or undefined to go ahead. */
async function confirmDown(session: Session, opts: FleetCliOptions): Promise<number | undefined> {
  const { term, runtime, actor } = session;
  const files = await loadMigrationFiles(runtime.config.migrationsDir);
  const plan = await migrateFleet(files, fleetDeps(runtime), { ...fleetOptions(runtime, opts), actor, direction: 'down', dryRun: true });
  for (const result of plan.results) term.line(tenantLine(term.c, result, 'down'));
  const work = plan.results.filter((r) => r.status === 'pending');
  if (plan.status !== 'succeeded') {
    term.note(term.c.red('nothing reverted: fix the problems above first'));
    return EXIT.failed;
  }
  if (work.length === 0) {
    term.line('nothing to revert');
    return EXIT.ok;
  }
  const count = work.reduce((n, r) => n + r.planned.length, 0);
  const ok = await confirm({
    message: `Revert ${count} migration${count === 1 ? '' : 's'} on ${work.length} tenant${work.length === 1 ? '' : 's'}? What they created is dropped, with its data.`,
    default: false,
  });
  if (!ok) {
    term.note('nothing reverted');
    return EXIT.failed;
  }
  return undefined;
}

function registerHistory(migrate: Command, state: CliState): void {
  const history = migrate
    .command('history')
    .argument('[run]', 'show this run (id, unique prefix or "last") with one row per tenant')
    .description('list recent migration runs, or show one')
    .option('--limit <n>', 'how many runs to list', integerOption('--limit', 1, 10_000), 20);
  addJson(history);
  history.addHelpText('after', '\nExamples:\n  $ tenant migrate history\n  $ tenant migrate history last --json');
  history.action(async (ref: string | undefined, opts: { limit: number }, cmd: Command) => {
    state.term = terminalFor(cmd);
    const stray = Object.keys(cmd.parent?.opts() ?? {}).filter((key) => key !== 'json' && key !== 'actor');
    if (stray.length > 0) throw new UsageError(`\`migrate history\` takes only a run id, --limit and --json (got --${kebab(stray[0] as string)})`);
    await withSession(cmd, state, async ({ term, runtime }) => {
      const runs = new MigrationRuns(runtime.metaPool);
      if (ref !== undefined) {
        const run = await runs.get(ref);
        if (term.json) {
          term.printJson(runJson(run));
          return EXIT.ok;
        }
        term.line(detailBlock(term.c, runDetails(run)));
        if (run.tenants.length > 0) term.line(runTenantsTable(term.c, run, !term.interactive));
        const unrecorded = run.tenants.filter((t) => t.status === 'unrecorded').length;
        if (unrecorded > 0) {
          term.note(
            term.c.dim(
              `${unrecorded} tenant${unrecorded === 1 ? '' : 's'} without a recorded outcome (the run was killed or lost the meta database): ` +
                '`tenant list` shows their real schema version',
            ),
          );
        }
        if (run.status !== 'succeeded' && run.tenants.some((t) => !['migrated', 'reverted', 'up-to-date'].includes(t.status))) {
          term.note(term.c.dim(`continue it with: tenant migrate${run.direction === 'down' ? ' down' : ''} --resume ${run.id}`));
        }
        return EXIT.ok;
      }
      const list = await runs.list(opts.limit);
      if (term.json) {
        term.printJson(list.map(runJson));
        return EXIT.ok;
      }
      if (list.length === 0) {
        term.line('No migration runs yet.');
        return EXIT.ok;
      }
      term.line(runsTable(term.c, list, !term.interactive));
      return EXIT.ok;
    });
  });
}

function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function fleetDeps(runtime: Runtime) {
  return { registry: runtime.registry, metaPool: runtime.metaPool, credentials: runtime.connections.tenant };
}

function fleetOptions(runtime: Runtime, opts: FleetCliOptions): Omit<FleetMigrateOptions, 'actor'> {
  return {
    target: {
      ...(opts.id?.length ? { ids: opts.id } : {}),
      ...(opts.slug?.length ? { slugs: opts.slug } : {}),
      ...(opts.status?.length ? { statuses: opts.status } : {}),
      ...(opts.includeSuspended ? { includeSuspended: true } : {}),
      ...(opts.resume !== undefined ? { resume: opts.resume } : {}),
    },
    ...(opts.to !== undefined ? { to: opts.to } : {}),
    ...(opts.concurrency !== undefined ? { concurrency: opts.concurrency } : {}),
    ...(opts.perHost !== undefined ? { perHost: opts.perHost } : {}),
    ...(opts.maxFailures !== undefined ? { maxFailures: opts.maxFailures } : {}),
    ...(opts.lockTimeout !== undefined ? { lockTimeoutMs: opts.lockTimeout } : {}),
    ...(opts.statementTimeout !== undefined ? { statementTimeoutMs: opts.statementTimeout } : {}),
    ...(opts.retries !== undefined ? { retries: opts.retries } : {}),
    verify: opts.verify === true,
    failFast: opts.failFast === true,
    dryRun: opts.dryRun === true,
    ifLocked: opts.ifLocked ?? 'wait',
    connectTimeoutMs: runtime.config.pool.connectTimeoutMs,
  };
}

async function runFleet(session: Session, direction: 'up' | 'down', opts: FleetCliOptions): Promise<number> {
  const { term, runtime, actor, signal } = session;
  const files = await loadMigrationFiles(runtime.config.migrationsDir);
  const dryRun = opts.dryRun === true;
  const outcome = await migrateFleet(files, fleetDeps(runtime), {
    ...fleetOptions(runtime, opts),
    actor,
    direction,
    signal,
    onEvent: renderEvent(term, direction, dryRun),
  });
  term.stopSpinner();
  report(term, outcome);
  if (outcome.status === 'succeeded') return EXIT.ok;
  return outcome.status === 'interrupted' ? EXIT.interrupted : EXIT.failed;
}

function renderEvent(term: Terminal, direction: 'up' | 'down', dryRun: boolean): (event: FleetEvent) => void {
  return (event) => {
    switch (event.type) {
      case 'run-started':
        if (event.queued > 0) term.progress(progressText({ total: event.total, done: event.total - event.queued, failed: 0, running: [] }, direction, dryRun));
        break;
      case 'tenant-started':
        term.progress(progressText(event.progress, direction, dryRun));
        break;
      case 'migration':
        if (term.verbose) term.progress(`${event.tenant.slug}: ${event.migration.type} ${event.migration.name}`);
        break;
      case 'tenant-finished': {
        const { result } = event;
        // On a terminal the spinner shows progress and the table sums up; lines only for what needs attention.
        if (!term.interactive || term.verbose || result.status === 'failed' || result.status === 'pending') {
          term.line(tenantLine(term.c, result, direction));
        }
        term.progress(progressText(event.progress, direction, dryRun));
        break;
      }
      case 'tenant-retry':
        term.warn(
          `${event.tenant.slug}: ${event.error.message}; trying again in ${formatDuration(event.delayMs)} (retry ${event.attempt} of ${event.retries})`,
        );
        break;
      case 'record-retry':
        term.warn(
          `cannot write ${event.pending} outcome${event.pending === 1 ? '' : 's'} and the end of the run to the meta database (${event.message}); ` +
            `trying again in ${formatDuration(event.delayMs)}`,
        );
        break;
      case 'stopping':
        term.warn(event.reason === 'interrupted' ? 'interrupted: letting running tenants finish, starting no more' : event.reason);
        break;
      case 'warning':
        term.warn(event.message);
        break;
    }
  };
}

function report(term: Terminal, outcome: FleetOutcome): void {
  if (term.json) {
    term.printJson(fleetJson(outcome));
    return;
  }
  // Tenants decided without running (skipped, or current per the meta database) get their line here.
  for (const result of outcome.results) {
    if (result.checkedIn === 'database') continue;
    if (result.status === 'skipped' || term.verbose) term.line(tenantLine(term.c, result, outcome.direction));
  }
  const table = summaryTable(term.c, outcome, !term.interactive, term.verbose);
  if (table) term.line(table);
  term.line(totalsLine(term.c, outcome));
  const byMeta = outcome.results.filter((r) => r.checkedIn === 'meta').length;
  if (byMeta > 0) term.note(term.c.dim(`${byMeta} up to date per the meta database (not connected; --verify checks each database)`));
  if (outcome.runId && outcome.unrecorded.length > 0) {
    const n = outcome.unrecorded.length;
    term.note(
      term.c.yellow(
        `${n} outcome${n === 1 ? ' is' : 's are'} not in the run history (the meta database stayed unreachable); they are listed above, ` +
          `and \`tenant migrate history ${outcome.runId}\` shows ${n === 1 ? 'it' : 'them'} as unrecorded`,
      ),
    );
  } else if (outcome.runId && !outcome.recorded) {
    term.note(term.c.yellow(`every outcome of run ${outcome.runId} is recorded, but not its end (the meta database stayed unreachable); history shows it abandoned`));
  }
  if (outcome.runId && outcome.status !== 'succeeded') {
    const down = outcome.direction === 'down' ? ' down' : '';
    term.note(term.c.dim(`run ${outcome.runId}: see \`tenant migrate history ${outcome.runId}\`; retry with \`tenant migrate${down} --resume ${outcome.runId}\``));
  }
}
