import type { Command } from 'commander';
import { addActor, addJson } from '../options.js';
import { withSession, type CliState } from '../session.js';
import { shown } from '../tenant-view.js';
import { provisionerFor } from './create.js';

export function registerRepair(program: Command, state: CliState): void {
  const command = program
    .command('repair')
    .description(
      'finish or roll back moves and clones that were killed, clean up creates that were killed midway, and find databases and roles that belong to no tenant',
    )
    .option('--drop-orphans', 'also drop tenant-prefixed databases and roles that belong to no tenant')
    .option('--drop-moved', 'also drop the source databases kept by earlier moves (`<db>_moved_<timestamp>`)');
  addActor(addJson(command));
  command.addHelpText('after', '\nExamples:\n  $ tenant repair\n  $ tenant repair --drop-moved\n  $ tenant repair --drop-orphans --json');
  command.action(async (opts: { dropOrphans?: boolean; dropMoved?: boolean }, cmd: Command) => {
    await withSession(cmd, state, async ({ term, runtime, actor }) => {
      const { repairTenants } = await import('../../provision/tenant-repair.js');
      const { moveDeps } = await import('../../provision/move-context.js');
      const provisioner = await provisionerFor(runtime);
      const result = await repairTenants(await moveDeps(runtime, provisioner), provisioner, {
        actor,
        dropOrphans: opts.dropOrphans === true,
        dropMoved: opts.dropMoved === true,
      });
      const { moves, droppedMoved } = result;
      if (term.json) {
        term.printJson(result);
        return moves.failed.length > 0 ? 1 : 0;
      }
      for (const m of moves.recovered) {
        term.line(`${m.action === 'finished' ? 'finished' : 'rolled back'} an interrupted ${m.kind} (${m.moveId}, stopped at ${shown(m.step)})`);
      }
      for (const id of moves.busy) term.line(`move ${id} is running right now; left alone`);
      for (const f of moves.failed) term.warn(`move ${f.moveId} could not be repaired: ${shown(f.error)}`);
      for (const d of droppedMoved) term.line(`dropped kept source database ${shown(d.dbName)} on server ${shown(d.serverName)}`);
      for (const r of result.reclaimed) term.line(`removed abandoned create of "${shown(r.slug)}" (database ${shown(r.dbName)})`);
      for (const slug of result.busy) term.line(`"${shown(slug)}" is being created right now; left alone`);
      for (const u of result.unreclaimed) {
        term.warn(`abandoned create of "${shown(u.slug)}" on server ${shown(u.server)} could not be cleaned up now: ${shown(u.error.message)}`);
      }
      for (const s of result.servers) {
        if (s.error) term.warn(`server ${shown(s.server)} could not be checked: ${shown(s.error.message)}`);
      }
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
      const repairedMoves = moves.recovered.length + moves.busy.length + moves.failed.length + droppedMoved.length;
      const unreachable = result.unreclaimed.length + result.servers.filter((s) => s.error).length;
      if (
        !repairedMoves &&
        !unreachable &&
        !result.reclaimed.length &&
        !result.busy.length &&
        !result.orphanDatabases.length &&
        !result.orphanRoles.length
      ) {
        term.line('nothing to repair');
      }
      return moves.failed.length > 0 ? 1 : 0;
    });
  });
}
