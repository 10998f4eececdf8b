import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tenant } from '../../src/tenants/tenant.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { appliedInDb, inTenantDb, tableExists } from '../support/fleet-fixtures.js';
import { migrationsWith } from '../support/migrations-dir.js';
import { runCli, startCli, type CliResult } from '../support/run-cli.js';
import { createTenants } from '../support/tenant-fixtures.js';
import { createTestEnvironment } from '../support/test-environment.js';

const env = createTestEnvironment();
let rt: Runtime;
let tenants: Tenant[];
let bad: Tenant;

const STRICT_UNITS = `-- migrate:up
ALTER TABLE warehouses ADD COLUMN region text;
ALTER TABLE units ADD CONSTRAINT units_name_not_blank CHECK (name <> '');
-- migrate:down
ALTER TABLE units DROP CONSTRAINT units_name_not_blank;
ALTER TABLE warehouses DROP COLUMN region;
`;
const PRICE_LISTS = `-- migrate:up
CREATE TABLE price_lists (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), name text NOT NULL);
-- migrate:down
DROP TABLE price_lists;
`;
const SLOW = `-- migrate:up
SELECT pg_sleep(0.3);
CREATE TABLE slow_things (id int);
-- migrate:down
DROP TABLE slow_things;
`;

interface TenantJson {
  tenantId: string;
  slug: string;
  status: string;
  from: string | null;
  to: string | null;
  applied: string[];
  planned?: string[];
  durationMs: number;
  error: { code: string; message: string; migration?: string } | null;
}
interface FleetJson {
  runId: string | null;
  status: string;
  results: TenantJson[];
}

const secrets = () => [env.env.TENANT_DB_PASSWORD as string, decodeURIComponent(new URL(env.adminUrl).password)].filter(Boolean);
function expectNoSecrets(result: CliResult): void {
  for (const secret of secrets()) expect(result.stdout + result.stderr).not.toContain(secret);
}

async function migrationsEnv(extra: Record<string, string>): Promise<Record<string, string>> {
  return { ...env.env, TENANT_MIGRATIONS_DIR: await migrationsWith(extra) };
}

function parse(result: CliResult): FleetJson {
  return JSON.parse(result.stdout) as FleetJson;
}

const bySlug = (doc: FleetJson) => new Map(doc.results.map((r) => [r.slug, r]));

beforeAll(async () => {
  rt = await env.runtime();
  tenants = await createTenants(rt, 4, 'cli');
  bad = tenants[2] as Tenant;
  await inTenantDb(bad, rt.connections.tenant, (c) => c.query("INSERT INTO units (code, name) VALUES ('pcs', '')"));
});
afterAll(() => env.cleanup());

describe('tenant migrate (CLI)', () => {
  it('answers bad input with exit 2 (or 3 for an unknown tenant) and changes nothing', async () => {
    const cliEnv = await migrationsEnv({ '00007_strict_units.sql': STRICT_UNITS });
    const cases: [string[], number, string][] = [
      [['migrate', '--concurrency', '0'], 2, '--concurrency must be a whole number from 1 to 1000'],
      [['migrate', '--retries', '11'], 2, '--retries must be a whole number from 0 to 10'],
      [['migrate', '--id', 'not-a-uuid'], 2, 'UUID'],
      [['migrate', '--if-locked', 'maybe'], 2, 'maybe'],
      [['migrate', '--lock-timeout', 'soon'], 2, 'duration'],
      [['migrate', '--to', '00042_nope'], 2, 'migration "00042_nope" does not exist'],
      [['migrate', '--status', 'deleted'], 2, 'cannot be migrated'],
      [['migrate', '--all', '--slug', 'cli-000'], 2, 'cannot be used with'],
      [['migrate', 'down', '--to', '00005_stock_registers'], 2, 'needs explicit tenants'],
      [['migrate', 'down', '--slug', 'cli-000'], 2, 'needs --to'],
      [['migrate', 'down', '--slug', 'cli-000', '--to', '00005_stock_registers'], 2, '--yes'],
      [['migrate', '--slug', 'no-such-tenant'], 3, 'tenant "no-such-tenant" not found'],
    ];
    for (const [args, code, message] of cases) {
      const result = await runCli(args, cliEnv);
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(code);
      expect(result.stderr).toContain(message);
      expect(result.stdout).toBe('');
    }
    for (const tenant of tenants) expect((await appliedInDb(tenant, rt.connections.tenant)).at(-1)).toBe('00006_posting');
  });

  it('migrate down --help offers only what down accepts, worded for reverting', async () => {
    const help = await runCli(['migrate', 'down', '--help'], env.env);
    expect(help.code).toBe(0);
    for (const refused of ['--all', '--status', '--verify']) expect(help.stdout).not.toContain(refused);
    expect(help.stdout).toContain('tenants reverted at once');
    expect(help.stdout).toContain('also revert named tenants that are suspended');
    expect(help.stdout).not.toMatch(/also migrate|tenants migrated at once/);
    expect(help.stdout).toContain('--retries <n>');
    // What down refuses is refused with a reason, not silently taken.
    for (const refused of [['--status', 'active'], ['--verify'], ['--all']]) {
      const result = await runCli(['migrate', 'down', '--slug', 'cli-000', '--to', '00005_stock_registers', '--dry-run', ...refused], env.env);
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toContain('cannot be used with');
    }
    const up = await runCli(['migrate', '--help'], env.env);
    expect(up.stdout).toContain('tenants migrated at once');
    expect(up.stdout).toContain('--retries <n>');
  });

  it('--dry-run --json lists the migrations per tenant and changes nothing', async () => {
    const cliEnv = await migrationsEnv({ '00007_strict_units.sql': STRICT_UNITS });
    const result = await runCli(['migrate', '--dry-run', '--json'], cliEnv);
    expect(result.code, result.stderr).toBe(0);
    const doc = parse(result);
    expect(doc.runId).toBeNull();
    expect(doc.results).toHaveLength(4);
    // `to` is the version the run would reach.
    for (const r of doc.results) {
      expect(r).toMatchObject({
        status: 'pending',
        planned: ['00007_strict_units'],
        applied: [],
        from: '00006_posting',
        to: '00007_strict_units',
      });
    }
    const text = await runCli(['migrate', '--dry-run'], cliEnv);
    expect(text.stdout).toContain(`${tenants[0]?.slug}: would apply 00007_strict_units (00006_posting -> 00007_strict_units)`);
    for (const tenant of tenants) expect(await appliedInDb(tenant, rt.connections.tenant)).not.toContain('00007_strict_units');
  });

  it('`migrate up` is `migrate`; each subcommand reads the options after it', async () => {
    const cliEnv = await migrationsEnv({ '00007_strict_units.sql': STRICT_UNITS });
    const implicit = await runCli(['migrate', '--dry-run', '--json'], cliEnv);
    const explicit = await runCli(['migrate', 'up', '--dry-run', '--json'], cliEnv);
    expect(explicit.code, explicit.stderr).toBe(0);
    expect(parse(explicit).results).toEqual(parse(implicit).results.map((r) => ({ ...r, durationMs: expect.any(Number) })));
    const help = await runCli(['migrate', '--help'], env.env);
    for (const command of ['up', 'down', 'history']) expect(help.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
    // An option of `up` is not one of `history`, wherever it is written.
    const stray = await runCli(['migrate', 'history', '--dry-run'], env.env);
    expect(stray.code).toBe(2);
    expect(stray.stderr).toContain("unknown option '--dry-run'");
    const down = await runCli(['migrate', 'down', '--slug', 'cli-000', '--to', '00005_stock_registers', '--dry-run', '--json'], cliEnv);
    expect(down.code, down.stderr).toBe(0);
    expect(parse(down).results).toEqual([expect.objectContaining({ slug: 'cli-000', status: 'pending', planned: ['00006_posting'] })]);
  });

  it('exits 1 when one tenant fails, migrates the others, and a resumed run exits 0 after the fix', async () => {
    const cliEnv = await migrationsEnv({ '00007_strict_units.sql': STRICT_UNITS });
    const first = await runCli(['migrate', '--json', '--concurrency', '2'], cliEnv);
    expect(first.code, first.stderr).toBe(1);
    expectNoSecrets(first);
    const doc = parse(first);
    expect(doc.status).toBe('failed');
    expect(doc.runId).toMatch(/^[0-9a-f-]{36}$/);
    for (const r of doc.results) {
      expect(Object.keys(r)).toEqual(expect.arrayContaining(['tenantId', 'slug', 'status', 'from', 'to', 'applied', 'durationMs', 'error']));
    }
    const results = bySlug(doc);
    expect(results.get(bad.slug)).toMatchObject({
      status: 'failed',
      from: '00006_posting',
      to: '00006_posting',
      applied: [],
      error: { code: 'MIGRATION_FAILED', migration: '00007_strict_units' },
    });
    for (const t of tenants.filter((t) => t !== bad)) {
      expect(results.get(t.slug)).toMatchObject({ status: 'migrated', applied: ['00007_strict_units'], error: null });
    }
    expect((await rt.registry.resolve(bad.id)).status).toBe('migration_failed');

    await inTenantDb(bad, rt.connections.tenant, (c) => c.query("UPDATE units SET name = 'pieces' WHERE name = ''"));
    const resumed = await runCli(['migrate', '--resume', doc.runId as string, '--json'], cliEnv);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(parse(resumed).results.map((r) => [r.slug, r.status])).toEqual([[bad.slug, 'migrated']]);
    expect((await rt.registry.resolve(bad.id)).status).toBe('active');

    const again = await runCli(['migrate', '--json'], cliEnv);
    expect(again.code).toBe(0);
    expect(parse(again).results.every((r) => r.status === 'up-to-date')).toBe(true);
  });

  it('prints one plain line per tenant and a summary table without a TTY', async () => {
    const cliEnv = await migrationsEnv({ '00007_strict_units.sql': STRICT_UNITS, '00008_price_lists.sql': PRICE_LISTS });
    const result = await runCli(['migrate'], cliEnv);
    expect(result.code, result.stderr).toBe(0);
    expectNoSecrets(result);
    const lines = result.stdout.split('\n');
    for (const t of tenants) {
      expect(lines.filter((l) => l.startsWith(`${t.slug}: migrated 00007_strict_units -> 00008_price_lists (1 applied`))).toHaveLength(1);
    }
    expect(result.stdout).toMatch(/tenant\s+from -> to\s+applied\s+duration\s+result/);
    expect(result.stdout).toContain('4 tenants: 4 migrated');
    expect(result.stdout).not.toMatch(/\u001b\[/);
  });

  it('two `tenant migrate` processes at once apply each migration exactly once and both exit 0', async () => {
    const cliEnv = await migrationsEnv({
      '00007_strict_units.sql': STRICT_UNITS,
      '00008_price_lists.sql': PRICE_LISTS,
      '00009_slow_things.sql': SLOW,
    });
    const [a, b] = await Promise.all([
      runCli(['migrate', '--json', '--concurrency', '2'], cliEnv),
      runCli(['migrate', '--json', '--concurrency', '2'], cliEnv),
    ]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const [ra, rb] = [bySlug(parse(a)), bySlug(parse(b))];
    for (const t of tenants) {
      const applied = [...(ra.get(t.slug)?.applied ?? []), ...(rb.get(t.slug)?.applied ?? [])];
      expect(applied).toEqual(['00009_slow_things']);
      expect(await tableExists(t, rt.connections.tenant, 'slow_things')).toBe(true);
    }
  });

  it('migrate down --yes reverts named tenants only, and history shows the runs', async () => {
    const cliEnv = await migrationsEnv({
      '00007_strict_units.sql': STRICT_UNITS,
      '00008_price_lists.sql': PRICE_LISTS,
      '00009_slow_things.sql': SLOW,
    });
    const target = tenants[0] as Tenant;
    const down = await runCli(['migrate', 'down', '--slug', target.slug, '--to', '00007_strict_units', '--yes', '--json'], cliEnv);
    expect(down.code, down.stderr).toBe(0);
    const doc = parse(down);
    expect(doc.results).toEqual([
      expect.objectContaining({
        slug: target.slug,
        status: 'reverted',
        to: '00007_strict_units',
        applied: [],
        reverted: ['00009_slow_things', '00008_price_lists'],
      }),
    ]);
    expect(await tableExists(target, rt.connections.tenant, 'price_lists')).toBe(false);
    expect(await tableExists(tenants[1] as Tenant, rt.connections.tenant, 'price_lists')).toBe(true);

    const list = await runCli(['list', '--json'], cliEnv);
    const row = (JSON.parse(list.stdout) as { slug: string; status: string; schemaVersion: string; pendingMigrations: number }[]).find(
      (t) => t.slug === target.slug,
    );
    expect(row).toMatchObject({ status: 'active', schemaVersion: '00007_strict_units', pendingMigrations: 2 });

    const history = await runCli(['migrate', 'history', '--json'], cliEnv);
    expect(history.code, history.stderr).toBe(0);
    const runs = JSON.parse(history.stdout) as { id: string; direction: string; status: string; counts: Record<string, number> }[];
    expect(runs[0]).toMatchObject({ id: doc.runId, direction: 'down', status: 'succeeded', counts: { reverted: 1, migrated: 0 } });
    expect(runs.some((r) => r.status === 'failed')).toBe(true);

    const shown = await runCli(['migrate', 'history', (doc.runId as string).slice(0, 8)], cliEnv);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain(doc.runId as string);
    expect(shown.stdout).toMatch(/tenant\s+from -> to\s+reverted\s+duration\s+result/);
    expect(shown.stdout).toMatch(new RegExp(`${target.slug}\\s+00009_slow_things -> 00007_strict_units\\s+2\\s+\\S+\\s+reverted`));

    const up = await runCli(['migrate', '--slug', target.slug, '--json'], cliEnv);
    expect(parse(up).results[0]).toMatchObject({ status: 'migrated', applied: ['00008_price_lists', '00009_slow_things'] });
  });

  it('on Ctrl-C lets the running tenant finish, starts no more, exits 130, and the run can be resumed', async () => {
    const cliEnv = await migrationsEnv({
      '00007_strict_units.sql': STRICT_UNITS,
      '00008_price_lists.sql': PRICE_LISTS,
      '00009_slow_things.sql': SLOW,
      '00010_slower_things.sql': SLOW.replaceAll('slow_things', 'slower_things'),
    });
    const child = startCli(['migrate', '--concurrency', '1'], cliEnv);
    let stdout = '';
    let stderr = '';
    let signalled = false;
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdout?.on('data', (c: Buffer) => {
      stdout += c.toString();
      // After the first tenant is done (the second is running by now), press Ctrl-C.
      if (!signalled && /: migrated /.test(stdout)) {
        signalled = true;
        child.kill('SIGINT');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, stderr).toBe(130);
    expect(stderr).toContain('interrupted');
    expect(stdout).toContain('skipped: not started: interrupted');
    const history = await runCli(['migrate', 'history', 'last', '--json'], cliEnv);
    const run = JSON.parse(history.stdout) as { id: string; status: string; counts: Record<string, number> };
    expect(run.status).toBe('interrupted');
    expect(run.counts.migrated).toBeGreaterThanOrEqual(1);
    expect(run.counts.skipped).toBeGreaterThanOrEqual(1);
    expect(run.counts.pending).toBe(0);

    const resumed = await runCli(['migrate', '--resume', run.id, '--json'], cliEnv);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(parse(resumed).results).toHaveLength(run.counts.skipped as number);
    for (const t of tenants) expect(await tableExists(t, rt.connections.tenant, 'slower_things')).toBe(true);
  });
});
