/** `tenant migrate history [run]`: list recent migration runs, or show one with a row per tenant. */
import type { Command } from 'commander';
import { EXIT } from '../../errors.js';
import { addJson, integerOption } from '../options.js';
import { terminalFor, withSession, type CliState } from '../session.js';

export function registerMigrateHistory(migrate: Command, state: CliState): Command {
  const history = migrate
    .command('history')
    .argument('[run]', 'show this run (id, unique prefix or "last") with one row per tenant')
    .description('list recent migration runs, or show one')
    .option('--limit <n>', 'how many runs to list', integerOption('--limit', 1, 10_000), 20);
  addJson(history);
  history.addHelpText('after', '\nExamples:\n  $ tenant migrate history\n  $ tenant migrate history last --json');
  history.action(async (ref: string | undefined, opts: { limit: number }, cmd: Command) => {
    state.term = terminalFor(cmd);
    await withSession(cmd, state, async ({ term, runtime }) => {
      const [{ MigrationRuns }, { renderRun, renderRuns }] = await Promise.all([
        import('../../migrate/migration-runs.js'),
        import('../migrate-history-view.js'),
      ]);
      const runs = new MigrationRuns(runtime.metaPool);
      if (ref !== undefined) renderRun(term, await runs.get(ref));
      else renderRuns(term, await runs.list(opts.limit));
      return EXIT.ok;
    });
  });
  return history;
}
