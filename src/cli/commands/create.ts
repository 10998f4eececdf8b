import { input } from '@inquirer/prompts';
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { formatDuration } from '../../duration.js';
import { Provisioner, type CreateStep } from '../../provision/provisioner.js';
import { validateDisplayName, validateSlug } from '../../provision/tenant-naming.js';
import { isTenantPlan, tenantToJson } from '../../core/tenant.js';
import type { Runtime } from '../../runtime.js';
import { addActor, addJson, port } from '../options.js';
import { terminalFor, withSession, type CliState } from '../session.js';
import { detailBlock, tenantDetails } from '../tenant-view.js';

interface CreateOptions {
  slug?: string;
  name?: string;
  plan?: string;
  host?: string;
  port?: number;
  template: boolean;
}

const STEP_TEXT: Record<CreateStep, string> = {
  reclaim: 'cleaning up an abandoned create of this slug',
  register: 'registering the tenant',
  database: 'creating the database',
  migrate: 'applying the tenant schema',
  activate: 'activating',
  template: 'refreshing the template database for faster creates',
  rollback: 'rolling back',
};

export function provisionerFor(runtime: Runtime): Provisioner {
  return new Provisioner({
    registry: runtime.registry,
    connections: runtime.connections,
    migrationsDir: runtime.config.migrationsDir,
    namePrefix: runtime.config.tenantDb.namePrefix,
  });
}

export function registerCreate(program: Command, state: CliState): void {
  const command = program
    .command('create')
    .description('create a tenant: its own database, migrated to the latest schema, registered as active')
    .option('--slug <slug>', 'short unique name: 3-40 of a-z, 0-9 and -, starting with a letter')
    .option('--name <name>', 'display name')
    .option('--plan <plan>', 'free | standard | premium | enterprise', 'standard')
    .option('--host <host>', 'PostgreSQL host for the tenant database (default: TENANT_DB_HOST)')
    .option('--port <port>', 'PostgreSQL port for the tenant database (default: TENANT_DB_PORT)', port)
    .option('--no-template', 'run every migration instead of cloning the template database');
  addActor(addJson(command));
  command.addHelpText(
    'after',
    `
Examples:
  $ tenant create --slug acme-corp --name "ACME Corp"
  $ tenant create --slug globex --name "Globex" --plan enterprise --json`,
  );
  command.action(async (opts: CreateOptions, cmd: Command) => {
    // Bad input is refused before anything (even the embedded cluster) is touched.
    state.term = terminalFor(cmd);
    if (opts.slug !== undefined) validateSlug(opts.slug);
    if (opts.name !== undefined) validateDisplayName(opts.name);
    if (opts.plan !== undefined && !isTenantPlan(opts.plan)) {
      throw new UsageError(`plan must be one of free, standard, premium, enterprise, got "${opts.plan}"`);
    }
    await withSession(cmd, state, async ({ term, runtime, actor, signal }) => {
      const slug = opts.slug ?? (await ask(term.stdinInteractive && !term.json, 'Slug (e.g. acme-corp):', '--slug'));
      const name = opts.name ?? (await ask(term.stdinInteractive && !term.json, 'Display name:', '--name'));
      const provisioner = provisionerFor(runtime);
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
      term.succeed(`tenant ${term.c.bold(result.tenant.slug)} created`);
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
    ...(opts.host !== undefined ? { host: opts.host } : {}),
    ...(opts.port !== undefined ? { port: opts.port } : {}),
  };
}

async function ask(interactive: boolean, message: string, flag: string): Promise<string> {
  if (!interactive) throw new UsageError(`${flag} is required (no terminal to ask on)`);
  return input({ message, required: true });
}
