import type { Command } from 'commander';
import { tenantToJson } from '../../tenants/tenant.js';
import { UsageError } from '../../errors.js';
import type { DeleteTenantResult } from '../../provision/provisioner.js';
import { addActor, addJson, addReason } from '../options.js';
import { confirmOnTerminal } from '../prompts.js';
import { terminalFor, withSession, type CliState } from '../session.js';
import type { Terminal } from '../terminal.js';
import { shown, statusLabel } from '../tenant-view.js';
import { provisionerFor } from './create.js';

export function registerDelete(program: Command, state: CliState): void {
  const command = program
    .command('delete')
    .argument('<tenant>', 'tenant id (UUID) or slug')
    .description('delete a tenant: servers refuse it at once; its database is kept unless --drop-database')
    .option('--drop-database', "also drop the tenant database and the tenant's own roles (irreversible)")
    .option('-y, --yes', 'do not ask for confirmation (required without a terminal)');
  addActor(addJson(addReason(command)));
  command.addHelpText(
    'after',
    '\nExamples:\n  $ tenant delete acme-corp --reason "contract ended"\n  $ tenant delete acme-corp --drop-database --yes --json',
  );
  command.action(async (ref: string, opts: { reason?: string; dropDatabase?: boolean; yes?: boolean }, cmd: Command) => {
    const term = (state.term = terminalFor(cmd));
    // Refused before the embedded cluster starts: there is nobody to ask.
    if (!opts.yes && (!term.stdinInteractive || term.json)) {
      throw new UsageError('--yes is required to delete without a terminal', {
        hint: `add --yes to confirm: \`tenant delete ${shown(ref)} --yes\``,
      });
    }
    await withSession(cmd, state, async ({ term, runtime, actor }) => {
      if (!opts.yes) {
        const tenant = await runtime.registry.resolve(ref);
        const what = opts.dropDatabase ? ` and DROP its database ${shown(tenant.dbName)}` : '';
        const question = `Delete tenant "${shown(tenant.slug)}" (${shown(tenant.name)})${what}?`;
        if (!(await confirmOnTerminal(term, question))) {
          term.note('not deleted');
          return 1;
        }
      }
      const result = await (
        await provisionerFor(runtime)
      ).delete(ref, {
        actor,
        ...(opts.reason ? { reason: opts.reason } : {}),
        dropDatabase: opts.dropDatabase === true,
      });
      if (term.json) {
        term.printJson({
          ...tenantToJson(result.tenant),
          changed: result.changed,
          droppedDatabase: result.droppedDatabase,
          droppedRoles: result.droppedRoles,
          databaseExists: result.databaseExists ?? null,
        });
        return 0;
      }
      const slug = term.c.bold(shown(result.tenant.slug));
      term.line(result.changed ? `tenant ${slug} is now ${statusLabel(term.c, 'deleted')}` : `tenant ${slug} was already deleted`);
      term.line(databaseLine(term, result));
      if (result.droppedRoles.length > 0) term.line(`roles ${result.droppedRoles.map(shown).join(', ')} dropped`);
      return 0;
    });
  });
}

/** What is really there now, not what this run was asked to do. */
function databaseLine(term: Terminal, result: DeleteTenantResult): string {
  const db = shown(result.tenant.dbName);
  if (result.droppedDatabase) return `database ${db} dropped`;
  if (result.databaseExists === false) return term.c.dim(`database ${db} no longer exists`);
  if (result.databaseExists === true) return term.c.dim(`database ${db} kept (drop it with --drop-database)`);
  return term.c.dim(`database ${db} not dropped (its server could not be reached to check it)`);
}
