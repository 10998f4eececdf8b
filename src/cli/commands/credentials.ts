/**
 * `tenant credentials`: a tenant's logins. `show` (roles, key, a redacted
 * URL; `--reveal` for the real one, audited), `rotate` (a new app-role
 * password, online), `isolate` (shared-mode tenants get roles of their own,
 * online). Exit codes: 0 ok, 1 some tenant failed, 2 usage.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { parseDuration } from '../../duration.js';
import { EXIT, UsageError } from '../../errors.js';
import { addActor, addJson, integerOption } from '../options.js';
import { terminalFor, withSession, type CliState } from '../session.js';

interface TargetOptions {
  all?: boolean;
  concurrency?: number;
  json?: boolean;
}

/** `<tenant...>` or `--all`, exactly one of them. */
function targets(refs: string[], opts: TargetOptions, verb: string): string[] | 'all' {
  if (opts.all && refs.length > 0) throw new UsageError(`give tenants to ${verb} or --all, not both`);
  if (!opts.all && refs.length === 0) throw new UsageError(`name the tenant(s) to ${verb}, or pass --all`);
  return opts.all ? 'all' : refs;
}

function grace(value: string): number {
  const ms = value.trim() === '0' ? 0 : parseDuration(value);
  if (ms === undefined) throw new InvalidArgumentError('--grace must be a duration like 500ms, 10s or 1m');
  return ms;
}

export function registerCredentials(program: Command, state: CliState): void {
  const credentials = program
    .command('credentials')
    .description("a tenant's database logins: show them, rotate the app-role password, isolate shared-mode tenants");
  credentials.addHelpText(
    'after',
    `
Examples:
  $ tenant credentials show acme-corp
  $ tenant credentials show acme-corp --reveal          # the real password (audited)
  $ tenant credentials rotate acme-corp
  $ tenant credentials rotate --all --concurrency 8 --json
  $ tenant credentials isolate --all --grace 10s

Exit codes: 0 ok, 1 some tenant failed, 2 usage.`,
  );
  registerShowCredentials(credentials, state);
  registerRotate(credentials, state);
  registerIsolate(credentials, state);
}

function registerShowCredentials(credentials: Command, state: CliState): void {
  const show = credentials
    .command('show')
    .argument('<tenant>', 'tenant id (UUID) or slug')
    .description("the tenant's mode, roles, secret key and version, and a connection URL with the password redacted")
    .option('--reveal', 'put the real password in the URL (audited with the actor)')
    .option('-y, --yes', 'reveal even when stdout is not a terminal (a pipe, a file, a log)');
  addActor(addJson(show));
  show.action(async (ref: string, opts: { reveal?: boolean; yes?: boolean }, cmd: Command) => {
    state.term = terminalFor(cmd);
    // A revealed password must not land in a log or a file by accident.
    if (opts.reveal && !opts.yes && !process.stdout.isTTY) {
      throw new UsageError('--reveal prints a password and stdout is not a terminal', {
        hint: 'add --yes if it really should go there',
      });
    }
    await withSession(cmd, state, async ({ term, runtime, actor }) => {
      const [{ describeTenantCredentials }, { renderCredentials }] = await Promise.all([
        import('../../provision/tenant-credentials.js'),
        import('../credentials-view.js'),
      ]);
      const info = await describeTenantCredentials(runtime, ref, { reveal: opts.reveal === true, actor });
      renderCredentials(term, info, (text) => process.stdout.write(text));
      return EXIT.ok;
    });
  });
}

function registerRotate(credentials: Command, state: CliState): void {
  const rotate = credentials
    .command('rotate')
    .argument('[tenants...]', 'tenant ids (UUID) or slugs')
    .description('give the app role of each tenant a new password, online: open connections keep working, servers switch as they hear of it')
    .option('--all', 'every tenant with a login role of its own')
    .option('--concurrency <n>', 'tenants rotated at once (default: 4)', integerOption('--concurrency', 1, 100));
  addActor(addJson(rotate));
  rotate.addHelpText(
    'after',
    '\nA rotation left half done (interrupted) is completed by the next one.\nShared-mode tenants have no password of their own: `tenant credentials isolate` them first.',
  );
  rotate.action(async (refs: string[], opts: TargetOptions, cmd: Command) => {
    state.term = terminalFor(cmd);
    const which = targets(refs, opts, 'rotate');
    await withSession(cmd, state, async ({ term, runtime, actor }) => {
      const [{ rotateTenantCredentials }, view] = await Promise.all([
        import('../../provision/credential-rotation.js'),
        import('../credentials-view.js'),
      ]);
      if (!term.json) term.progress('rotating');
      const outcome = await rotateTenantCredentials(runtime, which, {
        actor,
        ...(opts.concurrency ? { concurrency: opts.concurrency } : {}),
        onTenant: (result) => {
          if (term.json) return;
          term.stopSpinner();
          term.line(view.rotationLine(term.c, result));
        },
      });
      term.stopSpinner();
      if (term.json) term.printJson({ results: outcome.results.map(view.rotationJson), counts: outcome.counts });
      else term.line(view.totalsText(outcome.counts));
      return outcome.counts.failed > 0 ? EXIT.failed : EXIT.ok;
    });
  });
}

function registerIsolate(credentials: Command, state: CliState): void {
  const isolate = credentials
    .command('isolate')
    .argument('[tenants...]', 'tenant ids (UUID) or slugs')
    .description('give shared-mode tenants an owner and a login role of their own, online')
    .option('--all', 'every tenant still in shared mode')
    .option('--grace <duration>', 'how long open connections of the shared login may finish after the switch (default: 10s)', grace)
    .option('--concurrency <n>', 'tenants isolated at once (default: 4)', integerOption('--concurrency', 1, 100));
  addActor(addJson(isolate));
  isolate.action(async (refs: string[], opts: TargetOptions & { grace?: number }, cmd: Command) => {
    state.term = terminalFor(cmd);
    const which = targets(refs, opts, 'isolate');
    await withSession(cmd, state, async ({ term, runtime, actor }) => {
      const [{ isolateTenants }, view] = await Promise.all([
        import('../../provision/credential-isolation.js'),
        import('../credentials-view.js'),
      ]);
      if (!term.json) term.progress('isolating');
      const outcome = await isolateTenants(runtime, which, {
        actor,
        ...(opts.grace === undefined ? {} : { graceMs: opts.grace }),
        ...(opts.concurrency ? { concurrency: opts.concurrency } : {}),
        onTenant: (result) => {
          if (term.json) return;
          term.stopSpinner();
          term.line(view.isolationLine(term.c, result));
        },
      });
      term.stopSpinner();
      const counts = { isolated: 0, 'already-isolated': 0, failed: 0 } as Record<string, number>;
      for (const r of outcome) counts[r.outcome] = (counts[r.outcome] ?? 0) + 1;
      if (term.json) term.printJson({ results: outcome.map(view.isolationJson), counts });
      else term.line(`${counts.isolated} isolated, ${counts['already-isolated']} already isolated, ${counts.failed} failed`);
      return (counts.failed ?? 0) > 0 ? EXIT.failed : EXIT.ok;
    });
  });
}
