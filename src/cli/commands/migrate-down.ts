/** `tenant migrate down`: revert migrations on named tenants, after showing the plan and asking (or --yes). */
import { Option, type Command } from 'commander';
import { EXIT, UsageError } from '../../errors.js';
import type { FleetMigrateOptions } from '../../migrate/fleet-types.js';
import { addActor, addJson } from '../options.js';
import { terminalFor, withSession, type CliState, type Session } from '../session.js';
import { addFleetOptions, fleetDeps, runFleet, toFleetOptions, type FleetCliOptions } from './migrate-fleet.js';

/** The runner options of FleetCliOptions arrive here unparsed (as given), only to be refused: see REFUSED. */
interface DownCliOptions extends FleetCliOptions {
  all?: boolean;
  yes?: boolean;
}

const NAMED = 'name the tenants with --slug or --id';
const ONE_RUNNER = 'a down run reverts named tenants with one runner, after confirmation; continue one with --resume';
const ROLLOUT = 'down reverts exactly the tenants you name';

/**
 * Options of `migrate [up]` that down takes only to refuse them with a
 * reason (hidden from its help): the whole-fleet selection, and the runner
 * options (sharing a run, shards, canaries, waves, the failure brake), which
 * exist for rolling a release out across the fleet.
 */
const REFUSED = [
  ['all', '--all', NAMED],
  ['status', '--status <status>', NAMED],
  ['verify', '--verify', NAMED],
  ['join', '--join <run>', ONE_RUNNER],
  ['key', '--key <key>', ONE_RUNNER],
  ['lease', '--lease <duration>', ONE_RUNNER],
  ['waitTimeout', '--wait-timeout <duration>', ONE_RUNNER],
  ['shard', '--shard <i/n>', ROLLOUT],
  ['canary', '--canary <n|slugs>', ROLLOUT],
  ['maxFailureRate', '--max-failure-rate <pct>', ROLLOUT],
  ['minSample', '--min-sample <k>', ROLLOUT],
  ['wave', '--wave <size>', ROLLOUT],
] as const;

export function registerMigrateDown(migrate: Command, state: CliState): Command {
  const down = migrate
    .command('down')
    .description('revert migrations on named tenants: everything applied after --to (drops those objects and their data)')
    .option('--to <migration>', 'the migration to go back to (it stays applied); 0 reverts everything')
    .option('-y, --yes', 'do not ask for confirmation (required without a terminal)');
  for (const [, spec] of REFUSED) down.addOption(new Option(spec).hideHelp());
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
  down.action(async (opts: DownCliOptions, cmd: Command) => {
    state.term = terminalFor(cmd);
    for (const [key, spec, reason] of REFUSED) {
      if (opts[key] !== undefined) throw new UsageError(`${spec.split(' ')[0]} cannot be used with \`migrate down\`; ${reason}`);
    }
    const options = toFleetOptions(opts, 'down');
    // The library checks the options (named tenants, --to) before anyone is asked to confirm.
    const { resolveFleetOptions } = await import('../../migrate/fleet-settings.js');
    resolveFleetOptions(options);
    await withSession(cmd, state, async (session) => {
      if (!opts.dryRun && !opts.yes) {
        if (!session.term.stdinInteractive || session.term.json) {
          throw new UsageError('migrating down drops schema objects and their data; pass --yes to confirm (no terminal to ask on)');
        }
        const stop = await confirmDown(session, options);
        if (stop !== undefined) return stop;
      }
      return runFleet(session, options, opts);
    });
  });
  return down;
}

/** Shows the plan and asks; returns an exit code to stop with, or undefined to go ahead. */
async function confirmDown(session: Session, options: Omit<FleetMigrateOptions, 'actor'>): Promise<number | undefined> {
  const { term, runtime, actor } = session;
  const [{ confirmOnTerminal }, { migrateFleet }, { loadMigrationFiles }, { tenantLine }] = await Promise.all([
    import('../prompts.js'),
    import('../../migrate/fleet-migrator.js'),
    import('../../schema/migration-files.js'),
    import('../migrate-view.js'),
  ]);
  const files = await loadMigrationFiles(runtime.config.migrationsDir);
  const plan = await migrateFleet(files, fleetDeps(runtime), {
    ...options,
    connectTimeoutMs: runtime.config.pool.connectTimeoutMs,
    actor,
    dryRun: true,
  });
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
  const ok = await confirmOnTerminal(
    term,
    `Revert ${count} migration${count === 1 ? '' : 's'} on ${work.length} tenant${work.length === 1 ? '' : 's'}? What they created is dropped, with its data.`,
  );
  if (!ok) {
    term.note('nothing reverted');
    return EXIT.failed;
  }
  return undefined;
}
