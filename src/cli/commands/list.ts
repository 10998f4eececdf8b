import { Option, type Command } from 'commander';
import { tenantToJson, type TenantPlan, type TenantStatus } from '../../tenants/tenant.js';
import { addJson, planList, statusList } from '../options.js';
import { validateServerName } from '../../servers/server.js';
import { withSession, type CliState } from '../session.js';
import type { TenantRow } from '../tenant-table.js';

interface ListOptions {
  status?: TenantStatus[];
  plan?: TenantPlan[];
  all?: boolean;
  server?: string[];
}

/** Server names, comma-separated or repeated; each validated. */
function serverList(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').map((name) => validateServerName(name))];
}

export function registerList(program: Command, state: CliState): void {
  const command = program
    .command('list')
    .alias('ls')
    .description('list tenants with status, plan, database, schema version and pending migrations (deleted ones with --all)')
    .option('--status <status>', 'only these statuses (comma-separated or repeated)', statusList)
    .option('--plan <plan>', 'only these plans (comma-separated or repeated)', planList)
    .option('--server <name>', 'only tenants on these servers (comma-separated or repeated)', serverList)
    .addOption(new Option('--all', 'also deleted tenants (hidden by default)').conflicts('status'));
  addJson(command);
  command.addHelpText(
    'after',
    `
Examples:
  $ tenant list
  $ tenant list --status suspended,migration_failed
  $ tenant list --status deleted
  $ tenant list --all --plan enterprise --json
  $ tenant list --server eu-2

Deleted tenants are hidden unless --all or --status deleted.`,
  );
  command.action(async (opts: ListOptions, cmd: Command) => {
    await withSession(cmd, state, async ({ term, runtime }) => {
      const listed = await runtime.registry.list({
        ...(opts.status ? { status: opts.status } : {}),
        ...(opts.plan ? { plan: opts.plan } : {}),
        ...(opts.server ? { servers: opts.server } : {}),
      });
      // Deleted tenants are history, not fleet: shown only when asked for.
      const showDeleted = opts.all === true || opts.status !== undefined;
      const tenants = showDeleted ? listed : listed.filter((t) => t.status !== 'deleted');
      const hidden = listed.length - tenants.length;
      const live = tenants.filter((t) => t.status !== 'deleted');
      const [{ loadMigrationFiles }, { pendingByTenant }] = await Promise.all([
        import('../../schema/migration-files.js'),
        import('../../migrate/pending-migrations.js'),
      ]);
      const files = await loadMigrationFiles(runtime.config.migrationsDir);
      const pending = await pendingByTenant(
        runtime.metaPool,
        files,
        live.map((t) => t.id),
      );
      const dropped = await runtime.registry.droppedDatabases(tenants.filter((t) => t.status === 'deleted').map((t) => t.id));
      // A deleted tenant is never migrated again: "pending" does not apply to it.
      const rows: TenantRow[] = tenants.map((tenant) =>
        tenant.status === 'deleted'
          ? { tenant, pending: undefined, fate: dropped.has(tenant.id) ? 'dropped' : 'kept' }
          : { tenant, pending: pending.get(tenant.id)?.length ?? 0 },
      );
      if (term.json) {
        term.printJson(
          rows.map(({ tenant, pending: n, fate }) => ({
            ...tenantToJson(tenant),
            pendingMigrations: n ?? null,
            ...(fate ? { databaseDropped: fate === 'dropped' } : {}),
          })),
        );
        return 0;
      }
      const hiddenNote = hidden > 0 ? `${hidden} deleted tenant${hidden === 1 ? '' : 's'} hidden (--all shows them)` : '';
      if (rows.length === 0) {
        term.line(
          opts.status || opts.plan || opts.server
            ? 'No tenants match.'
            : hidden > 0
              ? `No tenants; ${hiddenNote}.`
              : 'No tenants yet. Create one with `tenant create --slug acme --name "ACME"`.',
        );
        return 0;
      }
      const { tenantTable } = await import('../tenant-table.js');
      term.line(tenantTable(term.c, rows, !term.interactive));
      term.line(term.c.dim(`${rows.length} tenant${rows.length === 1 ? '' : 's'}${hiddenNote ? `; ${hiddenNote}` : ''}`));
      return 0;
    });
  });
}
