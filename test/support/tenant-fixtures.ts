/**
 * Helpers for the pool manager, middleware, server and worker tests: many
 * real tenants by template clone, seeded rows, and a sampler of the
 * connections the server really sees (pg_stat_activity).
 */
import pg from 'pg';
import { tenantClientConfig } from '../../src/pg/connection-settings.js';
import { withConnection } from '../../src/pg/with-helpers.js';
import type { Tenant } from '../../src/tenants/tenant.js';
import { TENANT_STATUSES, type TenantStatus } from '../../src/tenants/tenant.js';
import { openTenantServices, type TenantServices, type TenantServicesOptions } from '../../src/pools/tenant-services.js';
import { Provisioner } from '../../src/provision/provisioner.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import type { TestEnvironment } from './test-environment.js';

// Kept here too for the fleet tests, which import it from this module.
export { eventually } from './eventually.js';

/** The provisioner a runtime gives the CLI; `migrationsDir` points it at other migrations (e.g. one that fails). */
export function provisionerFor(rt: Runtime, options: { migrationsDir?: string } = {}): Provisioner {
  return new Provisioner({
    registry: rt.registry,
    connections: rt.connections,
    migrationsDir: options.migrationsDir ?? rt.config.migrationsDir,
    namePrefix: rt.config.tenantDb.namePrefix,
    secrets: rt.secrets,
  });
}

/** Creates `count` active tenants (`<stem>-000`, ...), a few at a time; the first builds the template. */
export async function createTenants(rt: Runtime, count: number, stem = 'tenant', concurrency = 4): Promise<Tenant[]> {
  const provisioner = provisionerFor(rt);
  const slug = (i: number) => `${stem}-${String(i).padStart(3, '0')}`;
  const tenants: Tenant[] = new Array<Tenant>(count);
  if (count === 0) return [];
  tenants[0] = (await provisioner.create({ slug: slug(0), name: slug(0) }, { actor: 'test' })).tenant;
  let next = 1;
  const workers = Array.from({ length: concurrency }, async () => {
    while (next < count) {
      const i = next++;
      tenants[i] = (await provisioner.create({ slug: slug(i), name: slug(i) }, { actor: 'test' })).tenant;
    }
  });
  await Promise.all(workers);
  return tenants;
}

/** A three-letter code unique to index i (AAA, AAB, ...), for per-tenant currencies. */
export function codeFor(i: number): string {
  const a = (n: number) => String.fromCharCode(65 + (n % 26));
  return a(Math.floor(i / 676)) + a(Math.floor(i / 26)) + a(i);
}

/** Inserts one currency into the tenant's own database, named after the tenant. */
export async function seedCurrency(rt: Runtime, tenant: Tenant, code: string): Promise<void> {
  await withConnection(tenantClientConfig(tenant, rt.connections.tenant), (client) =>
    client.query('INSERT INTO currencies (code, name) VALUES ($1, $2)', [code, tenant.slug]),
  );
}

/** Sets any status, NOTIFYing like the CLI does. */
export async function setStatus(rt: Runtime, tenant: Tenant, to: TenantStatus): Promise<void> {
  await rt.registry.changeStatus(tenant.id, { from: [...TENANT_STATUSES], to, actor: 'test', action: `test.${to}` });
}

export async function openServices(rt: Runtime, options: TenantServicesOptions = {}): Promise<TenantServices> {
  return openTenantServices(rt, options);
}

/** Client connections to this environment's tenant databases (the meta database excluded). */
export async function tenantConnections(client: pg.ClientBase, env: TestEnvironment): Promise<number> {
  const { rows } = await client.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity
     WHERE backend_type = 'client backend' AND starts_with(datname, $1) AND datname <> $2`,
    [env.prefix, env.metaDatabase],
  );
  return rows[0]?.n ?? 0;
}

export async function connectionsTo(client: pg.ClientBase, database: string): Promise<number> {
  const { rows } = await client.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'client backend' AND datname = $1",
    [database],
  );
  return rows[0]?.n ?? 0;
}

/** Samples tenant connections on its own admin connection until stopped; reports the peak. */
export async function startConnectionSampler(env: TestEnvironment): Promise<{ stop(): Promise<{ peak: number; samples: number }> }> {
  const client = new pg.Client({ connectionString: env.adminUrl });
  await client.connect();
  let peak = 0;
  let samples = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      peak = Math.max(peak, await tenantConnections(client, env));
      samples++;
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await client.end();
      return { peak, samples };
    },
  };
}
