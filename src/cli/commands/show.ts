import type { Command } from 'commander';
import { tenantToJson } from '../../tenants/tenant.js';
import { addJson, integerOption } from '../options.js';
import { withSession, type CliState } from '../session.js';
import { detailBlock, shown, tenantDetails } from '../tenant-view.js';

export function registerShow(program: Command, state: CliState): void {
  const command = program
    .command('show')
    .argument('<tenant>', 'tenant id (UUID) or slug')
    .description('show one tenant: all fields, recent audit entries, applied and pending migrations')
    .option('--audit <n>', 'how many audit entries to show', integerOption('--audit', 1, 1000), 10);
  addJson(command);
  command.addHelpText('after', '\nExamples:\n  $ tenant show acme-corp\n  $ tenant show 5b6f3c1e-2a4d-4c1b-9f0e-8d7a6b5c4d3e --json');
  command.action(async (ref: string, opts: { audit: number }, cmd: Command) => {
    await withSession(cmd, state, async ({ term, runtime }) => {
      const { loadMigrationFiles } = await import('../../schema/migration-files.js');
      const tenant = await runtime.registry.resolve(ref);
      const deleted = tenant.status === 'deleted';
      const [audit, applied, files, dropped] = await Promise.all([
        runtime.registry.recentAudit(tenant.id, opts.audit),
        runtime.registry.recordedMigrations(tenant.id),
        loadMigrationFiles(runtime.config.migrationsDir),
        deleted ? runtime.registry.droppedDatabases([tenant.id]) : Promise.resolve(new Set<string>()),
      ]);
      const done = new Set(applied.map((m) => m.name));
      // A deleted tenant is never migrated again: nothing is pending for it.
      const pending = deleted ? [] : files.filter((f) => !done.has(f.name)).map((f) => f.name);
      const fate = deleted ? (dropped.has(tenant.id) ? 'dropped' : 'kept') : undefined;
      if (term.json) {
        term.printJson({
          ...tenantToJson(tenant),
          ...(fate ? { databaseDropped: fate === 'dropped' } : {}),
          settings: tenant.settings,
          migrations: {
            applied: applied.map((m) => ({ name: m.name, appliedAt: m.appliedAt.toISOString(), durationMs: m.durationMs })),
            pending,
          },
          audit: audit.map((a) => ({ action: a.action, actor: a.actor, at: a.at.toISOString(), details: a.details })),
        });
        return 0;
      }
      term.line(term.c.bold(shown(tenant.name)));
      term.line(
        detailBlock(term.c, [
          ...tenantDetails(term.c, tenant, fate),
          ['created', tenant.createdAt.toISOString()],
          ['updated', tenant.updatedAt.toISOString()],
          ['settings', shown(JSON.stringify(tenant.settings))],
        ]),
      );
      term.line('');
      if (fate === 'dropped') {
        term.line(term.c.bold(`Migrations: ${applied.length} were applied; the database has since been dropped`));
      } else if (deleted) {
        term.line(term.c.bold(`Migrations: ${applied.length} applied; none pending (a deleted tenant is not migrated)`));
      } else {
        term.line(term.c.bold(`Migrations: ${applied.length} applied, ${pending.length} pending`));
      }
      if (fate !== 'dropped') {
        for (const m of applied) term.line(`  ${term.c.green('✓')} ${shown(m.name)}  ${term.c.dim(m.appliedAt.toISOString())}`);
      }
      for (const name of pending) term.line(`  ${term.c.yellow('•')} ${shown(name)}  ${term.c.dim('pending')}`);
      term.line('');
      term.line(term.c.bold('Recent audit entries'));
      if (audit.length === 0) term.line('  (none)');
      for (const a of audit) {
        const details = Object.keys(a.details).length ? `  ${term.c.dim(shown(JSON.stringify(a.details)))}` : '';
        term.line(`  ${a.at.toISOString()}  ${shown(a.action).padEnd(18)} ${shown(a.actor)}${details}`);
      }
      return 0;
    });
  });
}
