/**
 * Real API sessions for tests against a spawned reference server (whose
 * auth is the real token service, not staticAuth): a user made in the
 * tenant's database — with the library (`addUser` in a tenant scope) or with
 * the CLI (`tenant user add --password-stdin`) — then a real login. The
 * server signs with API_TOKEN_KEY; server-process.ts passes TEST_TOKEN_KEY
 * unless the test sets its own.
 */
import crypto from 'node:crypto';
import { withTenant, type LeaseSource } from '../../src/context/tenant-context.js';
import { signAccessToken } from '../../src/erp/auth/access-token.js';
import type { TokenPair } from '../../src/erp/auth/api-auth.js';
import type { RoleCode } from '../../src/erp/auth/permissions.js';
import { addUser } from '../../src/erp/auth/user-admin.js';
import { openTenantServices } from '../../src/pools/tenant-services.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { runCli } from './run-cli.js';
import { TEST_TOKEN_KEY } from './server-process.js';

export { TEST_TOKEN_KEY };

export const LOGIN_PATH = '/api/v1/auth/login';

export interface ApiUser {
  /** The users row's id (known when made with the library). */
  id?: string | undefined;
  email: string;
  password: string;
  role: RoleCode;
}

export interface ApiUserOptions {
  role?: RoleCode;
  email?: string;
  password?: string;
}

/** Where users are made: tenant pools in this process, or the CLI with the server's environment. */
export type UserSource = { pools: LeaseSource } | { cliEnv: Record<string, string> };

function newUser(options: ApiUserOptions): ApiUser {
  const role = options.role ?? 'admin';
  return {
    role,
    email: options.email ?? `${role}-${crypto.randomBytes(4).toString('hex')}@example.test`,
    password: options.password ?? crypto.randomBytes(18).toString('base64url'),
  };
}

/** A user of the tenant, made with the library in a tenant scope. */
export async function createApiUser(services: { pools: LeaseSource }, tenant: { id: string }, options: ApiUserOptions = {}): Promise<ApiUser> {
  const user = newUser(options);
  const view = await withTenant(services.pools, tenant.id, () => addUser({ email: user.email, password: user.password, role: user.role }));
  return { ...user, id: view.id };
}

/** A user of the tenant, made by the built CLI (`tenant user add ... --password-stdin`), as an operator would. */
export async function createApiUserWithCli(
  cliEnv: Record<string, string>,
  tenant: { id: string },
  options: ApiUserOptions = {},
): Promise<ApiUser> {
  const user = newUser(options);
  const result = await runCli(
    ['user', 'add', tenant.id, '--email', user.email, '--role', user.role, '--password-stdin'],
    cliEnv,
    `${user.password}\n`,
  );
  if (result.code !== 0) throw new Error(`tenant user add exited ${String(result.code)}: ${result.stderr}`);
  return user;
}

/**
 * One user per (tenant, role) on a runtime that has no tenant services open
 * (the fault tests start the server as a subprocess): opens them without a
 * listener, makes the users, closes them.
 */
export async function createApiUsers(rt: Runtime, wanted: { tenant: { id: string }; role?: RoleCode }[]): Promise<ApiUser[]> {
  const services = await openTenantServices(rt, { listen: false, component: 'test' });
  try {
    const users: ApiUser[] = [];
    for (const { tenant, role } of wanted) users.push(await createApiUser(services, tenant, role ? { role } : {}));
    return users;
  } finally {
    await services.close({ deadlineMs: 1_000 });
  }
}

/** POST /api/v1/auth/login; throws with the answer unless 200. */
export async function login(base: string, tenant: { id: string }, email: string, password: string): Promise<TokenPair> {
  const response = await fetch(`${base}${LOGIN_PATH}`, {
    method: 'POST',
    headers: { 'x-tenant-id': tenant.id, 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`login as ${email} answered ${response.status}: ${text}`);
  return JSON.parse(text) as TokenPair;
}

/** The headers of a request as `user` of the tenant: the tenant id and a fresh access token. */
export async function headersFor(base: string, tenant: { id: string }, user: ApiUser): Promise<Record<string, string>> {
  const pair = await login(base, tenant, user.email, user.password);
  return { 'x-tenant-id': tenant.id, authorization: `Bearer ${pair.accessToken}` };
}

/** A new user with `role` in the tenant, logged in: the headers its requests carry. */
export async function sessionHeaders(
  base: string,
  source: UserSource,
  tenant: { id: string },
  role: RoleCode = 'admin',
): Promise<Record<string, string>> {
  const user = 'pools' in source ? await createApiUser(source, tenant, { role }) : await createApiUserWithCli(source.cliEnv, tenant, { role });
  return headersFor(base, tenant, user);
}

/**
 * Headers with an access token signed here with the server's key, as its
 * login would sign it, without a request: for a tenant the server must not
 * have seen yet (a login would put it in the server's tenant cache).
 */
export function signedHeadersFor(tenant: { id: string }, user: ApiUser, key = TEST_TOKEN_KEY, ttlSeconds = 3_600): Record<string, string> {
  if (!user.id) throw new Error(`signedHeadersFor needs the user's id (${user.email} was made without the library)`);
  const token = signAccessToken(Buffer.from(key, 'base64'), { sub: user.id, tid: tenant.id }, ttlSeconds);
  return { 'x-tenant-id': tenant.id, authorization: `Bearer ${token}` };
}
