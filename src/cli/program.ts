/**
 * The `tenant` command tree. Each command file parses, calls one library
 * function and renders. Registering needs commander only: what a command
 * uses (pg and the runtime, prompts, spinner, table, migration engine) it
 * imports when it runs, so `tenant --help` and scripts calling the CLI in
 * loops do not pay for the rest (guarded by test/e2e/cli-startup.test.ts).
 */
import { Command, Option } from 'commander';
import { escapeControlCharacters } from '../control-characters.js';
import { registerActivate, registerSuspend } from './commands/status-change.js';
import { registerCreate } from './commands/create.js';
import { registerCredentials } from './commands/credentials.js';
import { registerDelete } from './commands/delete.js';
import { registerList } from './commands/list.js';
import { registerLocal } from './commands/local.js';
import { registerMigrate } from './commands/migrate.js';
import { registerClone } from './commands/clone.js';
import { registerMove } from './commands/move.js';
import { registerRepair } from './commands/repair.js';
import { registerSecrets } from './commands/secrets.js';
import { registerServer } from './commands/server.js';
import { registerShow } from './commands/show.js';
import { registerStatus } from './commands/status.js';
import { registerUser } from './commands/user.js';
import type { CliState } from './session.js';
import { PACKAGE_VERSION } from './version.js';

export function createProgram(state: CliState): Command {
  const program = new Command('tenant')
    .description('Manage a database-per-tenant PostgreSQL fleet: create, list, migrate, suspend and activate tenants.')
    .version(PACKAGE_VERSION, '-V, --version')
    .option('-v, --verbose', 'show progress lines and stack traces')
    .option('-q, --quiet', 'no notices (such as which PostgreSQL is used); warnings and errors still show')
    .option('--no-color', 'disable colours (also NO_COLOR, TERM=dumb, FORCE_COLOR=0; FORCE_COLOR=1..3 forces them)')
    .option('--env <path>', 'read configuration from this .env file (default: ./.env)')
    // The older spelling. Node checks any `--env-file` argument itself and exits 9 when the
    // file is missing, before our code runs; `--env` never reaches Node's own parser.
    .addOption(new Option('--env-file <path>', 'same as --env').hideHelp())
    .showHelpAfterError('(run with --help for usage)')
    .showSuggestionAfterError(true)
    .exitOverride()
    // commander echoes what was typed; a control character in it must not reach the terminal raw.
    .configureOutput({ outputError: (text, write) => write(escapeControlCharacters(text, { keepNewlines: true })) });

  registerCreate(program, state);
  registerList(program, state);
  registerShow(program, state);
  registerStatus(program, state);
  registerMigrate(program, state);
  registerSuspend(program, state);
  registerActivate(program, state);
  registerDelete(program, state);
  registerMove(program, state);
  registerClone(program, state);
  registerRepair(program, state);
  registerSecrets(program, state);
  registerCredentials(program, state);
  registerUser(program, state);
  registerServer(program, state);
  registerLocal(program, state);

  program.addHelpText(
    'after',
    `
Examples:
  $ tenant create --slug acme-corp --name "ACME Corp"
  $ tenant list
  $ tenant show acme-corp
  $ tenant migrate --concurrency 8
  $ tenant suspend acme-corp --reason "invoice overdue" --yes
  $ tenant activate acme-corp
  $ tenant user add acme-corp --email ada@acme.example --role admin

With no META_DATABASE_URL, commands use an embedded PostgreSQL kept in TENANT_HOME.
Exit codes: 0 ok, 1 operation failed, 2 usage or bad input, 3 tenant not found,
4 conflict (exists, wrong state, locked), 5 database unavailable,
130 interrupted (Ctrl-C), 143 terminated (SIGTERM).`,
  );
  // Subcommands inherit error handling.
  for (const command of program.commands) {
    command.exitOverride().showHelpAfterError('(run with --help for usage)');
  }
  return program;
}
