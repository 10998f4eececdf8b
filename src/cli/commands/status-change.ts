import type { Command } from 'commander';
import { tenantToJson } from '../../tenants/tenant.js';
import type { StatusChangeResult } from '../../tenants/tenant-registry.js';
import { addActor, addJson, addReason } from '../options.js';
import { confirmOnTerminal } from '../prompts.js';
import { withSession, type CliState } from '../session.js';
import type { Terminal } from '../terminal.js';
import { shown, statusLabel } from '../tenant-view.js';

export function registerSuspend(program: Command, state: CliState): void {
  const command = program
    .command('suspend')
    .argument('<tenant>', 'tenant id (UUID) or slug')
    .description('suspend a tenant: running servers refuse its requests at once (NOTIFY)')
    .option('-y, --yes', 'do not ask for confirmation');
  addActor(addJson(addReason(command)));
  command.addHelpText(
    'after',
    '\nExamples:\n  $ tenant suspend acme-corp --reason "invoice overdue"\n  $ tenant suspend acme-corp --yes --json',
  );
  command.action(async (ref: string, opts: { reason?: string; yes?: boolean }, cmd: Command) => {
    await withSession(cmd, state, async ({ term, runtime, actor }) => {
      if (!opts.yes && term.stdinInteractive && !term.json) {
        const tenant = await runtime.registry.resolve(ref);
        if (tenant.status !== 'suspended') {
          const ok = await confirmOnTerminal(term, `Suspend tenant "${shown(tenant.slug)}" (${shown(tenant.name)})?`);
          if (!ok) {
            term.note('not suspended');
            return 1;
          }
        }
      }
      const { suspendTenant } = await import('../../tenants/tenant-lifecycle.js');
      const result = await suspendTenant(runtime.registry, ref, { actor, ...(opts.reason ? { reason: opts.reason } : {}) });
      report(term, result, 'suspended');
      return 0;
    });
  });
}

export function registerActivate(program: Command, state: CliState): void {
  const command = program
    .command('activate')
    .argument('<tenant>', 'tenant id (UUID) or slug')
    .description('activate a suspended tenant (its schema must be current)');
  addActor(addJson(addReason(command)));
  command.addHelpText('after', '\nExamples:\n  $ tenant activate acme-corp\n  $ tenant activate 5b6f3c1e-2a4d-4c1b-9f0e-8d7a6b5c4d3e --json');
  command.action(async (ref: string, opts: { reason?: string }, cmd: Command) => {
    await withSession(cmd, state, async ({ term, runtime, actor }) => {
      const [{ activateTenant }, { loadMigrationFiles, latestVersion }] = await Promise.all([
        import('../../tenants/tenant-lifecycle.js'),
        import('../../schema/migration-files.js'),
      ]);
      const files = await loadMigrationFiles(runtime.config.migrationsDir);
      const result = await activateTenant(runtime.registry, ref, {
        actor,
        latestVersion: latestVersion(files),
        migrationsDir: runtime.config.migrationsDir,
        ...(opts.reason ? { reason: opts.reason } : {}),
      });
      report(term, result, 'active');
      return 0;
    });
  });
}

function report(term: Terminal, result: StatusChangeResult, target: string): void {
  const { tenant, changed, previousStatus } = result;
  if (term.json) {
    term.printJson({ ...tenantToJson(tenant), changed, previousStatus });
    return;
  }
  if (changed) {
    term.line(`tenant ${term.c.bold(shown(tenant.slug))}: ${statusLabel(term.c, previousStatus)} -> ${statusLabel(term.c, tenant.status)}`);
  } else {
    term.line(`tenant ${term.c.bold(shown(tenant.slug))} is already ${target}; nothing to do`);
  }
}
