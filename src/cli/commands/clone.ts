import type { Command } from 'commander';
import { addActor, addJson } from '../options.js';
import { withSession, type CliState } from '../session.js';
import { moveDepsFor } from './move.js';

interface CloneOptions {
  slug: string;
  name: string;
  plan?: string;
  server?: string;
}

export function registerClone(program: Command, state: CliState): void {
  const command = program
    .command('clone')
    .argument('<tenant>', 'the tenant to copy (id or slug); it keeps serving')
    .description("create a tenant holding a copy of another tenant's data (read in one snapshot)")
    .requiredOption('--slug <slug>', "the new tenant's slug")
    .requiredOption('--name <name>', "the new tenant's display name")
    .option('--plan <plan>', 'free | standard | premium | enterprise', 'standard')
    .option('--server <name>', "the registered server for the copy (default: the source's)");
  addActor(addJson(command));
  command.addHelpText(
    'after',
    '\nExamples:\n  $ tenant clone acme-corp --slug acme-staging --name "ACME staging"\n  $ tenant clone acme-corp --slug acme-repro --name "ACME repro" --server eu-2 --json',
  );
  command.action(async (ref: string, opts: CloneOptions, cmd: Command) => {
    const [{ validateSlug, validateDisplayName }, { validateServerName }] = await Promise.all([
      import('../../provision/tenant-naming.js'),
      import('../../servers/server.js'),
    ]);
    validateSlug(opts.slug);
    validateDisplayName(opts.name);
    if (opts.server !== undefined) validateServerName(opts.server);
    await withSession(cmd, state, async ({ term, runtime, actor }) => {
      const [{ cloneTenant }, view] = await Promise.all([import('../../provision/tenant-clone.js'), import('../move-view.js')]);
      const report = await cloneTenant(
        await moveDepsFor(runtime),
        ref,
        { slug: opts.slug, name: opts.name, ...(opts.plan ? { plan: opts.plan } : {}), ...(opts.server ? { server: opts.server } : {}) },
        { actor, onEvent: view.moveProgress(term, opts.slug) },
      );
      if (term.json) term.printJson(view.cloneJson(report));
      else view.renderClone(term, report);
      return 0;
    });
  });
}
