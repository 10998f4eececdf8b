/**
 * `tenant user`: the API users of one tenant (its `users` table): `add`
 * (the password from a hidden prompt, or from stdin with --password-stdin;
 * never from an argument), `list`, `disable` (signs the user out everywhere)
 * and `enable`. Each calls one function of src/erp/auth/tenant-users.ts.
 * Exit codes: 0 ok, 2 usage or bad input, 3 tenant or user not found,
 * 4 conflict (the e-mail is taken; the tenant is suspended).
 */
import { Option, type Command } from 'commander';
import { UsageError, ValidationError } from '../../errors.js';
import { ROLES, type RoleCode } from '../../erp/auth/permissions.js';
import { addJson, freeText } from '../options.js';
import { terminalFor, withSession, type CliState } from '../session.js';

/** The flag a library field name stands for, so a refusal names what the user typed. */
const FLAG_OF: Record<string, string> = { email: '--email', fullName: '--name', role: '--role', password: 'the password' };

/** A field-by-field refusal of the library, as one line naming the flags. */
function asUsage(err: unknown): never {
  if (err instanceof ValidationError) {
    const parts = Object.entries(err.fields).map(([field, message]) => `${FLAG_OF[field] ?? field} ${message}`);
    throw new UsageError(parts.length > 0 ? parts.join('; ') : err.message, { cause: err });
  }
  throw err;
}

export function registerUser(program: Command, state: CliState): void {
  const user = program.command('user').description("a tenant's API users: add, list, disable and enable them");
  user.addHelpText(
    'after',
    `
Examples:
  $ tenant user add acme-corp --email admin@acme.example --role admin --name "Ada Admin"
  $ printf '%s\\n' "$PASSWORD" | tenant user add acme-corp --email clerk@acme.example --role clerk --password-stdin
  $ tenant user list acme-corp
  $ tenant user list acme-corp --json
  $ tenant user disable acme-corp clerk@acme.example
  $ tenant user enable acme-corp clerk@acme.example

Exit codes: 0 ok, 2 usage or bad input, 3 tenant or user not found, 4 conflict (e-mail taken, tenant suspended).`,
  );
  registerAdd(user, state);
  registerListUsers(user, state);
  registerChange(user, state, 'disable');
  registerChange(user, state, 'enable');
  for (const command of user.commands) command.exitOverride().showHelpAfterError('(run with --help for usage)');
}

interface AddOptions {
  email: string;
  role: RoleCode;
  name?: string;
  passwordStdin?: boolean;
}

function registerAdd(user: Command, state: CliState): void {
  const add = user
    .command('add')
    .argument('<tenant>', 'tenant id (UUID) or slug')
    .description('add a user who can log in to the API (POST /api/v1/auth/login) with one standard role')
    .addOption(
      new Option('--email <address>', "the user's e-mail, the login name (case-insensitive)")
        .argParser(freeText('--email', 254))
        .makeOptionMandatory(),
    )
    .addOption(new Option('--role <role>', 'the standard role').choices(ROLES).default('viewer' satisfies RoleCode))
    .addOption(new Option('--name <text>', "the user's full name").argParser(freeText('--name', 200)))
    .option('--password-stdin', 'read the password from the first line of stdin (for scripts) instead of a hidden prompt');
  addJson(add);
  add.addHelpText(
    'after',
    `
The password (10 to 1024 characters) is asked twice, hidden, on a terminal. Without a terminal
pass --password-stdin and pipe it in; it is never taken as an argument, printed or logged.
Roles: admin (every permission), clerk (catalogs and documents, no posting), viewer (read only).`,
  );
  add.action(async (ref: string, opts: AddOptions, cmd: Command) => {
    const term = terminalFor(cmd);
    state.term = term;
    // Asked (or read) before any database is opened: nothing waits on a connection while someone types,
    // and a script without a password fails at once.
    if (!opts.passwordStdin && !term.stdinInteractive) {
      throw new UsageError('no terminal to ask for the password: pipe it in with --password-stdin');
    }
    const { askNewPassword, passwordFromStdin } = await import('../password-input.js');
    const password = opts.passwordStdin ? await passwordFromStdin() : await askNewPassword(term);
    await withSession(cmd, state, async ({ term, runtime, signal }) => {
      const { addTenantUser } = await import('../../erp/auth/tenant-users.js');
      const { tenant, result } = await addTenantUser(
        runtime,
        ref,
        { email: opts.email, password, role: opts.role, ...(opts.name === undefined ? {} : { fullName: opts.name }) },
        { signal },
      ).catch(asUsage);
      const view = await import('../user-view.js');
      if (term.json) term.printJson(view.userJson(tenant, result));
      else term.line(view.addedUserText(term.c, tenant, result));
      return 0;
    });
  });
}

function registerListUsers(user: Command, state: CliState): void {
  const list = user
    .command('list')
    .alias('ls')
    .argument('<tenant>', 'tenant id (UUID) or slug')
    .description("the tenant's users with their roles, status, last login and creation time");
  addJson(list);
  list.action(async (ref: string, _opts: unknown, cmd: Command) => {
    await withSession(cmd, state, async ({ term, runtime, signal }) => {
      const { listTenantUsers } = await import('../../erp/auth/tenant-users.js');
      const { tenant, result } = await listTenantUsers(runtime, ref, { signal });
      const view = await import('../user-view.js');
      if (term.json) {
        term.printJson(view.userListJson(result));
        return 0;
      }
      if (result.length > 0) term.line(view.userTable(term.c, result, !term.interactive));
      term.line(result.length > 0 ? term.c.dim(view.userCountText(tenant, result)) : view.userCountText(tenant, result));
      return 0;
    });
  });
}

function registerChange(user: Command, state: CliState, verb: 'disable' | 'enable'): void {
  const command = user
    .command(verb)
    .argument('<tenant>', 'tenant id (UUID) or slug')
    .argument('<email>', "the user's e-mail (case-insensitive)")
    .description(
      verb === 'disable'
        ? 'stop a user: no new logins, every refresh token revoked, access tokens refused at once'
        : 'let a disabled user log in again',
    );
  addJson(command);
  command.action(async (ref: string, email: string, _opts: unknown, cmd: Command) => {
    await withSession(cmd, state, async ({ term, runtime, signal }) => {
      const users = await import('../../erp/auth/tenant-users.js');
      const change = verb === 'disable' ? users.disableTenantUser : users.enableTenantUser;
      const { tenant, result } = await change(runtime, ref, email, { signal }).catch(asUsage);
      const view = await import('../user-view.js');
      const done = verb === 'disable' ? 'disabled' : 'enabled';
      if (term.json) term.printJson(view.userChangeJson(tenant, result, done));
      else term.line(view.userChangeText(term.c, tenant, result, done));
      return 0;
    });
  });
}
