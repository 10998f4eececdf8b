import type { Command } from 'commander';
import type { MoveDeps } from '../../provision/move-context.js';
import type { Runtime } from '../../runtime/runtime.js';
import { addActor, addJson } from '../options.js';
import { withSession, type CliState } from '../session.js';
import { provisionerFor } from './create.js';

/** What moves, clones and their repair need, from the session's runtime (loaded only by the commands that use it). */
export async function moveDepsFor(runtime: Runtime): Promise<MoveDeps> {
  const { moveDeps } = await import('../../provision/move-context.js');
  return moveDeps(runtime, await provisionerFor(runtime));
}

export function registerMove(program: Command, state: CliState): void {
  const command = program
    .command('move')
    .argument('<tenant>', 'tenant id (UUID) or slug')
    .description('move a tenant database to another registered server (the tenant answers 503 while its data is copied)')
    .requiredOption('--to <server>', 'the registered server to move it to')
    .option('--drop-source', 'drop the source database at the end instead of keeping it renamed');
  addActor(addJson(command));
  command.addHelpText(
    'after',
    `
Examples:
  $ tenant move acme-corp --to eu-2
  $ tenant move acme-corp --to eu-2 --drop-source --json

Rerunning a move that was killed finishes it (if its switch committed) or rolls it back first.`,
  );
  command.action(async (ref: string, opts: { to: string; dropSource?: boolean }, cmd: Command) => {
    const { validateServerName } = await import('../../servers/server.js');
    const to = validateServerName(opts.to);
    await withSession(cmd, state, async ({ term, runtime, actor }) => {
      const [{ moveTenant }, view] = await Promise.all([import('../../provision/tenant-move.js'), import('../move-view.js')]);
      const report = await moveTenant(await moveDepsFor(runtime), ref, to, {
        actor,
        dropSource: opts.dropSource === true,
        onEvent: view.moveProgress(term, ref),
      });
      if (term.json) term.printJson(view.moveJson(report));
      else view.renderMove(term, report);
      return 0;
    });
  });
}
