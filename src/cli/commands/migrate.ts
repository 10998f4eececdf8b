/**
 * `tenant migrate`: a command group. `up` is its default command, so
 * `tenant migrate [options]` still means `tenant migrate up [options]`;
 * `down`, `history` and `status` each have options of their own. Positional options
 * keep them apart: whatever follows a subcommand is that subcommand's.
 */
import type { Command } from 'commander';
import type { CliState } from '../session.js';
import { registerMigrateDown } from './migrate-down.js';
import { registerMigrateHistory } from './migrate-history.js';
import { registerMigrateStatus } from './migrate-status.js';
import { registerMigrateUp } from './migrate-up.js';

export function registerMigrate(program: Command, state: CliState): void {
  const migrate = program
    .command('migrate')
    .description(
      'migrate tenant databases to the latest schema (`migrate up`, the default), revert (`down`), list runs (`history`), or follow one (`status`)',
    )
    .enablePositionalOptions();
  const up = registerMigrateUp(migrate, state);
  registerMigrateDown(migrate, state);
  registerMigrateHistory(migrate, state);
  registerMigrateStatus(migrate, state);
  // `tenant migrate --help` describes what `tenant migrate` runs: up, with its options.
  migrate.addHelpText('after', () => `\n\`tenant migrate\` without a command runs \`tenant migrate up\`:\n\n${up.helpInformation()}`);
}
