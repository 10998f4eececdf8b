/**
 * The secret store against a real meta database: sealed at rest, opened only
 * with the key, rotation bookkeeping, rekey; and the client-side SCRAM
 * verifier really logs in.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createTestEnvironment, type TestEnvironment } from '../support/test-environment.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { TenantSecretStore } from '../../src/secrets/tenant-secret-store.js';
import { SecretKeyring } from '../../src/secrets/secret-keyring.js';
import { generateSecretKey, parseSecretKey } from '../../src/secrets/secret-key.js';
import { randomPassword } from '../../src/secrets/random-password.js';
import { scramSha256Verifier } from '../../src/secrets/scram-verifier.js';
import { SecretKeyError } from '../../src/errors.js';
import type { Tenant } from '../../src/tenants/tenant.js';

const run = promisify(execFile);
let env: TestEnvironment;
let rt: Runtime;
let seq = 0;

async function tenantRow(): Promise<Tenant> {
  seq += 1;
  return rt.registry.insertProvisioning(
    {
      slug: `sec-${seq}-x`,
      name: 'Secrets',
      dbName: `${env.prefix}sec_${seq}`,
      dbHost: '127.0.0.1',
      dbPort: 5432,
      serverName: 'default',
      plan: 'standard',
    },
    'test',
  );
}

/** Every row of every table in the meta database as text: what a data dump holds. */
async function metaDumpBySql(): Promise<string> {
  const { rows: tables } = await rt.metaPool.query<{ t: string }>(
    "SELECT format('%I.%I', schemaname, tablename) AS t FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')",
  );
  let out = '';
  for (const { t } of tables) {
    const { rows } = await rt.metaPool.query(`SELECT * FROM ${t}`);
    out += JSON.stringify(rows);
  }
  return out;
}

/** pg_dump of the meta database when a pg_dump as new as the server is on the machine (CI: TEST_PG_BINDIR). */
async function metaPgDump(): Promise<string | undefined> {
  const bindir = process.env.TEST_PG_BINDIR;
  const pgDump = bindir ? path.join(bindir, 'pg_dump') : undefined;
  if (!pgDump || !fs.existsSync(pgDump)) return undefined;
  const { stdout } = await run(pgDump, ['--dbname', rt.connections.metaUrl], { maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

beforeAll(async () => {
  env = createTestEnvironment();
  rt = await env.runtime();
});
afterAll(async () => {
  await env?.cleanup();
});

describe('tenant secret store', () => {
  it('stores only sealed text: no dump of the meta database holds the password', async () => {
    const tenant = await tenantRow();
    const password = randomPassword();
    await rt.secrets.save(tenant.id, `${env.prefix}sec_app`, password);
    expect((await rt.secrets.read(tenant.id))?.current).toBe(password);
    const { rows } = await rt.metaPool.query<{ secret: string; key_id: string }>(
      'SELECT secret, key_id FROM tenant_secrets WHERE tenant_id = $1',
      [tenant.id],
    );
    expect(rows[0]?.secret).toMatch(/^v1:[0-9a-f]{16}:/);
    expect(rows[0]?.key_id).toBe(rt.secrets.keyring.current().id);
    expect(await metaDumpBySql()).not.toContain(password);
    const dump = await metaPgDump();
    if (dump !== undefined) {
      expect(dump).toContain('tenant_secrets');
      expect(dump).not.toContain(password);
    }
  });

  it('opens nothing without the key, or with another key: a SECRET_KEY error (exit 2) that names the variable', async () => {
    const tenant = await tenantRow();
    await rt.secrets.save(tenant.id, `${env.prefix}sec_app2`, randomPassword());
    const noKey = new TenantSecretStore(rt.metaPool, new SecretKeyring(undefined));
    await expect(noKey.read(tenant.id)).rejects.toThrow(/no secret key is configured \(TENANT_SECRET_KEY or TENANT_SECRET_KEY_FILE\)/);
    const wrong = new TenantSecretStore(rt.metaPool, new SecretKeyring(generateSecretKey()));
    const err = await wrong.read(tenant.id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecretKeyError);
    expect((err as SecretKeyError).exitCode).toBe(2);
    await expect(noKey.save(tenant.id, 'x_app', 'pw')).rejects.toThrow(/TENANT_SECRET_KEY \(or TENANT_SECRET_KEY_FILE\) is not set/);
    // The failed save wrote nothing.
    expect((await rt.secrets.read(tenant.id))?.role).toBe(`${env.prefix}sec_app2`);
  });

  it('a sealed secret moved onto another tenant row does not open', async () => {
    const a = await tenantRow();
    const b = await tenantRow();
    await rt.secrets.save(a.id, `${env.prefix}a_app`, randomPassword());
    await rt.secrets.save(b.id, `${env.prefix}a_app`, randomPassword());
    await rt.metaPool.query('UPDATE tenant_secrets SET secret = (SELECT secret FROM tenant_secrets WHERE tenant_id = $1) WHERE tenant_id = $2', [
      a.id,
      b.id,
    ]);
    await expect(rt.secrets.read(b.id)).rejects.toThrow(/belongs to another tenant or role/);
    await rt.secrets.remove(b.id);
    expect(await rt.secrets.read(b.id)).toBeUndefined();
  });

  it('keeps the next password beside the current one until it is promoted, then audits and bumps the version', async () => {
    const tenant = await tenantRow();
    const first = randomPassword();
    const next = randomPassword();
    await rt.secrets.save(tenant.id, `${env.prefix}rot_app`, first);
    await rt.secrets.stageNext(tenant.id, next);
    expect(await rt.secrets.read(tenant.id)).toMatchObject({ current: first, next, version: 1 });
    expect((await rt.secrets.info(tenant.id))?.rotating).toBe(true);
    expect(await rt.secrets.promoteNext(tenant, 'tester')).toBe(true);
    expect(await rt.secrets.read(tenant.id)).toMatchObject({ current: next, next: undefined, version: 2 });
    expect(await rt.secrets.promoteNext(tenant, 'tester')).toBe(false);
    const audit = await rt.registry.recentAudit(tenant.id);
    expect(audit.map((a) => a.action)).toContain('credentials.rotated');
    expect(JSON.stringify(audit)).not.toContain(next);
  });

  it('rekey moves every secret to the current key, online, and reports secrets it cannot open', async () => {
    const oldKey = parseSecretKey(env.env.TENANT_SECRET_KEY as string, 'test');
    const tenant = await tenantRow();
    const password = randomPassword();
    await rt.secrets.save(tenant.id, `${env.prefix}rk_app`, password);
    const newKey = generateSecretKey();
    const both = new TenantSecretStore(rt.metaPool, new SecretKeyring(newKey, [oldKey]));
    expect((await both.keyUsage()).find((u) => u.keyId === oldKey.id)?.held).toBe('previous');
    const result = await both.rekey('tester');
    expect(result.failed).toEqual([]);
    expect(result.rekeyed.map((r) => r.tenantId)).toContain(tenant.id);
    expect((await both.read(tenant.id))?.current).toBe(password);
    // Only the new key is needed now.
    const onlyNew = new TenantSecretStore(rt.metaPool, new SecretKeyring(newKey));
    expect((await onlyNew.read(tenant.id))?.current).toBe(password);
    expect((await onlyNew.keyUsage()).find((u) => u.keyId === oldKey.id)).toBeUndefined();
    expect((await onlyNew.rekey('tester')).rekeyed).toEqual([]);
    // A third key without the second: nothing opens, each secret is reported, nothing is written.
    const stranger = new TenantSecretStore(rt.metaPool, new SecretKeyring(generateSecretKey()));
    const stuck = await stranger.rekey('tester');
    expect(stuck.failed.map((f) => f.tenantId)).toContain(tenant.id);
    expect((await onlyNew.read(tenant.id))?.current).toBe(password);
  });
});

describe('client-side SCRAM verifier', () => {
  it('logs in with the plaintext while the server only ever saw the verifier', async () => {
    const server = inject('testServer');
    const role = `${env.prefix}scram_login`;
    const password = randomPassword();
    const verifier = scramSha256Verifier(password);
    await env.admin(async (admin) => {
      await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD ${admin.escapeLiteral(verifier)}`);
      const { rows } = await admin.query<{ rolpassword: string }>('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [role]);
      expect(rows[0]?.rolpassword).toBe(verifier);
    });
    try {
      const connect = async (pw: string) => {
        const client = new pg.Client({ host: server.host, port: server.port, database: 'postgres', user: role, password: pw });
        await client.connect();
        await client.end();
      };
      await connect(password);
      await expect(connect(randomPassword())).rejects.toMatchObject({ code: '28P01' });
    } finally {
      await env.admin((admin) => admin.query(`DROP ROLE ${role}`));
    }
  });
});
