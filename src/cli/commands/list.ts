import type { Command } from 'commander';
import { tenantToJson, type TenantPlan, type TenantStatus } from '../../core/tenant.js';
import { loadMigrationFiles } from '../../migrate/migration-files.js';
import { pendingByTenant } from '../../migrate/pending-migrations.js';
import { addJson, planList, statusList } from '../options.js';
import { withSession, type CliState } from '../session.js';
import { tenantTable } from '../tenant-view.js';

interface ListOptions {
  status?: TenantStatus[];
  plan?: TenantPlan[];
}

export function registerList(program: Command, state: CliState): void {
  const command = program
    .command('list')
    .alias('ls')
    .description('list tenants with status, plan, database, schema version and pending migrations')
    .option('--status <status>', 'only these statuses (comma-separated or repeated)', statusList)
    .option('--plan <plan>', 'only these plans (comma-separated or repeated)', planList);
  addJson(command);
  command.addHelpText(
    'after',
    `
Examples:
  $ tenant list
  $ tenant list --status suspended,migration_failed
  $ tenant list --plan enterprise --json`,
  );
  command.action(async (opts: ListOptions, cmd: Command) => {
    await withSession(cmd, state, async ({ term, runtime }) => {
      const tenants = await runtime.registry.list({
        ...(opts.status ? { status: opts.status } : {}),
        ...(opts.plan ? { plan: opts.plan } : {}),
      });
      const files = await loadMigrationFiles(runtime.config.migrationsDir);
      const pending = await pendingByTenant(runtime.metaPool, files, tenants.map((t) => t.id));
      const rows = tenants.map((tenant) => ({ tenant, pending: pending.get(tenant.id)?.length ?? 0 }));
      if (term.json) {
        term.printJson(rows.map(({ tenant, pending: n }) => ({ ...tenantToJson(tenant), pendingMigrations: n })));
        return 0;
      }
      if (rows.length === 0) {
        term.line(opts.status || opts.plan ? 'No tenants match.' : 'No tenants yet. Create one with `tenant create --slug acme --name "ACME"`.');
        return 0;
      }
      term.line(tenantTable(term.c, rows, !term.interactive));
      term.line(term.c.dim(`${rows.length} tenant${rows.length === 1 ? '' : 's'}`));
      return 0;
    });
  });
}
