/**
 * Many servers against three real PostgreSQL clusters: the suite's server
 * (`default`), a private embedded cluster registered with its admin URL in
 * TENANT_SERVER_SRV_B_ADMIN_URL, and a private cluster of the system
 * PostgreSQL (another major where there is one) registered with a sealed
 * admin password. Isolated mode: each server's admin makes the tenant roles
 * there. Proves placement (even spread, capacity under 20 concurrent
 * creates, draining, pinning), registration (unreachable address, sealed
 * login, no password shown), removal and repair on every server.
 */
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { InvalidStateError, NoCapacityError, ServerNotFoundError, UsageError } from '../../src/errors.js';
import type { Provisioner } from '../../src/provision/provisioner.js';
import { serverProof } from '../../src/provision/server-proof.js';
import { openRuntime, type Runtime } from '../../src/runtime/runtime.js';
import { ServerRegistry } from '../../src/servers/server-registry.js';
import { adminUrlVariable } from '../../src/servers/server.js';
import { dropRolesWithPrefix } from '../support/drop-databases.js';
import { startPrivateCluster, systemPostgresBinDir, type PrivateCluster } from '../support/private-cluster.js';
import { runCli } from '../support/run-cli.js';
import { provisionerFor } from '../support/tenant-fixtures.js';
import { createTestEnvironment } from '../support/test-environment.js';

const env = createTestEnvironment();
let b: PrivateCluster;
let c: PrivateCluster;
let rt: Runtime;
let registry: ServerRegistry;
let provisioner: Provisioner;
/** The CLI's environment: isolated mode, srv-b's admin URL in its variable. */
let cli: Record<string, string>;
/** The system PostgreSQL's major (the third server), when there is one. */
let systemMajor: string | undefined;

const create = (slug: string, extra: { server?: string; host?: string; port?: number } = {}) =>
  provisioner.create({ slug, name: slug, ...extra }, { actor: 'test' });

/** Live tenants per server, as the meta database says. */
async function perServer(): Promise<Record<string, number>> {
  const { rows } = await rt.metaPool.query<{ server_name: string; n: number }>(
    `SELECT server_name, count(*)::int AS n FROM tenants WHERE status <> 'deleted' GROUP BY server_name`,
  );
  return Object.fromEntries(rows.map((r) => [r.server_name, r.n]));
}

async function databasesOn(cluster: PrivateCluster | undefined): Promise<string[]> {
  const client = new pg.Client({ connectionString: cluster ? cluster.adminUrl : env.adminUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE starts_with(datname, $1)', [env.prefix]);
    return rows.map((r) => r.datname);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  const systemBin = await systemPostgresBinDir();
  systemMajor = systemBin ? path.basename(path.dirname(systemBin)) : undefined;
  [b, c] = await Promise.all([startPrivateCluster({ binDir: 'embedded' }), startPrivateCluster({ binDir: systemBin ?? 'embedded' })]);
  // srv-b's admin login: TENANT_SERVER_SRV_B_ADMIN_URL, for this runtime and the CLI alike.
  cli = { ...env.isolatedEnv, [adminUrlVariable('srv-b')]: b.adminUrl };
  rt = await openRuntime(parseConfig(cli));
  registry = new ServerRegistry(rt.metaPool, rt.servers.adminSources);
  provisioner = provisionerFor(rt);
}, 240_000);

afterAll(async () => {
  await rt?.close();
  await env.cleanup();
  await env.admin((client) => dropRolesWithPrefix(client, env.prefix));
  await Promise.all([b?.dispose(), c?.dispose()]);
});

describe('tenant server add', () => {
  it('registers a server whose admin URL is in TENANT_SERVER_<NAME>_ADMIN_URL, after proving it can create there', async () => {
    const added = await registry.add(
      { name: 'srv-b', host: '127.0.0.1', port: b.credentials.port },
      'test',
      serverProof({ namePrefix: env.prefix }),
    );
    expect(added.admin).toMatchObject({ source: 'environment', variable: 'TENANT_SERVER_SRV_B_ADMIN_URL' });
    expect(added.probe).toMatchObject({ reachable: true, createDatabase: true, createRole: true });
    // The proof's database and role are gone again.
    expect(await databasesOn(b)).toEqual([]);
  });

  it('registers a server with its admin password sealed (CLI, from stdin), never storing or printing it', async () => {
    const result = await runCli(
      [
        'server',
        'add',
        'srv-c',
        '--host',
        'localhost',
        '--port',
        String(c.credentials.port),
        '--admin-user',
        c.credentials.superuser,
        '--admin-password-stdin',
        '--json',
      ],
      cli,
      `${c.credentials.superPassword}\n`,
    );
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      name: 'srv-c',
      host: '127.0.0.1',
      admin: { source: 'sealed', user: c.credentials.superuser },
    });
    const { rows } = await rt.metaPool.query<{ admin_secret: string }>(`SELECT admin_secret FROM servers WHERE name = 'srv-c'`);
    expect(rows[0]?.admin_secret).toMatch(/^v1:/);
    expect(rows[0]?.admin_secret).not.toContain(c.credentials.superPassword);
    expect(result.stdout + result.stderr).not.toContain(c.credentials.superPassword);
    const audit = await rt.metaPool.query<{ action: string; details: { server: string } }>(
      `SELECT action, details FROM tenant_audit WHERE tenant_id IS NULL AND action = 'server.add' ORDER BY id`,
    );
    expect(audit.rows.map((r) => r.details.server)).toEqual(['srv-b', 'srv-c']);
    await rt.servers.refresh();
  });

  it('refuses an address where nothing answers (a silent listener) and registers nothing', async () => {
    const silent = net.createServer(() => undefined); // accepts, never speaks
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const result = await runCli(['server', 'add', 'ghost', '--host', '127.0.0.1', '--port', String(port)], cli);
      expect(result.code).toBe(5);
      expect(result.stderr).toMatch(/unavailable|timeout/i);
    } finally {
      silent.close();
    }
    expect((await registry.list()).map((s) => s.server.name)).toEqual(['default', 'srv-b', 'srv-c']);
  });

  it('in shared mode, refuses a server without the shared login, with a hint', async () => {
    const admin = { url: b.adminUrl, source: 'environment' as const };
    const probe = { reachable: true };
    await expect(serverProof({ namePrefix: env.prefix, sharedRole: 'no_such_login' })(admin, probe)).rejects.toMatchObject({
      code: 'INVALID_STATE',
      hint: expect.stringContaining('isolated mode') as unknown,
    });
    await expect(serverProof({ namePrefix: env.prefix, sharedRole: b.credentials.appUser })(admin, probe)).resolves.toBeUndefined();
    expect(await databasesOn(b)).toEqual([]);
  });

  it('refuses a bad server name (exit 2) before anything starts, not even the embedded cluster', async () => {
    const home = path.join(os.tmpdir(), `metapus-no-home-${env.id}`);
    for (const args of [
      ['server', 'add', 'Bad_Name', '--host', '127.0.0.1', '--port', '5432'],
      ['server', 'drain', 'x'],
      ['server', 'remove', 'eu--2'],
    ]) {
      const result = await runCli(args, { TENANT_HOME: home });
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toContain('server name must be');
    }
    await expect(fs.access(home)).rejects.toThrow();
  });

  it('refuses a name or an address already registered, and a bad name, before connecting', async () => {
    await expect(registry.add({ name: 'srv-b', host: '127.0.0.1', port: 1 }, 'test')).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(registry.add({ name: 'other', host: 'LOCALHOST', port: b.credentials.port }, 'test')).rejects.toMatchObject({
      code: 'CONFLICT',
    });
    await expect(registry.add({ name: 'Bad_Name', host: '127.0.0.1', port: 1 }, 'test')).rejects.toThrow(UsageError);
  });
});

describe('placement', () => {
  it('spreads 9 tenants 3/3/3 over three servers of no capacity', async () => {
    for (let i = 0; i < 9; i += 1) await create(`spread-${i}`);
    expect(await perServer()).toEqual({ default: 3, 'srv-b': 3, 'srv-c': 3 });
    // Each database is where its row says, created by that server's own admin login.
    expect((await databasesOn(b)).filter((d) => d.includes('spread')).sort()).toHaveLength(3);
    expect((await databasesOn(c)).filter((d) => d.includes('spread')).sort()).toHaveLength(3);
  });

  it('never pushes a server over its capacity under 20 concurrent creates; the surplus fails with NO_CAPACITY', async () => {
    const set = await runCli(['server', 'set', 'default', '--capacity', '5', '--json'], cli);
    expect(set.code, set.stderr).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({ name: 'default', capacity: 5, tenants: 3 });
    await registry.set('srv-b', { capacity: 6 }, 'test');
    await registry.set('srv-c', { capacity: 4, connections: 20 }, 'test');
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => create(`rush-${String(i).padStart(2, '0')}`)));
    const created = results.filter((r) => r.status === 'fulfilled');
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(created).toHaveLength(6); // 2 + 3 + 1 free places
    for (const f of failed) expect(f.reason, String(f.reason)).toBeInstanceOf(NoCapacityError);
    expect(await perServer()).toEqual({ default: 5, 'srv-b': 6, 'srv-c': 4 });
    // The refused creates left nothing behind.
    const { rows } = await rt.metaPool.query(`SELECT 1 FROM tenants WHERE status = 'provisioning'`);
    expect(rows).toHaveLength(0);
    const full = await runCli(['create', '--slug', 'one-more', '--name', 'One more'], cli);
    expect(full.code).toBe(4);
    expect(full.stderr).toContain('tenant server set');
  });

  it('places nothing on a draining server, and refuses to pin one', async () => {
    for (const name of ['default', 'srv-b']) await registry.set(name, { capacity: null }, 'test');
    const unlimited = await runCli(['server', 'set', 'srv-c', '--capacity', 'none', '--connections', 'auto', '--json'], cli);
    expect(JSON.parse(unlimited.stdout)).toMatchObject({ name: 'srv-c', capacity: null, connections: null });
    const drain = await runCli(['server', 'drain', 'srv-b', '--json'], cli);
    expect(drain.code, drain.stderr).toBe(0);
    expect(JSON.parse(drain.stdout)).toMatchObject({ name: 'srv-b', status: 'draining', changed: true });
    for (let i = 0; i < 4; i += 1) await create(`drained-${i}`);
    expect(await perServer()).toEqual({ default: 7, 'srv-b': 6, 'srv-c': 6 });
    await expect(create('pinned-draining', { server: 'srv-b' })).rejects.toThrow(InvalidStateError);
    expect((await registry.activate('srv-b', 'test')).changed).toBe(true);
  });

  it('--server pins a server; --host/--port must name a registered one (exit 2)', async () => {
    const { tenant } = await create('pinned', { server: 'srv-c' });
    expect(tenant).toMatchObject({ serverName: 'srv-c', dbHost: '127.0.0.1', dbPort: c.credentials.port });
    const byAddress = await create('by-address', { host: 'localhost', port: b.credentials.port });
    expect(byAddress.tenant.serverName).toBe('srv-b');
    await expect(create('unknown-server', { server: 'nowhere' })).rejects.toThrow(ServerNotFoundError);
    const unknown = await runCli(['create', '--slug', 'far-away', '--name', 'Far', '--host', '127.0.0.1', '--port', '1'], cli);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no server is registered at 127.0.0.1:1');
    const missing = await runCli(['create', '--slug', 'far-away', '--name', 'Far', '--server', 'nowhere'], cli);
    expect(missing.code).toBe(3);
  });

  it('shows the server in tenant list and show', async () => {
    const list = await runCli(['list', '--server', 'srv-c', '--json'], cli);
    expect(list.code, list.stderr).toBe(0);
    const tenants = JSON.parse(list.stdout) as { slug: string; server: string }[];
    expect(tenants.length).toBeGreaterThan(0);
    expect(new Set(tenants.map((t) => t.server))).toEqual(new Set(['srv-c']));
    const show = await runCli(['show', 'pinned'], cli);
    expect(show.stdout).toMatch(/server\s+srv-c/);
  });
});

describe('tenant server list', () => {
  it('shows every server with tenants, reachability, version and the admin login source, never a password', async () => {
    const result = await runCli(['server', 'list', '--json'], cli);
    expect(result.code, result.stderr).toBe(0);
    const servers = JSON.parse(result.stdout) as {
      name: string;
      reachable: boolean;
      version: string;
      tenants: number;
      admin: { source: string };
    }[];
    expect(servers.map((s) => [s.name, s.reachable, s.admin.source])).toEqual([
      ['default', true, 'configured'],
      ['srv-b', true, 'environment'],
      ['srv-c', true, 'sealed'],
    ]);
    expect(servers.every((s) => /^\d+/.test(s.version))).toBe(true);
    if (systemMajor) expect(servers.find((s) => s.name === 'srv-c')?.version.split('.')[0]).toBe(systemMajor);
    expect(servers.find((s) => s.name === 'srv-c')?.tenants).toBe(7);
    const table = await runCli(['server', 'list'], cli);
    for (const text of [result.stdout, table.stdout, table.stderr]) {
      expect(text).not.toContain(c.credentials.superPassword);
      expect(text).not.toContain(b.credentials.superPassword);
    }
    expect(table.stdout).toContain('srv-c');
  });
});

describe('repair and remove', () => {
  it('repair finds orphan databases on every server', async () => {
    const orphan = `${env.prefix}orphan_on_c`;
    const client = new pg.Client({ connectionString: c.adminUrl });
    await client.connect();
    await client.query(`CREATE DATABASE ${orphan}`);
    await client.end();
    const report = await provisioner.repair({ actor: 'test' });
    expect(report.servers.find((s) => s.server === 'srv-c')?.orphanDatabases).toEqual([orphan]);
    expect(report.servers.map((s) => s.error)).toEqual([undefined, undefined, undefined]);
    const dropped = await provisioner.repair({ actor: 'test', dropOrphans: true });
    expect(dropped.droppedOrphans).toEqual([orphan]);
  });

  it('repair reports a server it cannot reach, and an abandoned create there, and still repairs the others', async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve)); // nothing listens there now
    await rt.metaPool.query(`INSERT INTO servers (name, host, port, status) VALUES ('srv-dead', '127.0.0.1', $1, 'draining')`, [port]);
    await rt.registry.insertProvisioning(
      { slug: 'stuck-on-dead', name: 'Stuck', dbName: `${env.prefix}stuck_on_dead`, dbHost: '127.0.0.1', dbPort: port, plan: 'free' },
      'test',
    );
    try {
      const report = await provisioner.repair({ actor: 'test' });
      expect(report.unreclaimed).toMatchObject([{ slug: 'stuck-on-dead', server: 'srv-dead', error: { code: 'DATABASE_UNAVAILABLE' } }]);
      expect(report.servers.find((s) => s.server === 'srv-dead')?.error?.code).toBe('DATABASE_UNAVAILABLE');
      expect(report.servers.filter((s) => !s.error).map((s) => s.server)).toEqual(['default', 'srv-b', 'srv-c']);
    } finally {
      await rt.metaPool.query(`DELETE FROM tenants WHERE slug = 'stuck-on-dead'`);
      await rt.metaPool.query(`DELETE FROM servers WHERE name = 'srv-dead'`);
      await rt.servers.refresh();
    }
  });

  it('refuses to remove a server that holds tenants (exit 4), and removes it once they are deleted', async () => {
    const refused = await runCli(['server', 'remove', 'srv-c'], cli);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toMatch(/still holds 7 tenants/);
    const onC = await rt.registry.list({ servers: ['srv-c'] });
    for (const t of onC) await provisioner.delete(t.slug, { actor: 'test', dropDatabase: true });
    const removed = await runCli(['server', 'remove', 'srv-c', '--json'], cli);
    expect(removed.code, removed.stderr).toBe(0);
    expect(JSON.parse(removed.stdout)).toMatchObject({ name: 'srv-c', removed: true, deletedTenants: 7 });
    // Deleted tenants keep their rows (history), without a server.
    const kept = await rt.registry.list({ ids: onC.map((t) => t.id) });
    expect(kept.map((t) => [t.status, t.serverName])).toEqual(onC.map(() => ['deleted', null]));
    await expect(registry.get('srv-c')).rejects.toThrow(ServerNotFoundError);
    // Only its template is left there (the removed server's own business now).
    expect(await databasesOn(c)).toEqual([`${env.prefix}template`]);
  });

  it('a removed server can be registered again (sealed password through the library) and takes tenants', async () => {
    const again = await registry.add(
      {
        name: 'srv-c',
        host: '127.0.0.1',
        port: c.credentials.port,
        adminUser: c.credentials.superuser,
        adminPassword: c.credentials.superPassword,
      },
      'test',
    );
    expect(again.admin.source).toBe('sealed');
    await rt.servers.refresh();
    const { tenant } = await create('back-on-c', { server: 'srv-c' });
    expect(tenant.serverName).toBe('srv-c');
    expect(await databasesOn(c)).toContain(tenant.dbName);
  });
});
