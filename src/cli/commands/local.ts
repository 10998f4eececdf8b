import type { Command } from 'commander';
import type { LocalCluster } from '../../local/local-cluster.js';
import { addJson } from '../options.js';
import { configFor, terminalFor, type CliState } from '../session.js';

/** The embedded cluster's code (and pg) is loaded only when a `local` command runs. */
async function clusterFor(cmd: Command): Promise<LocalCluster> {
  const { LocalCluster } = await import('../../local/local-cluster.js');
  return new LocalCluster({ home: (await configFor(cmd)).tenantHome });
}

export function registerLocal(program: Command, state: CliState): void {
  const local = program.command('local').description('manage the embedded PostgreSQL used when META_DATABASE_URL is not set');
  local.addHelpText(
    'after',
    `
The embedded cluster lives in TENANT_HOME. Each command starts it when needed
and the last one to finish stops it, unless it was started with \`tenant local start\`.

Examples:
  $ tenant local start     # keep it running (e.g. for npm run server)
  $ tenant local status
  $ tenant local stop`,
  );

  addJson(local.command('start').description('start the embedded cluster and keep it running')).action(async (_opts: unknown, cmd: Command) => {
    const term = (state.term = terminalFor(cmd));
    const cluster = await clusterFor(cmd);
    term.progress('starting the embedded PostgreSQL');
    const lease = await cluster.acquire();
    await lease.release({ keepRunning: true });
    const status = await cluster.status();
    if (term.json) term.printJson(status);
    else term.succeed(`embedded PostgreSQL running on 127.0.0.1:${status.port} (data in ${status.home})`);
  });

  addJson(
    local
      .command('stop')
      .description('stop the embedded cluster (waits for no other command to be using it)')
      .option('--force', 'stop even if other tenant commands are using it'),
  ).action(async (opts: { force?: boolean }, cmd: Command) => {
    const term = (state.term = terminalFor(cmd));
    const cluster = await clusterFor(cmd);
    const result = await cluster.stop({ force: opts.force === true });
    if (term.json) term.printJson(result);
    else if (result.stopped) term.line('embedded PostgreSQL stopped');
    else if (result.users > 0) term.line(`still in use by ${result.users} process(es); it stops when they finish (or use --force)`);
    else term.line('embedded PostgreSQL is not running');
  });

  addJson(local.command('status').description('show whether the embedded cluster is running')).action(async (_opts: unknown, cmd: Command) => {
    const term = (state.term = terminalFor(cmd));
    const status = await (await clusterFor(cmd)).status();
    if (term.json) {
      term.printJson(status);
      return;
    }
    term.line(`home      ${status.home}`);
    term.line(`state     ${!status.initialised ? 'not initialised' : status.running ? term.c.green('running') : 'stopped'}`);
    if (status.port) term.line(`address   127.0.0.1:${status.port}`);
    if (status.running) term.line(`pid       ${status.pid}${status.keep ? ' (kept running)' : ''}, ${status.users} user(s)`);
    if (status.lock.state === 'held') {
      term.line(`lock      held by pid ${status.lock.owner.pid} since ${status.lock.owner.since ?? 'an unknown time'}`);
    } else if (status.lock.state === 'stale') {
      term.line(`lock      ${term.c.yellow('stale')}: ${status.lock.reason}; the next command takes it over`);
    }
  });
}
