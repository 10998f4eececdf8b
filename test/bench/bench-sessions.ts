/**
 * The server benchmark measures the real API, token check included: one
 * user per tenant (addUser, as `tenant user add` makes it) and one login
 * (the token service's own login, scrypt included) before any timing. The
 * access tokens outlive the run; every request then pays what a client's
 * request pays: the signature check and the user's row and permissions.
 */
import crypto from 'node:crypto';
import { withTenant, type LeaseSource } from '../../src/context/tenant-context.js';
import type { ApiAuth } from '../../src/erp/auth/api-auth.js';
import { createTokenAuth } from '../../src/erp/auth/token-auth.js';
import { addUser } from '../../src/erp/auth/user-admin.js';

/** Long enough for any run (provisioning 1,000 tenants included). */
const ACCESS_TTL_SECONDS = 6 * 3_600;

/** The key every app server of the run shares (a token from one is good on all); the raw bound (d) checks tokens with it too. */
export const BENCH_TOKEN_KEY = crypto.randomBytes(32);

/** The token service every app server of the run shares. */
export function benchAuth(): ApiAuth {
  return createTokenAuth({ key: BENCH_TOKEN_KEY, accessTtlSeconds: ACCESS_TTL_SECONDS, refreshTtlSeconds: ACCESS_TTL_SECONDS });
}

/**
 * An admin per tenant, logged in: tenant id -> `Authorization` value. Runs
 * `concurrency` tenants at a time (scrypt runs on libuv's thread pool).
 */
export async function createSessions(
  pools: LeaseSource,
  auth: ApiAuth,
  tenantIds: readonly string[],
  concurrency = 8,
): Promise<Map<string, string>> {
  const sessions = new Map<string, string>();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < tenantIds.length) {
        const id = tenantIds[next++] as string;
        const email = 'bench@example.test';
        const password = crypto.randomBytes(18).toString('base64url');
        const pair = await withTenant(pools, id, async () => {
          await addUser({ email, password, role: 'admin', fullName: 'Bench' });
          return auth.login({ email, password }, { userAgent: 'bench' });
        });
        sessions.set(id, `Bearer ${pair.accessToken}`);
      }
    }),
  );
  return sessions;
}
