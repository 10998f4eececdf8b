import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getPool, getTenant, getTxManager, withTenant } from '../../src/context/tenant-context.js';
import type { TenantServices } from '../../src/pools/tenant-services.js';
import type { Tenant } from '../../src/tenants/tenant.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { createTenants, openServices } from '../support/tenant-fixtures.js';
import { createTestEnvironment } from '../support/test-environment.js';

const env = createTestEnvironment();
let rt: Runtime;
let tenant: Tenant;
let services: TenantServices;

beforeAll(async () => {
  rt = await env.runtime();
  [tenant] = (await createTenants(rt, 1, 'tx')) as [Tenant];
  services = await openServices(rt, { listen: false });
});
afterAll(async () => {
  await services?.close();
  await env.cleanup();
});

const inTenant = <T>(fn: () => Promise<T>) => withTenant(services.pools, tenant.id, fn);
/** The stored codes among `mine`: each test writes its own codes, so it can run alone or after the others. */
const codes = async (...mine: string[]) =>
  (await getTxManager().query<{ code: string }>('SELECT code FROM currencies WHERE code = ANY($1) ORDER BY code', [mine])).rows.map(
    (r) => r.code,
  );
const insert = (code: string) => getTxManager().query('INSERT INTO currencies (code, name) VALUES ($1, $1)', [code]);
const setting = async () => (await getTxManager().query<{ v: string }>("SELECT current_setting('statement_timeout') AS v")).rows[0]?.v;

describe('tenant scope and TransactionManager', () => {
  it('gives a clear error outside a tenant scope', () => {
    for (const get of [getTenant, getPool, getTxManager]) {
      expect(get).toThrowError(expect.objectContaining({ code: 'NO_TENANT_SCOPE' }));
    }
  });

  it('exposes the tenant, its pool and a transaction manager inside the scope', async () => {
    await inTenant(async () => {
      expect(getTenant().id).toBe(tenant.id);
      const { rows } = await getPool().query<{ db: string }>('SELECT current_database() AS db');
      expect(rows[0]?.db).toBe(tenant.dbName);
    });
  });

  it('commits on success and rolls back on error', async () => {
    await inTenant(async () => {
      const tx = getTxManager();
      await tx.run(() => insert('AAA'));
      await expect(
        tx.run(async () => {
          await insert('BBB');
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await codes('AAA', 'BBB')).toEqual(['AAA']);
    });
  });

  it('turns nested runs into savepoints: an inner failure rolls back only the inner work', async () => {
    await inTenant(async () => {
      const tx = getTxManager();
      await tx.run(async () => {
        const outer = (await tx.query<{ x: string }>('SELECT txid_current()::text AS x')).rows[0]?.x;
        await insert('CCC');
        await tx
          .run(async () => {
            expect((await tx.query<{ x: string }>('SELECT txid_current()::text AS x')).rows[0]?.x).toBe(outer);
            await insert('DDD');
            throw new Error('inner');
          })
          .catch(() => undefined);
        await tx.run(() => insert('EEE'));
      });
      expect(await codes('CCC', 'DDD', 'EEE')).toEqual(['CCC', 'EEE']);
    });
  });

  it('applies statement_timeout per transaction and per savepoint, and never leaks it to the connection', async () => {
    await inTenant(async () => {
      const tx = getTxManager();
      const before = await setting();
      await expect(tx.run(() => tx.query('SELECT pg_sleep(2)'), { statementTimeoutMs: 50 })).rejects.toMatchObject({
        code: 'QUERY_TIMEOUT',
        httpStatus: 503,
      });
      await tx.run(async () => {
        expect(await setting()).toBe(before);
        await tx.run(async () => expect(await setting()).toBe('150ms'), { statementTimeoutMs: 150 });
        expect(await setting()).toBe(before);
      });
      await tx.run(async () => expect(await setting()).toBe('3s'), { statementTimeoutMs: 3000 });
      expect(await setting()).toBe(before);
    });
  });

  it('keeps the connection after an SQL error, and releases the lease only when its connections are back', async () => {
    await inTenant(async () => {
      const tx = getTxManager();
      const pid = async () => (await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
      const first = await pid();
      await expect(tx.query('SELECT 1/0')).rejects.toMatchObject({ code: '22012' });
      expect(await pid()).toBe(first);
    });
    expect(services.pools.stats().leases).toBe(0);
  });

  it('refuses isolation or read-only settings on a nested run', async () => {
    await inTenant(async () => {
      const tx = getTxManager();
      await tx.run(async () => {
        await expect(tx.run(async () => 1, { readOnly: true })).rejects.toMatchObject({ code: 'USAGE' });
      });
      await expect(tx.run(() => tx.query("INSERT INTO currencies (code, name) VALUES ('FFF', 'x')"), { readOnly: true })).rejects.toMatchObject({
        code: '25006',
      });
    });
  });
});
