/** `tenant status [--check] [--json]`: the whole fleet on one screen; with --check, a deploy gate (exit 1 when anything needs attention). */
import type { Command } from 'commander';
import { EXIT } from '../../errors.js';
import { addJson } from '../options.js';
import { withSession, type CliState } from '../session.js';
import { provisionerFor } from './create.js';
import { registryOf } from './server.js';

export function registerStatus(program: Command, state: CliState): void {
  const command = program
    .command('status')
    .description('the fleet at a glance: tenants by status, schema versions, failed migrations, stuck creates, runs, servers')
    .option('--check', 'also ask every server (reachable, orphan databases and roles); exit 1 when anything needs attention');
  addJson(command);
  command.addHelpText(
    'after',
    `
Examples:
  $ tenant status
  $ tenant status --check            # exit 1 if anything needs attention (cron, deploy gate)
  $ tenant status --check --json     # the same, with each finding's code

Without --check only the meta database is read (one statement per section).
Findings: MIGRATION_FAILED, TENANTS_BEHIND, UNKNOWN_SCHEMA_VERSION,
PROVISIONING_STALE (a create older than 10 minutes), RUN_ABANDONED, and with
--check SERVER_UNREACHABLE and ORPHANS.`,
  );
  command.action(async (opts: { check?: boolean }, cmd: Command) => {
    await withSession(cmd, state, async ({ term, runtime }) => {
      const [{ fleetStatus }, { loadMigrationFiles }, { renderStatus }] = await Promise.all([
        import('../../status/fleet-status.js'),
        import('../../schema/migration-files.js'),
        import('../status-view.js'),
      ]);
      const check = opts.check === true;
      const files = await loadMigrationFiles(runtime.config.migrationsDir);
      const orphans = async () => {
        const found = await (await provisionerFor(runtime)).findOrphans();
        return found.map((s) => ({
          server: s.server,
          databases: s.orphanDatabases,
          roles: s.orphanRoles,
          ...(s.error ? { error: s.error.message } : {}),
        }));
      };
      if (!term.json && term.interactive) term.progress(check ? 'reading the fleet and asking every server' : 'reading the fleet');
      const status = await fleetStatus({ metaPool: runtime.metaPool, servers: await registryOf(runtime), files, orphans }, { check });
      term.stopSpinner();
      renderStatus(term, status);
      return check && status.findings.length > 0 ? EXIT.failed : EXIT.ok;
    });
  });
}
