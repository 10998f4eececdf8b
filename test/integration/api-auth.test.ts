/**
 * The real token service behind the real app (in process): users made with
 * addUser in the tenant's database, logins over HTTP, refresh rotation and
 * reuse, logout, disabled users, tenant binding, forged and expired tokens,
 * and what each role may do.
 */
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getTxManager, withTenant } from '../../src/context/tenant-context.js';
import type { TokenPair } from '../../src/erp/auth/api-auth.js';
import { signAccessToken, signClaims } from '../../src/erp/auth/access-token.js';
import { LoginLimiter } from '../../src/erp/auth/login-limiter.js';
import { hasPermission } from '../../src/erp/auth/permissions.js';
import { createTokenAuth } from '../../src/erp/auth/token-auth.js';
import { addUser, disableUser, enableUser, listUsers } from '../../src/erp/auth/user-admin.js';
import { ConflictError, NotFoundError, ValidationError } from '../../src/errors.js';
import type { TenantServices } from '../../src/pools/tenant-services.js';
import { createApiRouter, createApp } from '../../src/reference/app.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import type { Tenant } from '../../src/tenants/tenant.js';
import { startHttpServer, type TestHttpServer } from '../support/http-server.js';
import { createTenants, openServices } from '../support/tenant-fixtures.js';
import { createTestEnvironment } from '../support/test-environment.js';

const env = createTestEnvironment();
const key = crypto.randomBytes(32);
const auth = createTokenAuth({ key, accessTtlSeconds: 900, refreshTtlSeconds: 3600, limiter: new LoginLimiter() });
const PASSWORD = 'a long enough password';
let rt: Runtime;
let services: TenantServices;
let server: TestHttpServer | undefined;
let a: Tenant;
let b: Tenant;

interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

async function api(
  method: string,
  path: string,
  options: { tenant?: Tenant | undefined; token?: string | undefined; body?: unknown; authorization?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (options.tenant) headers['x-tenant-id'] = options.tenant.id;
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.authorization) headers.authorization = options.authorization;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${server!.base}${path}`, {
    method,
    headers,
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

function inTenant<T>(tenant: Tenant, fn: () => Promise<T>): Promise<T> {
  return withTenant(services.pools, tenant.id, fn);
}

async function login(tenant: Tenant, email: string, password = PASSWORD): Promise<TokenPair> {
  const answer = await api('POST', '/api/v1/auth/login', { tenant, body: { email, password } });
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body as TokenPair;
}

beforeAll(async () => {
  rt = await env.runtime();
  [a, b] = (await createTenants(rt, 2, 'auth')) as [Tenant, Tenant];
  services = await openServices(rt);
  server = await startHttpServer(createApp({ auth, pools: services.pools, metaPool: rt.metaPool }));
  await inTenant(a, async () => {
    await addUser({ email: 'Admin@Example.test', password: PASSWORD, role: 'admin', fullName: 'Ada Admin' });
    await addUser({ email: 'clerk@example.test', password: PASSWORD, role: 'clerk' });
    await addUser({ email: 'viewer@example.test', password: PASSWORD, role: 'viewer' });
  });
  await inTenant(b, () => addUser({ email: 'admin@example.test', password: 'tenant b password', role: 'admin' }));
});

afterAll(async () => {
  await server?.stop();
  await services?.close({ deadlineMs: 1_000 });
  await env.cleanup();
});

describe('users (user-admin)', () => {
  it('adds users with the standard roles, refuses duplicates (any case) and bad input naming the fields', async () => {
    await inTenant(a, async () => {
      await expect(addUser({ email: ' CLERK@example.test ', password: PASSWORD, role: 'clerk' })).rejects.toBeInstanceOf(ConflictError);
      const invalid = await addUser({ email: 'no-at-sign', password: 'short', role: 'boss' as 'admin' }).catch((err: unknown) => err);
      expect(invalid).toBeInstanceOf(ValidationError);
      expect(Object.keys((invalid as ValidationError).fields).sort()).toEqual(['email', 'password', 'role']);
      const long = await addUser({ email: `${'x'.repeat(250)}@e.st`, password: PASSWORD, role: 'viewer' }).catch((err: unknown) => err);
      expect((long as ValidationError).fields).toHaveProperty('email');
    });
  });

  it('writes the standard roles once, with their permissions, even when two first users race', async () => {
    const tenant = b;
    const made = await Promise.all(
      ['v1@example.test', 'v2@example.test', 'v3@example.test'].map((email) =>
        inTenant(tenant, () => addUser({ email, password: PASSWORD, role: 'viewer' })),
      ),
    );
    for (const user of made) expect(user).toMatchObject({ roles: ['viewer'], permissions: ['catalogs.read', 'documents.read'] });
    const roles = await inTenant(
      tenant,
      async () => (await getTxManager().query<{ code: string }>('SELECT code FROM roles ORDER BY code')).rows,
    );
    expect(roles.map((r) => r.code)).toEqual(['admin', 'viewer']);
  });

  it('lists users with roles, state and times; stores only a scrypt hash of the password', async () => {
    const users = await inTenant(a, () => listUsers());
    expect(users.map((u) => u.email)).toEqual(expect.arrayContaining(['Admin@Example.test', 'clerk@example.test', 'viewer@example.test']));
    const admin = users.find((u) => u.email === 'Admin@Example.test');
    expect(admin).toMatchObject({ fullName: 'Ada Admin', roles: ['admin'], isActive: true });
    expect(new Date(admin!.createdAt).getTime()).toBeGreaterThan(0);
    const hashes = await inTenant(
      a,
      async () => (await getTxManager().query<{ password_hash: string }>('SELECT password_hash FROM users')).rows,
    );
    for (const { password_hash } of hashes) {
      expect(password_hash).toMatch(/^scrypt\$32768\$8\$1\$/);
      expect(password_hash).not.toContain(PASSWORD);
    }
  });

  it('disabling or enabling an unknown email is NOT_FOUND', async () => {
    await inTenant(a, async () => {
      await expect(disableUser('nobody@example.test')).rejects.toBeInstanceOf(NotFoundError);
      await expect(enableUser('nobody@example.test')).rejects.toBeInstanceOf(NotFoundError);
    });
  });
});

describe('login and me', () => {
  it('logs in (email in any case) and answers a token pair; me names the user; last_login_at is set', async () => {
    const pair = await login(a, '  admin@EXAMPLE.test ');
    expect(pair).toMatchObject({ tokenType: 'Bearer', expiresIn: 900, refreshExpiresIn: 3600 });
    expect(pair.user).toMatchObject({ email: 'Admin@Example.test', fullName: 'Ada Admin', roles: ['admin'] });
    expect(pair.user.permissions).toContain('documents.post');
    const me = await api('GET', '/api/v1/auth/me', { tenant: a, token: pair.accessToken });
    expect(me).toMatchObject({ status: 200, body: pair.user });
    const [admin] = (await inTenant(a, () => listUsers())).filter((u) => u.email === 'Admin@Example.test');
    expect(admin?.lastLoginAt).not.toBeNull();
  });

  it('stores the refresh token only as its sha256, with the client it was given to', async () => {
    const pair = await login(a, 'clerk@example.test');
    const rows = await inTenant(
      a,
      async () =>
        (
          await getTxManager().query<{ token_hash: string; user_agent: string | null; ip: string | null }>(
            'SELECT token_hash, user_agent, host(ip) AS ip FROM refresh_tokens WHERE token_hash = $1 OR token_hash = $2',
            [crypto.createHash('sha256').update(pair.refreshToken).digest('hex'), pair.refreshToken],
          )
        ).rows,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.token_hash).not.toBe(pair.refreshToken);
    expect(rows[0]!.ip).toBe('127.0.0.1');
  });

  it('answers a wrong password and an unknown email with the same 401', async () => {
    const wrong = await api('POST', '/api/v1/auth/login', { tenant: a, body: { email: 'viewer@example.test', password: 'not the password' } });
    const unknown = await api('POST', '/api/v1/auth/login', { tenant: a, body: { email: 'ghost@example.test', password: 'not the password' } });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body).toEqual({ code: 'UNAUTHENTICATED', message: 'wrong email or password' });
    expect(unknown.body).toEqual(wrong.body);
    // The same user exists in tenant A only: tenant B does not know the email.
    expect((await api('POST', '/api/v1/auth/login', { tenant: b, body: { email: 'viewer@example.test', password: PASSWORD } })).status).toBe(
      401,
    );
  });

  it('validates the body, naming the fields', async () => {
    const answer = await api('POST', '/api/v1/auth/login', { tenant: a, body: { email: 7, extra: true } });
    expect(answer.status).toBe(400);
    expect(answer.body.fields).toEqual({ email: expect.any(String), password: 'required', extra: 'unknown field' });
  });

  it('limits failed logins: 429 with Retry-After after 5 failures, even with the right password; other emails unaffected', async () => {
    await inTenant(a, () => addUser({ email: 'limited@example.test', password: PASSWORD, role: 'viewer' }));
    for (let i = 0; i < 5; i++) {
      const answer = await api('POST', '/api/v1/auth/login', { tenant: a, body: { email: 'limited@example.test', password: `guess ${i}` } });
      expect(answer.status).toBe(401);
    }
    const limited = await api('POST', '/api/v1/auth/login', { tenant: a, body: { email: 'LIMITED@example.test', password: PASSWORD } });
    expect(limited.status).toBe(429);
    expect(limited.body.code).toBe('RATE_LIMITED');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(800);
    // Per tenant and email: the same email elsewhere and other emails here still log in.
    await login(a, 'viewer@example.test');
    expect((await api('POST', '/api/v1/auth/login', { tenant: b, body: { email: 'limited@example.test', password: 'x' } })).status).toBe(401);
  });

  it('a success clears the failures', async () => {
    await inTenant(a, () => addUser({ email: 'forgetful@example.test', password: PASSWORD, role: 'viewer' }));
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 4; i++) {
        expect(
          (await api('POST', '/api/v1/auth/login', { tenant: a, body: { email: 'forgetful@example.test', password: 'wrong one' } })).status,
        ).toBe(401);
      }
      await login(a, 'forgetful@example.test');
    }
  });
});

describe('refresh and logout', () => {
  it('rotates: the new pair works, the old refresh token is refused, and reusing it revokes the new one too', async () => {
    const first = await login(a, 'clerk@example.test');
    const second = await api('POST', '/api/v1/auth/refresh', { tenant: a, body: { refreshToken: first.refreshToken } });
    expect(second.status).toBe(200);
    expect(second.body.refreshToken).not.toBe(first.refreshToken);
    expect((await api('GET', '/api/v1/auth/me', { tenant: a, token: second.body.accessToken })).status).toBe(200);

    const reused = await api('POST', '/api/v1/auth/refresh', { tenant: a, body: { refreshToken: first.refreshToken } });
    expect(reused.status).toBe(401);
    expect(reused.body.message).toMatch(/already used/);
    // Reuse detection: the token issued by the rotation is revoked too.
    expect((await api('POST', '/api/v1/auth/refresh', { tenant: a, body: { refreshToken: second.body.refreshToken } })).status).toBe(401);
  });

  it('two refreshes racing with one token: exactly one gets a pair, and the reuse revokes it', async () => {
    const pair = await login(a, 'clerk@example.test');
    const answers = await Promise.all(
      [0, 1].map(() => api('POST', '/api/v1/auth/refresh', { tenant: a, body: { refreshToken: pair.refreshToken } })),
    );
    expect(answers.map((x) => x.status).sort()).toEqual([200, 401]);
    const winner = answers.find((x) => x.status === 200)!;
    expect((await api('POST', '/api/v1/auth/refresh', { tenant: a, body: { refreshToken: winner.body.refreshToken } })).status).toBe(401);
  });

  it('refuses a refresh token of another tenant and one that is not a token', async () => {
    const pair = await login(a, 'viewer@example.test');
    expect((await api('POST', '/api/v1/auth/refresh', { tenant: b, body: { refreshToken: pair.refreshToken } })).status).toBe(401);
    expect((await api('POST', '/api/v1/auth/refresh', { tenant: a, body: { refreshToken: 'x'.repeat(43) } })).status).toBe(401);
    expect((await api('POST', '/api/v1/auth/refresh', { tenant: a, body: { refreshToken: 'short' } })).status).toBe(401);
    expect((await api('POST', '/api/v1/auth/refresh', { tenant: a, body: {} })).status).toBe(400);
    // Still good in its own tenant.
    expect((await api('POST', '/api/v1/auth/refresh', { tenant: a, body: { refreshToken: pair.refreshToken } })).status).toBe(200);
  });

  it('logout revokes the given refresh token (204); all: true revokes every one; another user’s token is refused', async () => {
    const one = await login(a, 'viewer@example.test');
    const two = await login(a, 'viewer@example.test');
    const clerk = await login(a, 'clerk@example.test');
    const out = await api('POST', '/api/v1/auth/logout', { tenant: a, token: one.accessToken, body: { refreshToken: one.refreshToken } });
    expect(out.status).toBe(204);
    expect((await api('POST', '/api/v1/auth/refresh', { tenant: a, body: { refreshToken: one.refreshToken } })).status).toBe(401);

    const foreign = await api('POST', '/api/v1/auth/logout', { tenant: a, token: two.accessToken, body: { refreshToken: clerk.refreshToken } });
    expect(foreign.status).toBe(400);
    expect(foreign.body.fields).toHaveProperty('refreshToken');
    expect((await api('POST', '/api/v1/auth/logout', { tenant: a, token: two.accessToken, body: {} })).status).toBe(400);
    expect((await api('POST', '/api/v1/auth/logout', { tenant: a, body: { all: true } })).status).toBe(401);

    const three = await login(a, 'viewer@example.test');
    expect((await api('POST', '/api/v1/auth/logout', { tenant: a, token: three.accessToken, body: { all: true } })).status).toBe(204);
    for (const pair of [two, three]) {
      expect((await api('POST', '/api/v1/auth/refresh', { tenant: a, body: { refreshToken: pair.refreshToken } })).status).toBe(401);
    }
    // The clerk's session is not touched by the viewer's logout.
    expect((await api('POST', '/api/v1/auth/refresh', { tenant: a, body: { refreshToken: clerk.refreshToken } })).status).toBe(200);
  });
});

describe('tokens refused', () => {
  it('a disabled user’s access token is refused at once, refresh and login too; enabling lets them log in again', async () => {
    await inTenant(a, () => addUser({ email: 'leaver@example.test', password: PASSWORD, role: 'clerk' }));
    const pair = await login(a, 'leaver@example.test');
    expect((await api('GET', '/api/v1/auth/me', { tenant: a, token: pair.accessToken })).status).toBe(200);
    await inTenant(a, () => disableUser('LEAVER@example.test'));
    expect((await api('GET', '/api/v1/auth/me', { tenant: a, token: pair.accessToken })).status).toBe(401);
    expect((await api('POST', '/api/v1/auth/refresh', { tenant: a, body: { refreshToken: pair.refreshToken } })).status).toBe(401);
    const refused = await api('POST', '/api/v1/auth/login', { tenant: a, body: { email: 'leaver@example.test', password: PASSWORD } });
    expect(refused.body).toEqual({ code: 'UNAUTHENTICATED', message: 'wrong email or password' });
    const live = await inTenant(
      a,
      async () =>
        (
          await getTxManager().query<{ n: number }>(
            "SELECT count(*)::int AS n FROM refresh_tokens t JOIN users u ON u.id = t.user_id WHERE u.email = 'leaver@example.test' AND t.revoked_at IS NULL",
          )
        ).rows[0]!.n,
    );
    expect(live).toBe(0);
    await inTenant(a, () => enableUser('leaver@example.test'));
    await login(a, 'leaver@example.test');
  });

  it('a token of tenant A sent with X-Tenant-ID B is refused, even where B has a user with the same id', async () => {
    const pair = await login(a, 'Admin@Example.test');
    // The same user id in B (an active admin): only the token's tenant claim tells them apart.
    await inTenant(b, async () => {
      await getTxManager().query(
        "INSERT INTO users (id, email, password_hash) VALUES ($1, 'twin@example.test', 'scrypt$x') ON CONFLICT (id) DO NOTHING",
        [pair.user.id],
      );
      await getTxManager().query(
        "INSERT INTO user_roles (user_id, role_id) SELECT $1, id FROM roles WHERE code = 'admin' ON CONFLICT DO NOTHING",
        [pair.user.id],
      );
    });
    const answer = await api('GET', '/api/v1/auth/me', { tenant: b, token: pair.accessToken });
    expect(answer.status).toBe(401);
    expect(answer.headers.get('www-authenticate')).toBe('Bearer');
  });

  it('refuses an expired token, a tampered one, one signed with another key, and a missing or malformed header', async () => {
    const pair = await login(a, 'Admin@Example.test');
    const sub = pair.user.id;
    const expired = signClaims(key, { sub, tid: a.id, iat: 1_000_000, exp: 1_000_900, typ: 'access' });
    expect((await api('GET', '/api/v1/auth/me', { tenant: a, token: expired })).body.message).toMatch(/expired/);
    const [header, payload, signature] = pair.accessToken.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const tampered = `${header}.${Buffer.from(JSON.stringify({ ...claims, exp: (claims.exp as number) + 86_400 })).toString('base64url')}.${signature}`;
    const otherKey = signAccessToken(crypto.randomBytes(32), { sub, tid: a.id }, 900);
    for (const token of [expired, tampered, otherKey, `${header}.${payload}.`]) {
      expect((await api('GET', '/api/v1/auth/me', { tenant: a, token })).status, token).toBe(401);
    }
    for (const authorization of ['', `Basic ${pair.accessToken}`, pair.accessToken, 'Bearer']) {
      expect((await api('GET', '/api/v1/auth/me', { tenant: a, authorization })).status, authorization).toBe(401);
    }
    // A real token of a user id that has no row in this tenant (B's admin, signed for A).
    const stranger = (await inTenant(b, () => listUsers()))[0]!.id;
    expect((await api('GET', '/api/v1/auth/me', { tenant: a, token: signAccessToken(key, { sub: stranger, tid: a.id }, 900) })).status).toBe(
      401,
    );
    // The genuine one still works.
    expect((await api('GET', '/api/v1/auth/me', { tenant: a, token: pair.accessToken })).status).toBe(200);
  });
});

describe('roles', () => {
  it('the principal of each role carries its standard permissions', async () => {
    const permissions = async (email: string) => {
      const pair = await login(a, email);
      return inTenant(a, () => auth.authenticate(`Bearer ${pair.accessToken}`));
    };
    const viewer = await permissions('viewer@example.test');
    const clerk = await permissions('clerk@example.test');
    const admin = await permissions('Admin@Example.test');
    expect(viewer).toMatchObject({ roles: ['viewer'], tenantId: a.id });
    expect(hasPermission(viewer, 'catalogs.read')).toBe(true);
    expect(hasPermission(viewer, 'catalogs.write')).toBe(false);
    expect(hasPermission(viewer, 'documents.post')).toBe(false);
    expect(hasPermission(clerk, 'catalogs.write')).toBe(true);
    expect(hasPermission(clerk, 'documents.write')).toBe(true);
    expect(hasPermission(clerk, 'documents.post')).toBe(false);
    expect(hasPermission(admin, 'documents.post')).toBe(true);
  });

  it('a clerk can write a catalog', async () => {
    const clerk = await login(a, 'clerk@example.test');
    const created = await api('POST', '/api/v1/catalogs/currencies', {
      tenant: a,
      token: clerk.accessToken,
      body: { code: 'EUR', name: 'Euro' },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
  });

  // These two need the route declarations of the catalog and document work (merged beside this file);
  // while those modules are still the contract's stubs there is no route that demands the permission.
  const declared = createApiRouter(auth).list();
  const documentRoutesLanded = declared.some((r) => r.pattern.startsWith('/api/v1/documents/'));
  const catalogWriteDeclared = declared.some((r) => r.method === 'POST' && r.pattern.startsWith('/api/v1/catalogs/') && r.info !== undefined);

  it.runIf(documentRoutesLanded)('a viewer and a clerk cannot post a document (403); an admin gets past the permission', async () => {
    const id = crypto.randomUUID();
    for (const email of ['viewer@example.test', 'clerk@example.test']) {
      const pair = await login(a, email);
      const answer = await api('POST', `/api/v1/documents/goods-receipts/${id}/post`, { tenant: a, token: pair.accessToken, body: {} });
      expect(answer.status, email).toBe(403);
      expect(answer.body.code).toBe('FORBIDDEN');
    }
    const admin = await login(a, 'Admin@Example.test');
    const answer = await api('POST', `/api/v1/documents/goods-receipts/${id}/post`, { tenant: a, token: admin.accessToken, body: {} });
    expect(answer.status).toBe(404);
  });

  it.runIf(catalogWriteDeclared)('a viewer cannot write a catalog (403)', async () => {
    const viewer = await login(a, 'viewer@example.test');
    const answer = await api('POST', '/api/v1/catalogs/currencies', {
      tenant: a,
      token: viewer.accessToken,
      body: { code: 'USD', name: 'Dollar' },
    });
    expect(answer.status).toBe(403);
    expect(answer.body).toMatchObject({ code: 'FORBIDDEN' });
  });
});
