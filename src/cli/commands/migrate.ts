// TEMPORARY placeholder, replaced by the fleet migration work (not to be committed).
import type { Command } from 'commander';
import type { CliState } from '../session.js';
export function registerMigrate(program: Command, _state: CliState): void {
  program.command('migrate').description('migrate tenant databases to the latest schema');
}
