import { confirm } from '@inquirer/prompts';
import type { Command } from 'commander';
import { tenantToJson } from '../../core/tenant.js';
import { UsageError } from '../../errors.js';
import { addActor, addJson } from '../options.js';
import { withSession, type CliState } from '../session.js';
import { statusLabel } from '../tenant-view.js';
import { provisionerFor } from './create.js';

export function registerDelete(program: Command, state: CliState): void {
  const command = program
    .command('delete')
    .argument('<tenant>', 'tenant id (UUID) or slug')
    .description('delete a tenant: servers refuse it at once; its database is kept unless --drop-database')
    .option('--reason <text>', 'why (kept in the audit trail)')
    .option('--drop-database', 'also drop the tenant database (irreversible)')
    .option('-y, --yes', 'do not ask for confirmation (required without a terminal)');
  addActor(addJson(command));
  command.addHelpText(
    'after',
    '\nExamples:\n  $ tenant delete acme-corp --reason "contract ended"\n  $ tenant delete acme-corp --drop-database --yes --json',
  );
  command.action(async (ref: string, opts: { reason?: string; dropDatabase?: boolean; yes?: boolean }, cmd: Command) => {
    await withSession(cmd, state, async ({ term, runtime, actor }) => {
      if (!opts.yes) {
        if (!term.stdinInteractive || term.json) throw new UsageError('--yes is required to delete without a terminal');
        const tenant = await runtime.registry.resolve(ref);
        const what = opts.dropDatabase ? ` and DROP its database ${tenant.dbName}` : '';
        if (!(await confirm({ message: `Delete tenant "${tenant.slug}" (${tenant.name})${what}?`, default: false }))) {
          term.note('not deleted');
          return 1;
        }
      }
      const result = await provisionerFor(runtime).delete(ref, {
        actor,
        ...(opts.reason ? { reason: opts.reason } : {}),
        dropDatabase: opts.dropDatabase === true,
      });
      if (term.json) {
        term.printJson({ ...tenantToJson(result.tenant), changed: result.changed, droppedDatabase: result.droppedDatabase });
        return 0;
      }
      term.line(
        result.changed
          ? `tenant ${term.c.bold(result.tenant.slug)} is now ${statusLabel(term.c, 'deleted')}`
          : `tenant ${term.c.bold(result.tenant.slug)} was already deleted`,
      );
      if (result.droppedDatabase) term.line(`database ${result.tenant.dbName} dropped`);
      else if (!opts.dropDatabase) term.line(term.c.dim(`database ${result.tenant.dbName} kept (drop it with --drop-database)`));
      return 0;
    });
  });
}
