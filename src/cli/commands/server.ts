import { Option, type Command } from 'commander';
import { UsageError } from '../../errors.js';
import { validateServerName } from '../../servers/server.js';
import type { Runtime } from '../../runtime/runtime.js';
import type { ServerRegistry } from '../../servers/server-registry.js';
import { addActor, addJson, integerOption, port } from '../options.js';
import { withSession, type CliState } from '../session.js';
import { shown } from '../tenant-view.js';

interface AddOptions {
  host: string;
  port: number;
  adminUser?: string;
  adminPasswordStdin?: boolean;
  capacity?: number;
  connections?: number;
}

const count = integerOption('--capacity', 0, 1_000_000);
const budget = integerOption('--connections', 1, 1_000_000);
/** `--capacity none` (no limit) or a number (commander keeps no null, so the word stays until the action). */
const capacityOrNone = (value: string): number | 'none' => (value === 'none' ? value : count(value));
/** `--connections auto` (derived from max_connections) or a number. */
const connectionsOrAuto = (value: string): number | 'auto' => (value === 'auto' ? value : budget(value));

export async function registryOf(runtime: Runtime): Promise<ServerRegistry> {
  const { ServerRegistry } = await import('../../servers/server-registry.js');
  return new ServerRegistry(runtime.metaPool, runtime.servers.adminSources);
}

/** The whole of stdin, less one trailing newline (`printf %s "$PW" |` and `echo "$PW" |` both work). */
async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new UsageError('--admin-password-stdin reads the password from a pipe, not a terminal');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

export function registerServer(program: Command, state: CliState): void {
  const server = program
    .command('server')
    .description('the PostgreSQL servers tenant databases live on: add, list, drain, activate, set, remove');
  server.addHelpText(
    'after',
    `
A server's admin login comes from TENANT_SERVER_<NAME>_ADMIN_URL (e.g. server
eu-2: TENANT_SERVER_EU_2_ADMIN_URL), else --admin-user with a password sealed by
the secret key (--admin-password-stdin), else --admin-user with ~/.pgpass
(PGPASSFILE). The default server uses the configured admin URL.

Examples:
  $ TENANT_SERVER_EU_2_ADMIN_URL=postgres://admin:pw@db-eu-2:5432/postgres tenant server add eu-2 --host db-eu-2 --port 5432 --capacity 500
  $ printf %s "$PW" | tenant server add eu-3 --host db-eu-3 --port 5432 --admin-user admin --admin-password-stdin
  $ tenant server list
  $ tenant server drain default
  $ tenant server set eu-2 --capacity none --connections 80
  $ tenant server remove eu-3`,
  );

  const add = server
    .command('add')
    .argument('<name>', 'server name: 2-40 of a-z, 0-9 and -, starting with a letter')
    .description('register a server after proving its admin login can create databases and roles there')
    .requiredOption('--host <host>', 'host name, IP address or socket folder')
    .requiredOption('--port <port>', 'port', port)
    .option('--admin-user <user>', 'admin login user (password sealed from --admin-password-stdin, or from ~/.pgpass)')
    .option('--admin-password-stdin', 'read the admin password from stdin; it is stored sealed with the secret key')
    .option('--capacity <n>', 'at most this many tenants (default: no limit)', count)
    .option('--connections <m>', 'connections one process may hold to it (default: derived from max_connections)', budget);
  addActor(addJson(add)).action(async (name: string, opts: AddOptions, cmd: Command) => {
    // Bad input is refused before anything (even the embedded cluster) starts.
    validateServerName(name);
    if (opts.adminPasswordStdin && opts.adminUser === undefined) throw new UsageError('--admin-password-stdin needs --admin-user');
    const password = opts.adminPasswordStdin ? await readStdin() : undefined;
    await withSession(cmd, state, async ({ term, runtime, actor }) => {
      const [registry, { serverProof }] = await Promise.all([registryOf(runtime), import('../../provision/server-proof.js')]);
      term.progress(`checking ${opts.host}:${opts.port}`);
      const result = await registry.add(
        {
          name,
          host: opts.host,
          port: opts.port,
          ...(opts.adminUser !== undefined ? { adminUser: opts.adminUser } : {}),
          ...(password !== undefined ? { adminPassword: password } : {}),
          ...(opts.capacity !== undefined ? { capacity: opts.capacity } : {}),
          ...(opts.connections !== undefined ? { connections: opts.connections } : {}),
        },
        actor,
        serverProof({
          namePrefix: runtime.config.tenantDb.namePrefix,
          ...(runtime.connections.isolateNewTenants ? {} : { sharedRole: runtime.connections.tenant.user }),
        }),
      );
      await runtime.servers.refresh();
      const { serverJson, adminText, address } = await import('../server-view.js');
      if (term.json) {
        term.printJson(
          serverJson(result.server, {
            tenants: 0,
            admin: result.admin,
            version: result.probe.version,
            maxConnections: result.probe.maxConnections,
          }),
        );
        return 0;
      }
      term.succeed(
        `server ${term.c.bold(shown(result.server.name))} added: ${address(result.server)}, PostgreSQL ${result.probe.version}, admin login from ${adminText(result.admin)}`,
      );
      return 0;
    });
  });

  addJson(
    server
      .command('list')
      .alias('ls')
      .description('servers with tenants/capacity, connection budget, reachability, PostgreSQL version and admin login source'),
  ).action(async (_opts: unknown, cmd: Command) => {
    await withSession(cmd, state, async ({ term, runtime }) => {
      const reports = await (await registryOf(runtime)).report();
      const { serverReportJson, serverTable } = await import('../server-view.js');
      if (term.json) {
        term.printJson(reports.map(serverReportJson));
        return 0;
      }
      term.line(serverTable(term.c, reports, !term.interactive));
      return 0;
    });
  });

  for (const [verb, description] of [
    ['drain', 'place no new tenants on it (its tenants stay)'],
    ['activate', 'place new tenants on it again'],
  ] as const) {
    const command = server.command(verb).argument('<name>', 'server name').description(description);
    addActor(addJson(command)).action(async (name: string, _opts: unknown, cmd: Command) => {
      validateServerName(name);
      await withSession(cmd, state, async ({ term, runtime, actor }) => {
        const registry = await registryOf(runtime);
        const result = verb === 'drain' ? await registry.drain(name, actor) : await registry.activate(name, actor);
        await runtime.servers.refresh();
        const { serverJson } = await import('../server-view.js');
        if (term.json) term.printJson(serverJson(result.server, { changed: result.changed }));
        else if (result.changed) term.succeed(`server ${term.c.bold(shown(result.server.name))} is ${result.server.status}`);
        else term.line(`server ${shown(result.server.name)} was already ${result.server.status}`);
        return 0;
      });
    });
  }

  const set = server
    .command('set')
    .argument('<name>', 'server name')
    .description('change its capacity (tenants) or connection budget')
    .addOption(new Option('--capacity <n>', 'at most n tenants, or "none" for no limit').argParser(capacityOrNone))
    .addOption(
      new Option('--connections <m>', 'connections one process may hold, or "auto" (derived from max_connections)').argParser(connectionsOrAuto),
    );
  addActor(addJson(set)).action(async (name: string, opts: { capacity?: number | 'none'; connections?: number | 'auto' }, cmd: Command) => {
    validateServerName(name);
    if (opts.capacity === undefined && opts.connections === undefined) throw new UsageError('give --capacity and/or --connections');
    await withSession(cmd, state, async ({ term, runtime, actor }) => {
      const registry = await registryOf(runtime);
      const result = await registry.set(
        name,
        {
          ...(opts.capacity !== undefined ? { capacity: opts.capacity === 'none' ? null : opts.capacity } : {}),
          ...(opts.connections !== undefined ? { connections: opts.connections === 'auto' ? null : opts.connections } : {}),
        },
        actor,
      );
      await runtime.servers.refresh();
      const { serverJson, budgetText } = await import('../server-view.js');
      if (term.json) {
        term.printJson(serverJson(result.server, { tenants: result.tenants }));
        return 0;
      }
      term.succeed(
        `server ${term.c.bold(shown(result.server.name))}: ${result.tenants}/${result.server.capacity ?? '∞'} tenants, connections ${budgetText(result.server)}`,
      );
      if (result.server.capacity !== null && result.tenants > result.server.capacity) {
        term.warn(`it holds more tenants than its new capacity: no new ones go there until it has room`);
      }
      return 0;
    });
  });

  const remove = server.command('remove').argument('<name>', 'server name').description('unregister a server that holds no tenants');
  addActor(addJson(remove)).action(async (name: string, _opts: unknown, cmd: Command) => {
    validateServerName(name);
    await withSession(cmd, state, async ({ term, runtime, actor }) => {
      const result = await (await registryOf(runtime)).remove(name, actor);
      await runtime.servers.refresh();
      const { serverJson } = await import('../server-view.js');
      if (term.json) term.printJson(serverJson(result.server, { removed: true, deletedTenants: result.deletedTenants }));
      else term.succeed(`server ${term.c.bold(shown(result.server.name))} removed`);
      return 0;
    });
  });
}
