/**
 * `tenant status`: what it reports for a healthy fleet and for one that
 * needs attention, from the library and from the CLI (exit codes, JSON).
 */
import net from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleetStatus } from '../../src/status/fleet-status.js';
import type { FleetStatus } from '../../src/status/fleet-status-model.js';
import { migrateFleet } from '../../src/migrate/fleet-migrator.js';
import { MigrationRuns } from '../../src/migrate/migration-runs.js';
import { ServerRegistry } from '../../src/servers/server-registry.js';
import { loadMigrationFiles, type MigrationFile } from '../../src/schema/migration-files.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import type { Tenant } from '../../src/tenants/tenant.js';
import { provisionerFor } from '../../src/cli/commands/create.js';
import { registerTenants } from '../support/fleet-fixtures.js';
import { migrationsWith } from '../support/migrations-dir.js';
import { runCli } from '../support/run-cli.js';
import { createTenants } from '../support/tenant-fixtures.js';
import { createTestEnvironment } from '../support/test-environment.js';

const env = createTestEnvironment();
let rt: Runtime;
let files: MigrationFile[];
const silent: net.Server[] = [];

beforeAll(async () => {
  rt = await env.runtime();
  files = await loadMigrationFiles(rt.config.migrationsDir);
});
afterAll(async () => {
  for (const s of silent) s.close();
  await env.cleanup();
});

async function status(check = false): Promise<FleetStatus> {
  const provisioner = await provisionerFor(rt);
  return fleetStatus(
    {
      metaPool: rt.metaPool,
      servers: new ServerRegistry(rt.metaPool, rt.servers.adminSources),
      files,
      orphans: async () =>
        (await provisioner.findOrphans()).map((s) => ({ server: s.server, databases: s.orphanDatabases, roles: s.orphanRoles })),
    },
    { check },
  );
}
const codes = (s: FleetStatus) => s.findings.map((f) => f.code).sort();

describe('tenant status', () => {
  it('reports a healthy fleet with no finding, and the CLI check exits 0', async () => {
    const tenants = await createTenants(rt, 2, 'healthy');
    const s = await status(true);
    expect(s.tenants.byStatus.active).toBe(2);
    expect(s.versions).toMatchObject({ current: 2, behind: 0, unknown: 0, oldest: null });
    expect(s.latestVersion).toBe(files.at(-1)?.name);
    expect(s.servers.find((x) => x.name === 'default')).toMatchObject({ tenants: 2, probe: expect.objectContaining({ reachable: true }) });
    expect(s.findings).toEqual([]);

    const cli = await runCli(['status', '--check', '--json'], env.env);
    expect(cli.code).toBe(0);
    const doc = JSON.parse(cli.stdout) as { healthy: boolean; findings: unknown[]; tenants: { total: number } };
    expect(doc).toMatchObject({ healthy: true, findings: [], tenants: { total: tenants.length } });
    const text = await runCli(['status'], env.env);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('Nothing needs attention');
  });

  it('finds a failed migration, a tenant behind, a stuck create, an abandoned run, an orphan and a dead server', async () => {
    // Failed: a migration that fails in this tenant only (it stays at the repository's latest, marked migration_failed).
    const [failing] = await createTenants(rt, 1, 'failing');
    const bad = await loadMigrationFiles(
      await migrationsWith({
        '00007_fails.sql': "-- migrate:up\nDO $$ BEGIN RAISE EXCEPTION 'bad data in this tenant'; END $$;\n-- migrate:down\nSELECT 1;\n",
      }),
    );
    const run = await migrateFleet(
      bad,
      { registry: rt.registry, metaPool: rt.metaPool, credentials: rt.connections.tenant, adminUrl: rt.connections.adminUrl },
      {
        actor: 'test',
        target: { slugs: [(failing as Tenant).slug] },
      },
    );
    expect(run.status).toBe('failed');
    // Behind: a tenant the meta database records at the second-to-last migration.
    const older = files.at(-2)?.name as string;
    const server = new URL(env.adminUrl);
    await registerTenants(
      rt.connections.metaUrl,
      { host: server.hostname, port: Number(server.port) },
      [{ slug: 'behind-one', dbName: `${env.prefix}behind_one`, schemaVersion: older }],
      files,
    );
    // Stuck create, abandoned run, orphan database.
    await rt.metaPool.query(
      `INSERT INTO tenants (slug, display_name, db_name, db_host, db_port, status, server_name, created_at)
       VALUES ('stuck-create', 'stuck', $1, $2, $3, 'provisioning', 'default', now() - interval '1 hour')`,
      [`${env.prefix}stuck_create`, server.hostname, Number(server.port)],
    );
    const abandoned = await new MigrationRuns(rt.metaPool).start({ actor: 'test', direction: 'up', target: {}, options: {}, tenants: [] });
    await env.admin((c) => c.query(`CREATE DATABASE ${pg.escapeIdentifier(`${env.prefix}orphan_db`)}`));

    const meta = await status(false);
    expect(codes(meta)).toEqual(['MIGRATION_FAILED', 'PROVISIONING_STALE', 'RUN_ABANDONED', 'TENANTS_BEHIND']);
    expect(meta.failed.tenants).toEqual([
      expect.objectContaining({
        slug: (failing as Tenant).slug,
        migration: '00007_fails',
        error: expect.stringContaining('bad data in this tenant'),
      }),
    ]);
    expect(meta.versions).toMatchObject({ behind: 1, oldest: older });
    expect(meta.versions.byVersion).toContainEqual({ version: older, tenants: 1, behind: 1 });
    expect(meta.runs.map((r) => [r.id, r.status])).toContainEqual([abandoned.id, 'abandoned']);
    expect(meta.findings.find((f) => f.code === 'PROVISIONING_STALE')?.subjects).toEqual(['stuck-create']);

    // A dead server: registered at a loopback listener that never answers.
    const listener = net.createServer(() => undefined);
    silent.push(listener);
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const port = (listener.address() as net.AddressInfo).port;
    await rt.metaPool.query(`INSERT INTO servers (name, host, port, status) VALUES ('dead-one', '127.0.0.1', $1, 'draining')`, [port]);

    const checked = await status(true);
    expect(codes(checked)).toEqual([
      'MIGRATION_FAILED',
      'ORPHANS',
      'PROVISIONING_STALE',
      'RUN_ABANDONED',
      'SERVER_UNREACHABLE',
      'TENANTS_BEHIND',
    ]);
    expect(checked.findings.find((f) => f.code === 'SERVER_UNREACHABLE')?.subjects).toEqual(['dead-one']);
    expect(checked.findings.find((f) => f.code === 'ORPHANS')?.subjects).toContain(`${env.prefix}orphan_db`);

    const cli = await runCli(['status', '--check', '--json'], env.env);
    expect(cli.code).toBe(1);
    const doc = JSON.parse(cli.stdout) as { healthy: boolean; findings: { code: string; count: number }[] };
    expect(doc.healthy).toBe(false);
    expect(doc.findings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ code: 'MIGRATION_FAILED', count: 1 }),
        expect.objectContaining({ code: 'TENANTS_BEHIND', count: 1 }),
      ]),
    );
    // Without --check the command reports, and exits 0.
    const plain = await runCli(['status'], env.env);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toContain('MIGRATION_FAILED');
    expect(plain.stdout).toContain(older);
  });
});
