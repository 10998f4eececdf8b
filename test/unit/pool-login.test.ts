/**
 * The one rule for a refused tenant login (tenant-login.ts), without a
 * database: the connection attempt is a function that is refused the way
 * PostgreSQL refuses a password (SQLSTATE 28P01) unless it is given the
 * password the "role" has now. The real thing, with ALTER ROLE and a live
 * server, is in test/integration/credential-rotation.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { SecretKeyError } from '../../src/errors.js';
import { TenantLogins, sameLogin, type TenantSecretReader } from '../../src/pools/tenant-login.js';
import type { Tenant } from '../../src/tenants/tenant.js';
import { fakeTenant } from '../support/fake-tenant.js';

const shared = { user: 'shared_app', password: 'shared-pw', host: '127.0.0.1', port: 5432, sslMode: 'disable' as const };
const tenant: Tenant = fakeTenant();

/** A secret store in memory that counts reads. */
class Secrets implements TenantSecretReader {
  reads = 0;
  constructor(public secret: { role: string; current: string; next: string | undefined; version: number } | undefined) {}
  async read(): Promise<typeof this.secret> {
    this.reads++;
    return this.secret ? { ...this.secret } : undefined;
  }
}

/** A "server" whose role has `password`; connect() asks the logins for the password like pg does. */
function server(logins: TenantLogins, password: { value: string }) {
  const attempts: string[] = [];
  const connect = async () => {
    const given = await logins.password(tenant);
    attempts.push(given);
    if (given !== password.value) {
      throw Object.assign(new Error(`password authentication failed for user "${tenant.appRole}"`), { code: '28P01' });
    }
    return 'connection';
  };
  return { attempts, open: () => logins.open(tenant, connect) };
}

const secret = (current: string, next?: string) => ({ role: 'mt_acme_app', current, next, version: 1 });

describe('tenant login', () => {
  it('uses the shared credentials for a tenant without its own role, and its own role otherwise', async () => {
    const logins = new TenantLogins(shared, new Secrets(secret('p1')));
    const sharedConfig = logins.clientConfig({ ...tenant, appRole: null });
    expect(sharedConfig).toMatchObject({ user: 'shared_app', password: 'shared-pw', database: 'mt_acme' });
    expect(logins.gate({ ...tenant, appRole: null })).toBeUndefined();
    const own = logins.clientConfig(tenant);
    expect(own.user).toBe('mt_acme_app');
    expect(typeof own.password).toBe('function');
    expect(await (own.password as () => Promise<string>)()).toBe('p1');
  });

  it('reads the secret once and serves later connections from the cache', async () => {
    const secrets = new Secrets(secret('p1'));
    const logins = new TenantLogins(shared, secrets);
    const role = { value: 'p1' };
    const { open } = server(logins, role);
    await Promise.all([open(), open(), open()]);
    await open();
    expect(secrets.reads).toBe(1);
  });

  it('after the role changed but before the promote (next staged): re-reads once and logs in with next', async () => {
    const secrets = new Secrets(secret('p1'));
    const logins = new TenantLogins(shared, secrets);
    const role = { value: 'p1' };
    const { open, attempts } = server(logins, role);
    await open();
    // stageNext, then ALTER ROLE: the cache still says p1.
    secrets.secret = secret('p1', 'p2');
    role.value = 'p2';
    await expect(open()).resolves.toBe('connection');
    expect(attempts).toEqual(['p1', 'p1', 'p2']);
    // The next connection uses p2 straight away.
    await open();
    expect(attempts.at(-1)).toBe('p2');
    expect(secrets.reads).toBe(2);
  });

  it('after a promote this server missed: re-reads and logs in with the fresh current', async () => {
    const secrets = new Secrets(secret('p1'));
    const logins = new TenantLogins(shared, secrets);
    const role = { value: 'p1' };
    const { open, attempts } = server(logins, role);
    await open();
    secrets.secret = secret('p2');
    role.value = 'p2';
    await open();
    expect(attempts).toEqual(['p1', 'p1', 'p2']);
  });

  it('a staged next that was never set on the role (killed after stageNext): current keeps working, no re-read', async () => {
    const secrets = new Secrets(secret('p1', 'p2'));
    const logins = new TenantLogins(shared, secrets);
    const { open, attempts } = server(logins, { value: 'p1' });
    await open();
    await open();
    expect(attempts).toEqual(['p1', 'p1']);
    expect(secrets.reads).toBe(1);
  });

  it('fails with AUTH_FAILED naming the role, never a password, when the fresh secret is refused too', async () => {
    const secrets = new Secrets(secret('p1'));
    const logins = new TenantLogins(shared, secrets);
    const role = { value: 'p1' };
    const { open, attempts } = server(logins, role);
    await open();
    secrets.secret = secret('p1', 'p2');
    role.value = 'something-else';
    const err = await open().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'AUTH_FAILED', role: 'mt_acme_app' });
    expect((err as Error).message).toContain('mt_acme_app');
    const everything = JSON.stringify({
      message: (err as Error).message,
      hint: (err as { hint?: string }).hint,
      details: (err as { details?: unknown }).details,
    });
    for (const password of ['p1', 'p2', 'something-else']) expect(everything).not.toContain(`"${password}"`);
    // One retry, not a loop.
    expect(attempts).toEqual(['p1', 'p1', 'p2']);
  });

  it('does not retry when the re-read offers the password that was just refused', async () => {
    const secrets = new Secrets(secret('p1'));
    const logins = new TenantLogins(shared, secrets);
    const { open, attempts } = server(logins, { value: 'wrong-on-the-server' });
    await expect(open()).rejects.toMatchObject({ code: 'AUTH_FAILED' });
    expect(attempts).toEqual(['p1']);
    expect(secrets.reads).toBe(2);
  });

  it('passes other connection failures through without re-reading', async () => {
    const secrets = new Secrets(secret('p1'));
    const logins = new TenantLogins(shared, secrets);
    const refusedSocket = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    await expect(
      logins.open(tenant, async () => {
        throw refusedSocket;
      }),
    ).rejects.toBe(refusedSocket);
    expect(secrets.reads).toBe(1);
  });

  it('a missing secret key surfaces as SecretKeyError before any connection is tried', async () => {
    const logins = new TenantLogins(shared, {
      read: async () => {
        throw new SecretKeyError('TENANT_SECRET_KEY is not set; it decrypts the tenant passwords');
      },
    });
    let tried = false;
    await expect(
      logins.open(tenant, async () => {
        tried = true;
        return 'connection';
      }),
    ).rejects.toBeInstanceOf(SecretKeyError);
    expect(tried).toBe(false);
  });

  it('no recorded secret: AUTH_FAILED with a hint to rotate', async () => {
    const logins = new TenantLogins(shared, new Secrets(undefined));
    await expect(logins.password(tenant)).rejects.toMatchObject({
      code: 'AUTH_FAILED',
      hint: expect.stringContaining('tenant credentials rotate'),
    });
  });

  it('forget() drops the cached secret; a read already in flight cannot put the old one back', async () => {
    let release: (() => void) | undefined;
    const secrets = new Secrets(secret('p1'));
    const slow: TenantSecretReader = {
      read: async () => {
        const value = await secrets.read();
        await new Promise<void>((resolve) => (release = resolve));
        return value ?? (await secrets.read());
      },
    };
    const logins = new TenantLogins(shared, slow);
    const first = logins.password(tenant);
    await new Promise((r) => setImmediate(r));
    logins.forget(tenant.id);
    secrets.secret = secret('p2');
    release?.();
    expect(await first).toBe('p1');
    expect(logins.cached).toBe(0);
    const second = logins.password(tenant);
    await new Promise((r) => setImmediate(r));
    release?.();
    expect(await second).toBe('p2');
    expect(logins.cached).toBe(1);
  });

  it('a plain read finishing after a recovery does not put the refused password back', async () => {
    const gates: (() => void)[] = [];
    const secrets = { secret: secret('p1', 'p2') };
    const logins = new TenantLogins(shared, {
      read: async () => {
        const value = { ...secrets.secret };
        await new Promise<void>((resolve) => gates.push(resolve));
        return value;
      },
    });
    const refusedP1 = async () => {
      if ((await logins.password(tenant)) !== 'p2') {
        throw Object.assign(new Error('password authentication failed'), { code: '28P01' });
      }
      return 'connection';
    };
    // The cache holds p1 (the role already has p2).
    const warm = logins.password(tenant);
    gates.shift()?.();
    expect(await warm).toBe('p1');
    const opening = logins.open(tenant, refusedP1);
    await new Promise((r) => setImmediate(r));
    // The recovery's read (next) is in flight; a plain read starts beside it.
    const plain = logins.password(tenant);
    await new Promise((r) => setImmediate(r));
    gates.shift()?.(); // the recovery's read
    await expect(opening).resolves.toBe('connection');
    gates.shift()?.(); // the plain read, last
    await plain;
    expect(await logins.password(tenant)).toBe('p2');
  });

  it('sameLogin compares the app and owner roles', () => {
    expect(sameLogin(tenant, { ...tenant })).toBe(true);
    expect(sameLogin(tenant, { ...tenant, appRole: null })).toBe(false);
    expect(sameLogin(tenant, { ...tenant, ownerRole: null })).toBe(false);
  });
});
