import { afterAll, describe, expect, it } from 'vitest';
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

describe('tenant CLI lifecycle', () => {
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

  it.each([
    ['x TEMPLATE y'],
    ["a'; drop database postgres; --"],
    ['a'.repeat(64)],
    ['ünïcode'],
  ])('refuses the hostile slug %j with exit 2 and one error line, creating nothing', async (slug) => {
    const before = await env.databases();
    const result = await runCli(['create', '--slug', slug, '--name', 'x'], env.env);
    expect(result.code).toBe(2);
    expect(result.stderr.split('\n').filter((l) => l.startsWith('error:'))).toHaveLength(1);
    expect(await env.databases()).toEqual(before);
  });

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
    const slow = await migrationsWith({ '00090_slow.sql': '-- migrate:up\nSELECT pg_sleep(60);\n-- migrate:down\nSELECT 1;\n' });
    const child = startCli(['create', '--slug', 'killed', '--name', 'Killed', '--no-template'], {
      ...env.env,
      TENANT_MIGRATIONS_DIR: slow,
    });
    // Wait until it is inside the slow migration of the new database.
    const db = `${env.prefix}killed`;
    const deadline = Date.now() + 60_000;
    for (;;) {
      const sleeping = await env.admin(async (c) => {
        const { rowCount } = await c.query("SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND query LIKE '%pg_sleep%'", [db]);
        return (rowCount ?? 0) > 0;
      });
      if (sleeping) break;
      if (Date.now() > deadline) throw new Error('create never reached the slow migration');
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill('SIGKILL');
    await new Promise((r) => child.once('close', r));
    expect((await metaTenants()).find((t) => t.slug === 'killed')?.status).toBe('provisioning');

    // The killed run's admin session may take a moment to be noticed by the server.
    let result = await runCli(['create', '--slug', 'killed', '--name', 'Killed'], env.env);
    for (let i = 0; i < 20 && result.code === 4; i++) {
      await new Promise((r) => setTimeout(r, 250));
      result = await runCli(['create', '--slug', 'killed', '--name', 'Killed'], env.env);
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
});
