import path from 'node:path';
import type { Command } from 'commander';
import { addActor, addJson } from '../options.js';
import { terminalFor, withSession, type CliState } from '../session.js';
import { shown } from '../tenant-view.js';

export function registerSecrets(program: Command, state: CliState): void {
  const secrets = program.command('secrets').description('the key that seals tenant passwords in the meta database');
  secrets.addHelpText(
    'after',
    `
Tenant passwords are sealed with TENANT_SECRET_KEY (or TENANT_SECRET_KEY_FILE);
the meta database never sees the key. To change keys online: make a new key,
give every server and worker the new key as TENANT_SECRET_KEY and the old one in
TENANT_SECRET_PREVIOUS_KEYS, run \`tenant secrets rekey\`, then drop the old key.

Examples:
  $ tenant secrets new-key --out /etc/metapus/secret.key
  $ tenant secrets status
  $ TENANT_SECRET_PREVIOUS_KEYS="$OLD_KEY" tenant secrets rekey --json`,
  );

  secrets
    .command('new-key')
    .description('make a new random key: written to a file (mode 0600), or printed')
    .option('--out <file>', 'write the key to this file (refuses to overwrite)')
    .action(async (opts: { out?: string }, cmd: Command) => {
      const term = (state.term = terminalFor(cmd));
      const { generateSecretKey, secretKeyText, writeSecretKeyFile } = await import('../../secrets/secret-key.js');
      if (!opts.out) {
        // The key itself is the output (like `openssl rand -base64 32`): stdout only, nothing else there.
        process.stdout.write(`${secretKeyText(generateSecretKey())}\n`);
        return;
      }
      const file = path.resolve(opts.out);
      const key = writeSecretKeyFile(file);
      term.succeed(`wrote a new key (id ${key.id}) to ${file}; set TENANT_SECRET_KEY_FILE=${file}`);
    });

  addJson(secrets.command('status').description('which keys seal the stored secrets, and whether this configuration holds them')).action(
    async (_opts: unknown, cmd: Command) => {
      await withSession(cmd, state, async ({ term, runtime }) => {
        const usage = await runtime.secrets.keyUsage();
        const missing = usage.filter((u) => u.held === 'missing');
        if (term.json) {
          term.printJson({ keySource: runtime.secrets.keyring.available ? runtime.secrets.keyring.source : null, keys: usage });
        } else {
          term.line(runtime.secrets.keyring.available ? `current key from ${runtime.secrets.keyring.source}` : 'no current key configured');
          if (usage.length === 0) term.line('no secrets stored');
          for (const u of usage) term.line(`key ${u.keyId}  ${u.held.padEnd(8)}  ${u.secrets} secret(s)`);
          if (missing.length > 0)
            term.warn('some secrets are sealed with a key this configuration does not hold; set it in TENANT_SECRET_PREVIOUS_KEYS');
          else if (usage.some((u) => u.held === 'previous' && u.secrets > 0))
            term.note('run `tenant secrets rekey` to move them to the current key');
        }
        return missing.length > 0 ? 1 : 0;
      });
    },
  );

  const rekey = secrets
    .command('rekey')
    .description('re-seal every stored secret with the current key (online; needs the old key in TENANT_SECRET_PREVIOUS_KEYS)');
  addActor(addJson(rekey)).action(async (_opts: unknown, cmd: Command) => {
    await withSession(cmd, state, async ({ term, runtime, actor }) => {
      const result = await runtime.secrets.rekey(actor);
      if (term.json) {
        term.printJson(result);
      } else {
        const key = runtime.secrets.keyring.current().id;
        for (const r of result.rekeyed) term.line(`${shown(r.slug)}: re-sealed (key ${r.from} -> ${key})`);
        for (const f of result.failed) term.warn(`${shown(f.slug)}: ${f.error}`);
        term.line(`${result.rekeyed.length} re-sealed, ${result.alreadyCurrent} already on key ${key}, ${result.failed.length} failed`);
      }
      return result.failed.length > 0 ? 1 : 0;
    });
  });
}
