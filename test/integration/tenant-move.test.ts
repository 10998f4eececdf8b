/**
 * `tenant move` and `tenant clone` between three real servers: the suite's
 * own, a private embedded 18 and a private system PostgreSQL (15 here), in
 * isolated mode (each tenant's roles exist only where they are created).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantClientConfig } from '../../src/pg/connection-settings.js';
import { withConnection } from '../../src/pg/with-helpers.js';
import type { MoveDeps } from '../../src/provision/move-context.js';
import { keptDatabases, dropMovedDatabases } from '../../src/provision/moved-databases.js';
import { cloneTenant } from '../../src/provision/tenant-clone.js';
import { beginSnapshot, copyTables } from '../../src/provision/table-copy.js';
import { moveTenant } from '../../src/provision/tenant-move.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import type { Tenant } from '../../src/tenants/tenant.js';
import { databaseContents, seedStock } from '../support/move-fixtures.js';
import { asTenantOwner, openMoveRuntime, withAdmin, type MoveServers } from '../support/move-servers.js';
import { eventually } from '../support/eventually.js';
import { runCli } from '../support/run-cli.js';
import { startServerProcess } from '../support/server-process.js';
import { createApiUsers, headersFor, type ApiUser } from '../support/api-session.js';
import { provisionerFor } from '../support/tenant-fixtures.js';
import { createTestEnvironment } from '../support/test-environment.js';

const env = createTestEnvironment();
let servers: MoveServers;
let rt: Runtime;
let deps: MoveDeps;
let cliEnvironment: Record<string, string>;

beforeAll(async () => {
  ({ servers, rt, deps } = await openMoveRuntime(env.isolatedEnv));
  cliEnvironment = { ...env.isolatedEnv, ...servers.env };
}, 240_000);
afterAll(async () => {
  await rt?.close();
  await servers?.dispose();
  await env.cleanup();
});

function asOwner<T>(t: Tenant, fn: (client: import('pg').Client) => Promise<T>): Promise<T> {
  return asTenantOwner(rt, t, fn);
}

/** The tenant's own app login (its sealed password), at the address the meta row now names. */
async function asApp<T>(tenant: Tenant, fn: (client: import('pg').Client) => Promise<T>): Promise<T> {
  const secret = await rt.secrets.read(tenant.id);
  return withConnection(
    tenantClientConfig(tenant, {
      user: tenant.appRole as string,
      password: secret?.current,
      host: tenant.dbHost,
      port: tenant.dbPort,
      sslMode: undefined,
    }),
    fn,
  );
}

async function databasesOn(server: string): Promise<string[]> {
  const url = servers.urlOf(server, env.adminUrl);
  return withAdmin(url, async (c) =>
    (await c.query<{ datname: string }>('SELECT datname FROM pg_database ORDER BY 1')).rows.map((r) => r.datname),
  );
}

async function rolesOn(server: string, roles: (string | null)[]): Promise<string[]> {
  const url = servers.urlOf(server, env.adminUrl);
  return withAdmin(url, async (c) =>
    (await c.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE rolname = ANY($1) ORDER BY 1', [roles])).rows.map((r) => r.rolname),
  );
}

describe('tenant move', () => {
  let tenant: Tenant;
  let before: Record<string, string>;

  it('moves a tenant with posted documents to the system PostgreSQL and back, keeping every row and sequence', async () => {
    expect(servers.majors['pg-embedded']).toBe(18);
    tenant = (await provisionerFor(rt).create({ slug: 'stock', name: 'Stock' }, { actor: 'test' })).tenant;
    const movements = await asOwner(tenant, (c) => seedStock(c, { items: 50, receipts: 40, linesPerReceipt: 5 }));
    expect(movements).toBe(200);
    before = await asOwner(tenant, databaseContents);
    expect(before['"public"."stock_movements"']).toMatch(/^200:/);

    const events: string[] = [];
    const first = await moveTenant(deps, 'stock', 'pg-system', {
      actor: 'test',
      onEvent: (e) => void (e.type === 'step' && events.push(e.step)),
    });
    expect(events).toEqual(['locked', 'moving', 'fenced', 'roles', 'database', 'copy', 'switched', 'kept']);
    expect(first.tenant).toMatchObject({ serverName: 'pg-system', status: 'active', dbPort: servers.clusters['pg-system'].credentials.port });
    expect(first.rows).toBeGreaterThan(200);
    expect(first.tables.find((t) => t.table === '"public"."stock_movements"')?.rows).toBe(200);
    const order = first.tables.map((t) => t.table);
    expect(order.indexOf('"public"."goods_receipt_lines"')).toBeGreaterThan(order.indexOf('"public"."goods_receipts"'));
    expect(order.indexOf('"public"."goods_receipts"')).toBeGreaterThan(order.indexOf('"public"."warehouses"'));
    expect(first.downtimeMs).toBeGreaterThan(0);
    const moved = await rt.registry.resolve('stock');
    expect(moved.serverName).toBe('pg-system');
    expect(await asOwner(moved, databaseContents)).toEqual(before);

    // The source is kept, renamed and recorded; nobody serves from it.
    const kept = await keptDatabases(rt.metaPool, { tenantId: tenant.id });
    expect(kept.map((k) => [k.serverName, k.dbName])).toEqual([['default', first.source.keptAs]]);
    expect(first.source.keptAs).toMatch(new RegExp(`^${tenant.dbName}_moved_\\d{14}$`));
    expect(await databasesOn('default')).toContain(first.source.keptAs);
    expect(await databasesOn('default')).not.toContain(tenant.dbName);

    // The app login works there with its same password, and the identity sequence goes on after the copied rows.
    const next = await asApp(moved, async (c) => {
      await c.query("INSERT INTO units (code, name) VALUES ('box', 'boxes')");
      return (await c.query<{ n: number }>('SELECT count(*)::int AS n FROM units')).rows[0]?.n;
    });
    expect(next).toBe(2);
    await asOwner(moved, (c) => c.query("SELECT post_goods_receipt(id) FROM goods_receipts WHERE number = 'S-R1'"));
    const afterWrite = await asOwner(moved, databaseContents);

    const back = await moveTenant(deps, 'stock', 'pg-embedded', { actor: 'test', dropSource: true });
    expect(back.source).toMatchObject({ server: 'pg-system', dropped: true, keptAs: null });
    const home = await rt.registry.resolve('stock');
    expect(home.serverName).toBe('pg-embedded');
    expect(await asOwner(home, databaseContents)).toEqual(afterWrite);
    expect((await databasesOn('pg-system')).filter((d) => d.startsWith(env.prefix))).toEqual([]);
    expect(await rolesOn('pg-system', [home.ownerRole, home.appRole])).toEqual([]);
    const audit = (await rt.registry.recentAudit(tenant.id, 20)).map((a) => a.action);
    expect(audit.filter((a) => a.startsWith('move.'))).toEqual(
      expect.arrayContaining(['move.started', 'move.completed', 'move.source_dropped']),
    );
  });

  it('drops kept sources with `tenant repair --drop-moved`', async () => {
    const before = await keptDatabases(rt.metaPool, { tenantId: tenant.id });
    expect(before).toHaveLength(1);
    const result = await runCli(['repair', '--drop-moved', '--json'], cliEnvironment);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).droppedMoved.map((d: { dbName: string }) => d.dbName)).toEqual([before[0]?.dbName]);
    expect(await databasesOn('default')).not.toContain(before[0]?.dbName);
    expect(await keptDatabases(rt.metaPool, { tenantId: tenant.id })).toEqual([]);
  });

  it("refuses an unknown server (exit 3), a draining one and the tenant's own (exit 1, 4), leaving the tenant as it was", async () => {
    const unknown = await runCli(['move', 'stock', '--to', 'nowhere'], cliEnvironment);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toContain('server "nowhere" is not registered');
    await rt.metaPool.query("UPDATE servers SET status = 'draining' WHERE name = 'default'");
    const draining = await runCli(['move', 'stock', '--to', 'default'], cliEnvironment);
    await rt.metaPool.query("UPDATE servers SET status = 'active' WHERE name = 'default'");
    expect(draining.code).toBe(1);
    expect(draining.stderr).toContain('draining');
    const same = await runCli(['move', 'stock', '--to', 'pg-embedded'], cliEnvironment);
    expect(same.code).toBe(4);
    const bad = await runCli(['move', 'stock', '--to', 'Bad Name'], cliEnvironment);
    expect(bad.code).toBe(2);
    expect(await rt.registry.resolve('stock')).toMatchObject({ status: 'active', serverName: 'pg-embedded' });
  });

  it('moves through the CLI with a --json report (a suspended tenant stays suspended)', async () => {
    await rt.registry.changeStatus(tenant.id, { from: ['active'], to: 'suspended', actor: 'test', action: 'test.suspend' });
    const result = await runCli(['move', 'stock', '--to', 'default', '--json'], cliEnvironment);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({
      tenant: { slug: 'stock', server: 'default', status: 'suspended' },
      target: { server: 'default', via: 'template' },
    });
    expect(report.tables.length).toBeGreaterThan(5);
    expect(typeof report.downtimeMs).toBe('number');
    expect(result.stdout + result.stderr).not.toContain((await rt.secrets.read(tenant.id))?.current);
  });
});

describe('the table copy without session_replication_role (an admin that is not a superuser)', () => {
  it("copies in foreign-key order with the owner's triggers switched off, so posting triggers do not run twice", async () => {
    const from = (await provisionerFor(rt).create({ slug: 'copy-from', name: 'From' }, { actor: 'test' })).tenant;
    const into = (await provisionerFor(rt).create({ slug: 'copy-into', name: 'Into' }, { actor: 'test' })).tenant;
    await asOwner(from, (c) => seedStock(c, { items: 20, receipts: 10, linesPerReceipt: 3 }));
    const result = await asOwner(from, async (source) => {
      await beginSnapshot(source);
      try {
        // As the owner only: session_replication_role is refused, so the copy falls back to DISABLE TRIGGER USER.
        return await asOwner(into, (target) => copyTables(source, target, { skip: ['schema_migrations'] }));
      } finally {
        await source.query('ROLLBACK');
      }
    });
    expect(result.tables.find((t) => t.table === '"public"."stock_movements"')?.rows).toBe(30);
    expect(await asOwner(into, databaseContents)).toEqual(await asOwner(from, databaseContents));
    const enabled = await asOwner(
      into,
      async (c) =>
        (await c.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_trigger WHERE NOT tgisinternal AND tgenabled = 'D'")).rows[0]?.n,
    );
    expect(enabled).toBe(0);
  });
});

describe('the reference server during a move', () => {
  it('answers 503 Retry-After while the tenant is moving, then serves it from the new server without a restart', async () => {
    const served = (await provisionerFor(rt).create({ slug: 'served', name: 'Served' }, { actor: 'test' })).tenant;
    // A clerk of the tenant, logged in before the move: the users table moves with the tenant, and the token stays good.
    const [clerk] = (await createApiUsers(rt, [{ tenant: served, role: 'clerk' }])) as [ApiUser];
    const server = await startServerProcess(cliEnvironment);
    const session = await headersFor(server.base, served, clerk);
    const api = async (method: string, body?: unknown) => {
      const response = await fetch(`${server.base}/api/v1/catalogs/currencies`, {
        method,
        headers: { ...session, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      return { status: response.status, retryAfter: response.headers.get('retry-after'), body: (await response.json()) as Record<string, any> };
    };
    try {
      expect((await api('POST', { code: 'EUR', name: 'Euro' })).status).toBe(201);
      let during: Awaited<ReturnType<typeof api>> | undefined;
      await moveTenant(deps, 'served', 'pg-system', {
        actor: 'test',
        onEvent: async (e) => {
          if (e.type !== 'step' || e.step !== 'copy') return;
          await eventually('the server sees the tenant moving', async () => (during = await api('GET')).status === 503);
        },
      });
      expect(during).toMatchObject({ status: 503, retryAfter: '10', body: { code: 'TENANT_UNAVAILABLE' } });
      // The NOTIFY of the switch makes the server re-read the row and open a pool on the new server.
      await eventually('the server serves the moved tenant', async () => (await api('GET')).status === 200);
      expect((await api('GET')).body.items.map((c: { code: string }) => c.code)).toEqual(['EUR']);
      expect((await api('POST', { code: 'USD', name: 'Dollar' })).status).toBe(201);
      const moved = await rt.registry.resolve('served');
      const codes = await asOwner(moved, async (c) =>
        (await c.query<{ code: string }>('SELECT code FROM currencies ORDER BY code')).rows.map((r) => r.code),
      );
      expect(codes).toEqual(['EUR', 'USD']);
      // Logging in again reads the moved users table.
      expect(await headersFor(server.base, served, clerk)).toMatchObject({ 'x-tenant-id': served.id });
      expect(server.alive).toBe(true);
    } finally {
      await server.stop();
    }
  });
});

describe('tenant clone', () => {
  it('gives an independent copy on another server while the source keeps its status', async () => {
    const source = await rt.registry.resolve('stock');
    const report = await cloneTenant(deps, 'stock', { slug: 'stock-copy', name: 'Copy', server: 'pg-system' }, { actor: 'test' });
    expect(report.tenant).toMatchObject({ slug: 'stock-copy', status: 'active', serverName: 'pg-system' });
    expect((await rt.registry.resolve('stock')).status).toBe(source.status);
    const copy = report.tenant;
    expect(copy.appRole).not.toBe(source.appRole);
    expect(await asOwner(copy, databaseContents)).toEqual(await asOwner(source, databaseContents));

    await asApp(copy, (c) => c.query("INSERT INTO units (code, name) VALUES ('only-in-copy', 'x')"));
    await asOwner(source, (c) => c.query("INSERT INTO units (code, name) VALUES ('only-in-source', 'x')"));
    const codes = (t: Tenant) =>
      asOwner(t, async (c) => (await c.query<{ code: string }>('SELECT code FROM units ORDER BY code')).rows.map((r) => r.code));
    expect(await codes(copy)).toContain('only-in-copy');
    expect(await codes(copy)).not.toContain('only-in-source');
    expect(await codes(source)).not.toContain('only-in-copy');
    expect(copy.schemaVersion).toBe(source.schemaVersion);
  });

  it("clones through the CLI onto the source's server by default", async () => {
    const result = await runCli(['clone', 'stock', '--slug', 'stock-two', '--name', 'Two', '--json'], cliEnvironment);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ source: 'stock', tenant: { slug: 'stock-two', status: 'active' }, server: 'default' });
    const again = await runCli(['clone', 'stock', '--slug', 'stock-two', '--name', 'Two'], cliEnvironment);
    expect(again.code).toBe(4);
  });
});

describe('repair', () => {
  it('drops what moves kept, once', async () => {
    const kept = await keptDatabases(rt.metaPool);
    expect(kept.map((k) => k.serverName).sort()).toEqual(['default', 'pg-embedded']);
    expect((await dropMovedDatabases(deps, 'test')).map((k) => k.dbName)).toEqual(kept.map((k) => k.dbName));
    expect(await databasesOn('pg-embedded')).not.toContain(kept[0]?.dbName);
    expect(await dropMovedDatabases(deps, 'test')).toEqual([]);
  });
});
