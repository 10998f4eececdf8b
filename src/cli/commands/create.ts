import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { formatDuration } from '../../duration.js';
import type { CreateStep, Provisioner } from '../../provision/provisioner.js';
import { tenantToJson, validatePlan } from '../../tenants/tenant.js';
import type { Runtime } from '../../runtime/runtime.js';
import { addActor, addJson, port } from '../options.js';
import { askOnTerminal } from '../prompts.js';
import { configFor, terminalFor, withSession, type CliState } from '../session.js';
import { detailBlock, shown, tenantDetails } from '../tenant-view.js';

interface CreateOptions {
  slug?: string;
  name?: string;
  plan?: string;
  server?: string;
  host?: string;
  port?: number;
  template: boolean;
}

const STEP_TEXT: Record<CreateStep, string> = {
  reclaim: 'cleaning up an abandoned create of this slug',
  register: 'registering the tenant',
  roles: 'creating the tenant roles',
  database: 'creating the database',
  migrate: 'applying the tenant schema',
  grants: 'granting the app role its access',
  activate: 'activating',
  template: 'refreshing the template database for faster creates',
  rollback: 'rolling back',
};

/** The provisioner (and with it the migration engine) is loaded by the commands that use it. */
export async function provisionerFor(runtime: Runtime): Promise<Provisioner> {
  const { Provisioner } = await import('../../provision/provisioner.js');
  return new Provisioner({
    registry: runtime.registry,
    connections: runtime.connections,
    migrationsDir: runtime.config.migrationsDir,
    namePrefix: runtime.config.tenantDb.namePrefix,
    secrets: runtime.secrets,
  });
}

export function registerCreate(program: Command, state: CliState): void {
  const command = program
    .command('create')
    .description('create a tenant: its own database, migrated to the latest schema, registered as active')
    .option('--slug <slug>', 'short unique name: 3-40 of a-z, 0-9 and -, starting with a letter')
    .option('--name <name>', 'display name')
    .option('--plan <plan>', 'free | standard | premium | enterprise', 'standard')
    .option('--server <name>', 'put it on this registered server (default: the active server with the most room)')
    .option('--host <host>', 'put it on the server registered at this host (with --port; default TENANT_DB_HOST)')
    .option('--port <port>', 'put it on the server registered at this port (with --host; default TENANT_DB_PORT)', port)
    .option('--no-template', 'run every migration instead of cloning the template database');
  addActor(addJson(command));
  command.addHelpText(
    'after',
    `
Examples:
  $ tenant create --slug acme-corp --name "ACME Corp"
  $ tenant create --slug globex --name "Globex" --plan enterprise --json
  $ tenant create --slug initech --name "Initech" --server eu-2

Placement: without --server (or --host/--port, which must name a registered
server) the tenant goes on the active server with the most free capacity.
No active server with room: exit 4.`,
  );
  command.action(async (opts: CreateOptions, cmd: Command) => {
    // Bad input is refused before anything (even the embedded cluster) is touched.
    const term = (state.term = terminalFor(cmd));
    const { validateDisplayName, validateHost, validateSlug } = await import('../../provision/tenant-naming.js');
    if (opts.slug !== undefined) validateSlug(opts.slug);
    if (opts.name !== undefined) validateDisplayName(opts.name);
    if (opts.host !== undefined) validateHost(opts.host);
    if (opts.server !== undefined) {
      const { validateServerName } = await import('../../servers/server.js');
      validateServerName(opts.server);
      if (opts.host !== undefined || opts.port !== undefined) throw new UsageError('give either --server or --host/--port, not both');
    }
    if (opts.plan !== undefined) validatePlan(opts.plan);
    const missing = [opts.slug === undefined ? '--slug' : '', opts.name === undefined ? '--name' : ''].filter(Boolean);
    if (missing.length > 0 && (!term.stdinInteractive || term.json)) {
      throw new UsageError(`${missing.join(' and ')} ${missing.length === 1 ? 'is' : 'are'} required (no terminal to ask on)`, {
        hint: 'pass them as flags, e.g. `tenant create --slug acme-corp --name "ACME Corp"`',
      });
    }
    // A bad configuration is reported before the questions, not after them.
    if (missing.length > 0) await configFor(cmd);
    const slug = opts.slug ?? (await askOnTerminal(term, 'Slug (e.g. acme-corp):', validateSlug));
    const name = opts.name ?? (await askOnTerminal(term, 'Display name:', validateDisplayName));
    await withSession(cmd, state, async ({ term, runtime, actor, signal }) => {
      const provisioner = await provisionerFor(runtime);
      const result = await provisioner.create(
        { slug, name, ...pick(opts) },
        {
          actor,
          signal,
          useTemplate: opts.template,
          onStep: (step, detail) => term.progress(`${slug}: ${STEP_TEXT[step]}${detail ? ` (${detail})` : ''}`),
        },
      );
      if (result.templateWarning) term.warn(result.templateWarning);
      if (term.json) {
        term.printJson({ ...tenantToJson(result.tenant), via: result.via, durationMs: Math.round(result.durationMs) });
        return 0;
      }
      term.succeed(`tenant ${term.c.bold(shown(result.tenant.slug))} created`);
      term.line(
        detailBlock(term.c, [
          ...tenantDetails(term.c, result.tenant),
          ['time', `${formatDuration(result.durationMs)} (${result.via === 'template' ? 'template clone' : `${result.applied} migrations`})`],
        ]),
      );
      return 0;
    });
  });
}

function pick(opts: CreateOptions) {
  return {
    ...(opts.plan !== undefined ? { plan: opts.plan } : {}),
    ...(opts.server !== undefined ? { server: opts.server } : {}),
    ...(opts.host !== undefined ? { host: opts.host } : {}),
    ...(opts.port !== undefined ? { port: opts.port } : {}),
  };
}
