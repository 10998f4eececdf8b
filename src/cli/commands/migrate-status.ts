/**
 * `tenant migrate status <run> [--watch]`: a run's live counts and runners
 * (no tenant rows: cheap to poll). Without --watch it shows the run once and
 * exits 0; with --watch it follows the run until it ends and exits with the
 * run's status (0 succeeded, 1 failed, 130 interrupted), so a script can
 * wait on a run other runners are working on.
 */
import type { Command } from 'commander';
import { EXIT } from '../../errors.js';
import { addJson } from '../options.js';
import { terminalFor, withSession, type CliState } from '../session.js';
import { Terminal } from '../terminal.js';
import { boundedDuration } from './migrate-fleet.js';

const DEFAULT_INTERVAL_MS = 2000;

export function registerMigrateStatus(migrate: Command, state: CliState): Command {
  const status = migrate
    .command('status')
    .argument('<run>', 'the run (id, unique prefix or "last")')
    .description("show a run's live counts and runners; --watch follows it until it ends")
    .option('--watch', 'follow the run until it ends, then exit with its status (0 succeeded, 1 failed, 130 interrupted)')
    .option(
      '--interval <duration>',
      `how often --watch looks (default: ${DEFAULT_INTERVAL_MS / 1000}s)`,
      boundedDuration('--interval', 100, 3_600_000),
    );
  addJson(status);
  status.addHelpText(
    'after',
    `
Examples:
  $ tenant migrate status last
  $ tenant migrate status 3f2a9c --watch
  $ tenant migrate status last --watch --json     # one JSON line each time the counts change

On a terminal --watch redraws in place; otherwise it prints one line each time
the counts or the runners change.`,
  );
  status.action(async (ref: string, opts: { watch?: boolean; interval?: number }, cmd: Command) => {
    state.term = terminalFor(cmd);
    await withSession(cmd, state, async ({ term, runtime, signal }) => {
      const [{ MigrationRuns }, { renderStatus, watchRun }] = await Promise.all([
        import('../../migrate/migration-runs.js'),
        import('../migrate-status-view.js'),
      ]);
      const runs = new MigrationRuns(runtime.metaPool);
      if (!opts.watch) {
        renderStatus(term, await runs.status(ref), new Date());
        return EXIT.ok;
      }
      // --json lines go to stdout one by one; the session's terminal prints JSON only as whole documents.
      const lines = new Terminal({ color: false });
      return watchRun(term, ref, {
        fetch: (r) => runs.status(r),
        sleep: (ms) => sleep(ms, signal),
        now: () => new Date(),
        intervalMs: opts.interval ?? DEFAULT_INTERVAL_MS,
        jsonLine: (text) => lines.line(text),
      });
    });
  });
  return status;
}

/** Waits ms; false as soon as the signal aborts (Ctrl-C). */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
