import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TenantExistsError, TenantToolkitError } from '../../src/errors.js';
import { TENANT_STATUS_CHANNEL } from '../../src/tenants/tenant-registry.js';
import { activateTenant, suspendTenant } from '../../src/tenants/tenant-lifecycle.js';
import { Provisioner } from '../../src/provision/provisioner.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { migrationsWith } from '../support/migrations-dir.js';
import { createTestEnvironment } from '../support/test-environment.js';
import { eventually } from '../support/eventually.js';

const env = createTestEnvironment();
let rt: Runtime;
let provisioner: Provisioner;

function provisionerWith(runtime: Runtime, migrationsDir = runtime.config.migrationsDir): Provisioner {
  return new Provisioner({
    registry: runtime.registry,
    connections: runtime.connections,
    migrationsDir,
    namePrefix: runtime.config.tenantDb.namePrefix,
    secrets: runtime.secrets,
  });
}

async function metaRows(): Promise<{ slug: string; status: string }[]> {
  const { rows } = await rt.metaPool.query<{ slug: string; status: string }>('SELECT slug, status FROM tenants ORDER BY slug');
  return rows;
}

beforeAll(async () => {
  rt = await env.runtime();
  provisioner = provisionerWith(rt);
});
afterAll(() => env.cleanup());

describe('Provisioner.create', () => {
  it('creates an active tenant by migrations, then by template clone', async () => {
    const first = await provisioner.create({ slug: 'acme-corp', name: 'ACME Corp' }, { actor: 'test' });
    expect(first.via).toBe('migrations');
    expect(first.tenant.status).toBe('active');
    expect(first.tenant.dbName).toBe(`${env.prefix}acme_corp`);
    const files = await provisioner.migrationFiles();
    expect(first.tenant.schemaVersion).toBe(files.at(-1)?.name);

    const second = await provisioner.create({ slug: 'globex', name: 'Глобекс ☃' }, { actor: 'test' });
    expect(second.via).toBe('template');
    expect(second.tenant.name).toBe('Глобекс ☃');
    expect(second.tenant.schemaVersion).toBe(files.at(-1)?.name);
    const recorded = await rt.registry.recordedMigrations(second.tenant.id);
    expect(recorded.map((m) => m.name)).toEqual(files.map((f) => f.name));
    expect(await env.databases()).toEqual(expect.arrayContaining([`${env.prefix}acme_corp`, `${env.prefix}globex`, `${env.prefix}template`]));
    const audit = await rt.registry.recentAudit(second.tenant.id);
    expect(audit.map((a) => a.action)).toEqual(['create.completed', 'create.started']);
  });

  it('restricts CONNECT to the tenant role', async () => {
    const { tenant } = await provisioner.create({ slug: 'locked-down', name: 'Locked Down' }, { actor: 'test' });
    const acl = await env.admin(async (client) => {
      const { rows } = await client.query<{ acl: string }>('SELECT datacl::text AS acl FROM pg_database WHERE datname = $1', [tenant.dbName]);
      return rows[0]?.acl ?? '';
    });
    // No entry for PUBLIC ("=c/..." would grant connect to everyone); the shared role may only connect.
    expect(acl).not.toMatch(/(^|[{,])=/);
    expect(acl).toContain(`${rt.connections.tenant.user}=c/`);
    expect(tenant.ownerRole).toBe(`${env.prefix}locked_down_owner`);
    expect(tenant.appRole).toBeNull();
  });

  it.each(["acme'; DROP DATABASE postgres; --", 'x TEMPLATE y', 'has space', 'semi;colon', 'unicodé', 'a'.repeat(64), 'QUOTE"D'])(
    'creates nothing for the hostile slug %j',
    async (slug) => {
      const before = await env.databases();
      const rowsBefore = await metaRows();
      await expect(provisioner.create({ slug, name: 'x' }, { actor: 'test' })).rejects.toMatchObject({ exitCode: 2 });
      expect(await env.databases()).toEqual(before);
      expect(await metaRows()).toEqual(rowsBefore);
    },
  );

  it('refuses a duplicate slug, whatever its case', async () => {
    await provisioner.create({ slug: 'twice', name: 'Twice' }, { actor: 'test' });
    await expect(provisioner.create({ slug: 'twice', name: 'again' }, { actor: 'test' })).rejects.toBeInstanceOf(TenantExistsError);
  });

  it('lets exactly one of two concurrent creates of a slug win, leaving no orphan', async () => {
    const other = provisionerWith(await env.runtime());
    const results = await Promise.allSettled([
      provisioner.create({ slug: 'racer', name: 'Racer A' }, { actor: 'a' }),
      other.create({ slug: 'racer', name: 'Racer B' }, { actor: 'b' }),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect((lost[0] as PromiseRejectedResult).reason).toBeInstanceOf(TenantExistsError);
    expect((await env.databases()).filter((d) => d === `${env.prefix}racer`)).toHaveLength(1);
    expect((await metaRows()).filter((r) => r.slug === 'racer')).toEqual([{ slug: 'racer', status: 'active' }]);
  });

  it('rolls back completely when a migration of the new tenant fails', async () => {
    const dir = await migrationsWith({ '00099_boom.sql': '-- migrate:up\nSELECT 1 / 0;\n-- migrate:down\nSELECT 1;\n' });
    const failing = provisionerWith(rt, dir);
    const error = await failing.create({ slug: 'doomed', name: 'Doomed' }, { actor: 'test' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TenantToolkitError);
    expect((error as TenantToolkitError).exitCode).toBe(1);
    expect((error as Error).message).toMatch(/00099_boom.*division by zero/);
    expect(await env.databases()).not.toContain(`${env.prefix}doomed`);
    expect((await metaRows()).some((r) => r.slug === 'doomed')).toBe(false);
  });

  it('reclaims an abandoned provisioning row and its database on the next create', async () => {
    // What a create killed after CREATE DATABASE leaves behind.
    await rt.registry.insertProvisioning(
      {
        slug: 'crashed',
        name: 'Crashed',
        dbName: `${env.prefix}crashed`,
        dbHost: rt.connections.tenant.host,
        dbPort: rt.connections.tenant.port,
        plan: 'free',
      },
      'test',
    );
    await env.admin((c) => c.query(`CREATE DATABASE ${c.escapeIdentifier(`${env.prefix}crashed`)}`));
    const result = await provisioner.create({ slug: 'crashed', name: 'Crashed again' }, { actor: 'test' });
    expect(result.tenant.status).toBe('active');
    expect(result.tenant.name).toBe('Crashed again');
    expect((await metaRows()).filter((r) => r.slug === 'crashed')).toEqual([{ slug: 'crashed', status: 'active' }]);
  });

  it('repair removes abandoned creates and reports orphan databases', async () => {
    await rt.registry.insertProvisioning(
      {
        slug: 'halfway',
        name: 'Halfway',
        dbName: `${env.prefix}halfway`,
        dbHost: rt.connections.tenant.host,
        dbPort: rt.connections.tenant.port,
        plan: 'free',
      },
      'test',
    );
    await env.admin((c) => c.query(`CREATE DATABASE ${c.escapeIdentifier(`${env.prefix}halfway`)}`));
    await env.admin((c) => c.query(`CREATE DATABASE ${c.escapeIdentifier(`${env.prefix}stray`)}`));
    const report = await provisioner.repair({ actor: 'test' });
    expect(report.reclaimed).toEqual([{ slug: 'halfway', dbName: `${env.prefix}halfway`, server: 'default' }]);
    expect(report.orphanDatabases).toEqual([`${env.prefix}stray`]);
    expect(await env.databases()).toContain(`${env.prefix}stray`);
    const dropped = await provisioner.repair({ actor: 'test', dropOrphans: true });
    expect(dropped.droppedOrphans).toEqual([`${env.prefix}stray`]);
    expect(await env.databases()).not.toContain(`${env.prefix}stray`);
    expect(await env.databases()).not.toContain(`${env.prefix}halfway`);
  });

  it('repair reports roles with the tenant prefix that belong to no tenant, and drops them with dropOrphans', async () => {
    const stray = [`${env.prefix}stray_role_owner`, `${env.prefix}stray_role_app`];
    await env.admin(async (c) => {
      for (const role of stray) await c.query(`CREATE ROLE ${c.escapeIdentifier(role)} NOLOGIN`);
      // Not a tenant role name: never reported.
      await c.query(`CREATE ROLE ${c.escapeIdentifier(`${env.prefix}something_else`)} NOLOGIN`);
    });
    const report = await provisioner.repair({ actor: 'test' });
    expect(report.orphanRoles.sort()).toEqual([...stray].sort());
    expect(report.droppedOrphanRoles).toEqual([]);
    const dropped = await provisioner.repair({ actor: 'test', dropOrphans: true });
    expect(dropped.droppedOrphanRoles.sort()).toEqual([...stray].sort());
    const left = await env.admin(async (c) => {
      const { rows } = await c.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1) ORDER BY 1', [
        env.prefix,
      ]);
      return rows.map((r) => r.rolname);
    });
    expect(left).not.toEqual(expect.arrayContaining([stray[0]]));
    expect(left).toEqual(expect.arrayContaining([`${env.prefix}something_else`, `${env.prefix}template_owner`, `${env.prefix}acme_corp_owner`]));
    expect((await provisioner.repair({ actor: 'test' })).orphanRoles).toEqual([]);
  });
});

describe('suspend and activate', () => {
  it('are idempotent, audited and NOTIFYed', async () => {
    await provisioner.create({ slug: 'initech', name: 'Initech' }, { actor: 'test' });
    const listener = new pg.Client({ connectionString: rt.connections.metaUrl });
    await listener.connect();
    const payloads: unknown[] = [];
    listener.on('notification', (n) => payloads.push(JSON.parse(n.payload ?? '{}')));
    await listener.query(`LISTEN ${TENANT_STATUS_CHANNEL}`);
    try {
      const first = await suspendTenant(rt.registry, 'initech', { actor: 'support', reason: 'invoice overdue' });
      expect(first).toMatchObject({ changed: true, previousStatus: 'active', tenant: { status: 'suspended' } });
      const again = await suspendTenant(rt.registry, 'initech', { actor: 'support' });
      expect(again.changed).toBe(false);
      const latest = (await provisioner.migrationFiles()).at(-1)?.name ?? null;
      const back = await activateTenant(rt.registry, first.tenant.id, { actor: 'support', latestVersion: latest });
      expect(back).toMatchObject({ changed: true, tenant: { status: 'active' } });
      // NOTIFYs arrive in commit order: once activate's is here, every earlier one is too.
      await eventually('the activate notification arrives', () =>
        payloads.some((p) => (p as { previousStatus?: string }).previousStatus === 'suspended'),
      );
      expect(payloads).toEqual([
        expect.objectContaining({ slug: 'initech', status: 'suspended', previousStatus: 'active' }),
        expect.objectContaining({ slug: 'initech', status: 'active', previousStatus: 'suspended' }),
      ]);
      const audit = await rt.registry.recentAudit(first.tenant.id, 3);
      expect(audit[0]).toMatchObject({ action: 'activate', actor: 'support' });
      expect(audit[1]).toMatchObject({ action: 'suspend', actor: 'support', details: expect.objectContaining({ reason: 'invoice overdue' }) });
    } finally {
      await listener.end();
    }
  });

  it('refuses to activate a tenant whose schema is behind', async () => {
    await provisioner.create({ slug: 'behind', name: 'Behind' }, { actor: 'test' });
    await suspendTenant(rt.registry, 'behind', { actor: 'test' });
    await expect(activateTenant(rt.registry, 'behind', { actor: 'test', latestVersion: '99999_future' })).rejects.toMatchObject({
      code: 'INVALID_STATE',
    });
    expect((await rt.registry.resolve('behind')).status).toBe('suspended');
  });

  it('reports an unknown tenant', async () => {
    await expect(suspendTenant(rt.registry, 'nobody', { actor: 'x' })).rejects.toMatchObject({
      code: 'TENANT_NOT_FOUND',
      message: 'tenant "nobody" not found',
    });
  });
});
