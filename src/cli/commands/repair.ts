import type { Command } from 'commander';
import { addActor, addJson } from '../options.js';
import { withSession, type CliState } from '../session.js';
import { shown } from '../tenant-view.js';
import { provisionerFor } from './create.js';

export function registerRepair(program: Command, state: CliState): void {
  const command = program
    .command('repair')
    .description('clean up creates that were killed midway, and find databases and roles that belong to no tenant')
    .option('--drop-orphans', 'also drop tenant-prefixed databases and roles that belong to no tenant');
  addActor(addJson(command));
  command.addHelpText('after', '\nExamples:\n  $ tenant repair\n  $ tenant repair --drop-orphans --json');
  command.action(async (opts: { dropOrphans?: boolean }, cmd: Command) => {
    await withSession(cmd, state, async ({ term, runtime, actor }) => {
      const result = await (await provisionerFor(runtime)).repair({ actor, dropOrphans: opts.dropOrphans === true });
      if (term.json) {
        term.printJson(result);
        return 0;
      }
      for (const r of result.reclaimed) term.line(`removed abandoned create of "${shown(r.slug)}" (database ${shown(r.dbName)})`);
      for (const slug of result.busy) term.line(`"${shown(slug)}" is being created right now; left alone`);
      for (const db of result.orphanDatabases) {
        term.line(
          result.droppedOrphans.includes(db)
            ? `dropped orphan database ${shown(db)}`
            : `orphan database ${shown(db)} belongs to no tenant (drop it with --drop-orphans)`,
        );
      }
      for (const role of result.orphanRoles) {
        term.line(
          result.droppedOrphanRoles.includes(role)
            ? `dropped orphan role ${shown(role)}`
            : `orphan role ${shown(role)} belongs to no tenant (drop it with --drop-orphans)`,
        );
      }
      if (!result.reclaimed.length && !result.busy.length && !result.orphanDatabases.length && !result.orphanRoles.length) {
        term.line('nothing to repair');
      }
      return 0;
    });
  });
}
