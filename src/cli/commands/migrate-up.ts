/** `tenant migrate [up]`: migrate tenant databases to the latest schema (or --to). The default command of `tenant migrate`. */
import { Option, type Command } from 'commander';
import { addActor, addJson, statusList } from '../options.js';
import { terminalFor, withSession, type CliState } from '../session.js';
import { addFleetOptions, addRunnerOptions, runFleet, toFleetOptions, type FleetCliOptions } from './migrate-fleet.js';

export const MIGRATE_UP_EXAMPLES = `
Examples:
  $ tenant migrate                          # every active tenant, to the latest schema
  $ tenant migrate --concurrency 8 --per-server 4
  $ tenant migrate --slug acme-corp --slug globex --dry-run
  $ tenant migrate --max-failures 3 --json
  $ tenant migrate --resume last            # retry what the last run left
  $ tenant migrate --key "$RELEASE"         # every runner (CI job, pod) with this key shares one run
  $ tenant migrate --join last              # another runner on the latest open run
  $ tenant migrate --shard 2/4              # the 2nd of 4 disjoint parts (a CI matrix, no shared run)
  $ tenant migrate --canary 3 --wave 100 --max-failure-rate 5%
  $ tenant migrate status last --watch
  $ tenant migrate down --slug acme-corp --to 00004_documents
  $ tenant migrate history

Tenants whose recorded schema version is current are reported up to date
without connecting (--verify checks each database). A failed tenant is rolled
back to its last good migration and marked migration_failed; the next run
retries it. A tenant whose connection fails before any migration began is
tried again (--retries).

Runners that share a run (--key, --join) claim tenants from it one by one;
--per-server holds across all of them, --concurrency is per runner. A runner
with nothing left to claim waits for the others (--wait-timeout), so every
runner exits with the run's status: 0 only if every targeted tenant ended
migrated or up to date, 1 otherwise (also when it stopped waiting before the
run ended), 130 when interrupted.`;

export function registerMigrateUp(migrate: Command, state: CliState): Command {
  const up = migrate
    .command('up', { isDefault: true })
    .description('migrate tenant databases to the latest schema (every active or migration_failed tenant by default)')
    .addOption(new Option('--all', 'every targeted tenant (the default; kept for compatibility)').conflicts(['id', 'slug', 'resume']))
    .option('--status <status>', 'only tenants in these statuses (active, migration_failed, suspended)', statusList)
    .option('--verify', 'check every tenant database, even those the meta database records as current')
    .option('--to <migration>', 'migrate up to and including this migration (default: the latest)');
  addActor(addJson(addRunnerOptions(addFleetOptions(up, 'up'))));
  up.addHelpText('after', MIGRATE_UP_EXAMPLES);
  up.action(async (opts: FleetCliOptions, cmd: Command) => {
    state.term = terminalFor(cmd);
    await withSession(cmd, state, (session) => runFleet(session, toFleetOptions(opts, 'up'), opts));
  });
  return up;
}
