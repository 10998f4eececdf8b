/**
 * Unix-socket connection URLs, end to end on the real test server: the meta
 * connection (`postgres://user:pw@/db?host=…`), the admin connection
 * (`postgres:///db?host=…&user=…`) and the tenant connections derived from
 * it all go through the socket folder.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { parseConnectionUrl, withDatabase } from '../../src/connection-url.js';
import { openTenantServices } from '../../src/pools/tenant-services.js';
import { openRuntime, type Runtime } from '../../src/runtime/runtime.js';
import { provisionerFor } from '../support/tenant-fixtures.js';
import { createTestEnvironment } from '../support/test-environment.js';

const server = inject('testServer');
const env = createTestEnvironment();
const runtimes: Runtime[] = [];

afterAll(async () => {
  await Promise.all(runtimes.map((rt) => rt.close()));
  await env.cleanup();
});

describe.skipIf(!server.socketDir)('Unix-socket connection URLs', () => {
  it('reach the meta, admin and tenant databases through the socket folder', async () => {
    const socketDir = server.socketDir as string;
    const admin = parseConnectionUrl(server.adminUrl);
    const q = (params: Record<string, string>) => new URLSearchParams(params).toString().replace(/%2F/g, '/');
    const metaUrl = `postgres://${encodeURIComponent(admin.user ?? 'postgres')}:${encodeURIComponent(admin.password ?? '')}@/${env.metaDatabase}?${q({ host: socketDir, port: String(server.port) })}`;
    const adminUrl = `postgres:///postgres?${q({ host: socketDir, port: String(server.port), user: admin.user ?? 'postgres', password: admin.password ?? '' })}`;

    const config = parseConfig({
      META_DATABASE_URL: metaUrl,
      POSTGRES_ADMIN_URL: adminUrl,
      TENANT_DB_USER: server.appUser,
      TENANT_DB_PASSWORD: server.appPassword,
      TENANT_DB_PREFIX: env.prefix,
    });
    const rt = await openRuntime(config);
    runtimes.push(rt);
    expect(rt.connections.tenant).toMatchObject({ host: socketDir, port: server.port });

    const { tenant } = await provisionerFor(rt).create({ slug: 'socket-tenant', name: 'Socket' }, { actor: 'test' });
    expect(tenant).toMatchObject({ status: 'active', dbHost: socketDir, dbPort: server.port });

    const services = await openTenantServices(rt);
    try {
      const lease = await services.pools.acquire(tenant.id);
      try {
        const { rows } = await lease.pool.query<{ db: string; socket: boolean }>(
          'SELECT current_database() AS db, inet_server_addr() IS NULL AS socket',
        );
        // inet_server_addr() is NULL only on a Unix-socket connection.
        expect(rows[0]).toEqual({ db: tenant.dbName, socket: true });
      } finally {
        lease.release();
      }
    } finally {
      await services.close();
    }

    const { rows } = await rt.metaPool.query<{ db: string; socket: boolean }>(
      'SELECT current_database() AS db, inet_server_addr() IS NULL AS socket',
    );
    expect(rows[0]).toEqual({ db: env.metaDatabase, socket: true });
    expect(withDatabase(metaUrl, 'x')).toContain(`host=${socketDir}`);
  });
});
