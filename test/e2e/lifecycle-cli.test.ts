import { afterAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.js';
import { migrationsWith } from '../support/migrations-dir.js';
import { runCli, startCli } from '../support/run-cli.js';
import { createTestEnvironment } from '../support/test-environment.js';

const env = createTestEnvironment();
afterAll(() => env.cleanup());

const secrets = () => [env.env.TENANT_DB_PASSWORD as string, decodeURIComponent(new URL(env.adminUrl).password)].filter(Boolean);

function expectNoSecrets(text: string): void {
  for (const secret of secrets()) expect(text).not.toContain(secret);
}

async function metaTenants(): Promise<{ slug: string; status: string }[]> {
  const result = await runCli(['list', '--json'], env.env);
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as { slug: string; status: string }[];
}

/** Waits until a create is inside the slow migration of its new database. */
async function insideSlowMigration(db: string): Promise<void> {
  await eventually(
    'create reaches the slow migration',
    () =>
      env.admin(async (c) => {
        const { rowCount } = await c.query("SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND query LIKE '%pg_sleep%'", [db]);
        return (rowCount ?? 0) > 0;
      }),
    60_000,
  );
}

const SLOW_MIGRATION = { '00090_slow.sql': '-- migrate:up\nSELECT pg_sleep(60);\n-- migrate:down\nSELECT 1;\n' };

// A sequential scenario, not independent tests: one tenant fleet on one meta
// database goes through its life in order (create acme-corp and globex, list
// exactly those, suspend and activate acme-corp, the twin race, deletes of the
// tenants created before). Run it as a whole; `-t` on one step alone fails.
describe.sequential('tenant CLI lifecycle (scenario)', () => {
  it('creates a tenant and prints a success block', async () => {
    const result = await runCli(['create', '--slug', 'acme-corp', '--name', 'ACME Corp'], env.env);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('tenant acme-corp created');
    expect(result.stdout).toMatch(/database\s+t[0-9a-f]{8}_acme_corp/);
    expect(result.stdout).toMatch(/status\s+active/);
    expectNoSecrets(result.stdout + result.stderr);
  });

  it('creates with --json and nothing else on stdout', async () => {
    const result = await runCli(['create', '--slug', 'globex', '--name', 'Глобекс', '--plan', 'premium', '--json'], env.env);
    expect(result.code).toBe(0);
    const body = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(body).toMatchObject({ slug: 'globex', name: 'Глобекс', status: 'active', plan: 'premium', dbName: `${env.prefix}globex` });
    expect(body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(['template', 'migrations']).toContain(body.via);
  });

  it('lists tenants as plain lines and as JSON with camelCase fields', async () => {
    const plain = await runCli(['list'], env.env);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/acme-corp\s+ACME Corp\s+active\s+standard/);
    expect(plain.stdout).toContain('Глобекс');
    const tenants = await metaTenants();
    expect(tenants.map((t) => t.slug)).toEqual(['acme-corp', 'globex']);
    expect(Object.keys(tenants[0] as object)).toEqual(
      expect.arrayContaining(['id', 'slug', 'name', 'status', 'plan', 'dbName', 'dbHost', 'dbPort', 'schemaVersion', 'createdAt', 'updatedAt']),
    );
    const filtered = await runCli(['list', '--plan', 'premium', '--json'], env.env);
    expect((JSON.parse(filtered.stdout) as { slug: string }[]).map((t) => t.slug)).toEqual(['globex']);
  });

  it.each([['x TEMPLATE y'], ["a'; drop database postgres; --"], ['a'.repeat(64)], ['ünïcode']])(
    'refuses the hostile slug %j with exit 2 and one error line, creating nothing',
    async (slug) => {
      const before = await env.databases();
      const result = await runCli(['create', '--slug', slug, '--name', 'x'], env.env);
      expect(result.code).toBe(2);
      expect(result.stderr.split('\n').filter((l) => l.startsWith('error:'))).toHaveLength(1);
      expect(await env.databases()).toEqual(before);
    },
  );

  it('never prompts without a terminal: a missing --slug is a usage error', async () => {
    const result = await runCli(['create', '--name', 'No Slug'], env.env);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--slug is required');
  });

  it('answers an unknown flag and a bad environment value with exit 2', async () => {
    const flag = await runCli(['list', '--bogus'], env.env);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("unknown option '--bogus'");
    const bad = await runCli(['list'], { ...env.env, TENANT_MAX_POOLS: 'abc' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('TENANT_MAX_POOLS must be a whole number from 1 to 100000, got "abc"');
  });

  it('suspends idempotently and activates, showing the audit trail', async () => {
    const first = await runCli(['suspend', 'acme-corp', '--reason', 'invoice overdue', '--actor', 'support'], env.env);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('active -> suspended');
    const again = await runCli(['suspend', 'acme-corp'], env.env);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('already suspended');
    const activated = await runCli(['activate', 'acme-corp', '--json'], env.env);
    expect(activated.code).toBe(0);
    expect(JSON.parse(activated.stdout)).toMatchObject({ slug: 'acme-corp', status: 'active', changed: true });
    const shown = await runCli(['show', 'acme-corp', '--json'], env.env);
    const body = JSON.parse(shown.stdout) as { audit: { action: string; actor: string }[]; migrations: { pending: string[] } };
    expect(body.audit.slice(0, 2).map((a) => a.action)).toEqual(['activate', 'suspend']);
    expect(body.audit[1]?.actor).toBe('support');
    expect(body.migrations.pending).toEqual([]);
  });

  it('reports an unknown tenant with exit 3', async () => {
    const result = await runCli(['show', 'nobody-here'], env.env);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('tenant "nobody-here" not found');
  });

  it('lets one of two concurrent creates win; the other exits 4', async () => {
    const results = await Promise.all([
      runCli(['create', '--slug', 'twin', '--name', 'Twin A'], env.env),
      runCli(['create', '--slug', 'twin', '--name', 'Twin B'], env.env),
    ]);
    expect(results.map((r) => r.code).sort()).toEqual([0, 4]);
    expect((await env.databases()).filter((d) => d === `${env.prefix}twin`)).toHaveLength(1);
  });

  it('cleans up a create killed with SIGKILL on the next create of the slug', async () => {
    const slow = await migrationsWith(SLOW_MIGRATION);
    const child = startCli(['create', '--slug', 'killed', '--name', 'Killed', '--no-template'], {
      ...env.env,
      TENANT_MIGRATIONS_DIR: slow,
    });
    const db = `${env.prefix}killed`;
    await insideSlowMigration(db);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('close', r));
    expect((await metaTenants()).find((t) => t.slug === 'killed')?.status).toBe('provisioning');

    // The killed run's admin session may take a moment to be noticed by the server.
    let result = await runCli(['create', '--slug', 'killed', '--name', 'Killed'], env.env);
    if (result.code === 4) {
      await eventually('a create of the killed slug is no longer refused as a conflict (exit 4)', async () => {
        result = await runCli(['create', '--slug', 'killed', '--name', 'Killed'], env.env);
        return result.code !== 4;
      });
    }
    expect(result.code).toBe(0);
    expect((await metaTenants()).find((t) => t.slug === 'killed')?.status).toBe('active');
    expect((await env.databases()).filter((d) => d === db)).toHaveLength(1);
  });

  it('deletes only with --yes without a terminal, keeping or dropping the database', async () => {
    const refused = await runCli(['delete', 'twin'], env.env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--yes is required');
    expect((await metaTenants()).find((t) => t.slug === 'twin')?.status).toBe('active');

    const kept = await runCli(['delete', 'twin', '--yes', '--reason', 'contract ended'], env.env);
    expect(kept.code).toBe(0);
    expect(kept.stdout).toContain('is now deleted');
    expect(await env.databases()).toContain(`${env.prefix}twin`);
    const activate = await runCli(['activate', 'twin'], env.env);
    expect(activate.code).toBe(4);

    const dropped = await runCli(['delete', 'twin', '--yes', '--drop-database', '--json'], env.env);
    expect(dropped.code).toBe(0);
    expect(JSON.parse(dropped.stdout)).toMatchObject({ status: 'deleted', changed: false, droppedDatabase: true });
    expect(await env.databases()).not.toContain(`${env.prefix}twin`);
  });

  it('says what really exists after a delete; list hides deleted tenants unless asked', async () => {
    // twin was deleted above, and its database dropped.
    const again = await runCli(['delete', 'twin', '--yes'], env.env);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('was already deleted');
    expect(again.stdout).toContain(`database ${env.prefix}twin no longer exists`);
    expect(again.stdout).not.toContain('kept');

    expect((await metaTenants()).map((t) => t.slug)).not.toContain('twin');
    const plain = await runCli(['list'], env.env);
    expect(plain.stdout).toContain('1 deleted tenant hidden (--all shows them)');
    for (const flags of [['--all'], ['--status', 'deleted']]) {
      const listed = await runCli(['list', ...flags, '--json'], env.env);
      const twin = (JSON.parse(listed.stdout) as Record<string, unknown>[]).find((t) => t.slug === 'twin');
      expect(twin).toMatchObject({ status: 'deleted', pendingMigrations: null, databaseDropped: true });
    }
    const clash = await runCli(['list', '--all', '--status', 'active'], env.env);
    expect(clash.code).toBe(2);

    const shown = await runCli(['show', 'twin'], env.env);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/database\s+\S+_twin on \S+ \(dropped\)/);
    expect(shown.stdout).toContain('the database has since been dropped');
    expect(shown.stdout).not.toContain('pending');
    const json = JSON.parse((await runCli(['show', 'twin', '--json'], env.env)).stdout) as {
      migrations: { pending: string[] };
      databaseDropped: boolean;
    };
    expect(json.migrations.pending).toEqual([]);
    expect(json.databaseDropped).toBe(true);
  });

  it("refuses a deleted tenant's slug, saying it was deleted and is never reused", async () => {
    const result = await runCli(['create', '--slug', 'twin', '--name', 'Twin again'], env.env);
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/slug "twin" belonged to a tenant deleted on \d{4}-\d{2}-\d{2}; slugs of deleted tenants are never reused/);
    expect(result.stderr).toContain('hint: choose another slug');
  });

  it('blames the migrations folder, not the tenant, when its schema is ahead of the folder', async () => {
    const rt = await env.runtime();
    expect((await runCli(['suspend', 'globex', '--yes'], env.env)).code).toBe(0);
    await rt.metaPool.query("UPDATE tenants SET schema_version = '99999_from_a_newer_checkout' WHERE slug = 'globex'");
    const result = await runCli(['activate', 'globex'], env.env);
    expect(result.code).toBe(4);
    expect(result.stderr).toContain('newer than the latest migration in this migrations folder');
    expect(result.stderr).toContain('older checkout');
    expect(result.stderr).toContain('TENANT_MIGRATIONS_DIR');
    expect(result.stderr).not.toContain('tenant migrate');
    await rt.metaPool.query("UPDATE tenants SET schema_version = '00006_posting' WHERE slug = 'globex'");
    expect((await runCli(['activate', 'globex'], env.env)).code).toBe(0);
  });

  it('never prints a control character from stored data raw', async () => {
    const rt = await env.runtime();
    const acme = await rt.registry.resolve('acme-corp');
    await rt.metaPool.query('UPDATE tenants SET display_name = $2 WHERE id = $1', [acme.id, 'ACME \u001b[2J\u001b]0;owned\u0007Corp']);
    await rt.registry.audit(acme, 'note', 'eve\u001b[31m', { text: 'csi\u009b31m del\u007f' });
    for (const args of [['show', 'acme-corp'], ['list'], ['show', 'acme-corp', '--json'], ['list', '--json']]) {
      const result = await runCli(args, env.env);
      expect(result.code).toBe(0);
      expect(result.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    }
    const shown = await runCli(['show', 'acme-corp'], env.env);
    expect(shown.stdout).toContain('ACME \\x1b[2J\\x1b]0;owned\\x07Corp');
    expect(shown.stdout).toContain('eve\\x1b[31m');
    const json = JSON.parse((await runCli(['show', 'acme-corp', '--json'], env.env)).stdout) as {
      name: string;
      audit: { details: { text?: string } }[];
    };
    // Escaped in the text, the same value once parsed.
    expect(json.name).toBe('ACME \u001b[2J\u001b]0;owned\u0007Corp');
    expect(json.audit[0]?.details.text).toBe('csi\u009b31m del\u007f');
    await rt.metaPool.query('UPDATE tenants SET display_name = $2 WHERE id = $1', [acme.id, 'ACME Corp']);
  });

  it('gives a hint for a host name that does not resolve', async () => {
    const url = 'postgres://u:secret@no-such-host.invalid:5432/meta';
    const meta = await runCli(['list'], { ...env.env, META_DATABASE_URL: url, POSTGRES_ADMIN_URL: url });
    expect(meta.code).toBe(5);
    expect(meta.stderr).toContain('hint: check META_DATABASE_URL');
    expect(meta.stderr).not.toContain('secret');
    // A tenant goes on a registered server only: an unknown address is bad input.
    const tenantHost = await runCli(['create', '--slug', 'far-away', '--name', 'Far', '--host', 'no-such-host.invalid'], env.env);
    expect(tenantHost.code).toBe(2);
    expect(tenantHost.stderr).toContain('no server is registered at no-such-host.invalid');
    // Registering it is where the address is reached: no hint from the library, one from the CLI.
    const server = await runCli(['server', 'add', 'far-away', '--host', 'no-such-host.invalid', '--port', '5432'], env.env);
    expect(server.code).toBe(5);
    expect(server.stderr).toMatch(/hint: the host name "no-such-host.invalid" does not resolve/);
    expect(server.stderr).not.toContain('secret');
  });

  it('silences the notice with --quiet', async () => {
    const loud = await runCli(['list'], env.env);
    expect(loud.stderr).toContain('using PostgreSQL at');
    for (const flag of ['--quiet', '-q']) {
      const quiet = await runCli(['list', flag], env.env);
      expect(quiet.code).toBe(0);
      expect(quiet.stderr).toBe('');
    }
  });

  it('calls SIGTERM by its name and exits 143, keeping nothing of the create', async () => {
    const slow = await migrationsWith(SLOW_MIGRATION);
    const child = startCli(['create', '--slug', 'termed', '--name', 'Termed', '--no-template'], { ...env.env, TENANT_MIGRATIONS_DIR: slow });
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    await insideSlowMigration(`${env.prefix}termed`);
    child.kill('SIGTERM');
    const code = await new Promise((r) => child.once('close', r));
    expect(code).toBe(143);
    expect(stderr).toContain('SIGTERM received');
    expect(stderr).not.toContain('Ctrl-C');
    expect((await metaTenants()).map((t) => t.slug)).not.toContain('termed');
    expect(await env.databases()).not.toContain(`${env.prefix}termed`);
  });
});
