/**
 * Authentication failure is its own error: AUTH_FAILED, exit 5, HTTP 503,
 * with a hint naming the role and never the password, for a tenant pool and
 * for the CLI (not INTERNAL / exit 1).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PoolManager } from '../../src/pools/pool-manager.js';
import { getTxManager, withTenant } from '../../src/context/tenant-context.js';
import { TenantCache } from '../../src/pools/tenant-cache.js';
import type { Tenant } from '../../src/tenants/tenant.js';
import type { TenantToolkitError } from '../../src/errors.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { errorResponse } from '../../src/server/http-errors.js';
import { runCli } from '../support/run-cli.js';
import { createTenants } from '../support/tenant-fixtures.js';
import { createTestEnvironment } from '../support/test-environment.js';

const env = createTestEnvironment();
const WRONG = 'not-the-password-9f3b';
let rt: Runtime;
let tenant: Tenant;

beforeAll(async () => {
  rt = await env.runtime();
  [tenant] = (await createTenants(rt, 1, 'auth')) as [Tenant];
});
afterAll(async () => {
  await env.cleanup();
});

describe('authentication failure', () => {
  it('a tenant pool with a wrong password fails with AUTH_FAILED (503), naming the role, never the password', async () => {
    const pools = new PoolManager({
      credentials: { ...rt.connections.tenant, password: WRONG },
      limits: rt.config.pool,
      tenants: new TenantCache(rt.registry),
    });
    try {
      const err = (await withTenant(pools, tenant.id, () => getTxManager().query('SELECT 1')).catch((e: unknown) => e)) as TenantToolkitError;
      expect(err).toMatchObject({ code: 'AUTH_FAILED', exitCode: 5, httpStatus: 503 });
      expect(err.hint).toContain(`"${rt.connections.tenant.user}"`);
      expect(`${err.message} ${err.hint} ${JSON.stringify(err.details)}`).not.toContain(WRONG);
      const response = errorResponse(err);
      expect(response.status).toBe(503);
      expect(JSON.stringify(response.body)).not.toContain(WRONG);
    } finally {
      await pools.close({ deadlineMs: 1_000 });
    }
  });

  it('the CLI exits 5 with AUTH_FAILED and a hint naming the role', async () => {
    const url = new URL(env.env.META_DATABASE_URL as string);
    const role = decodeURIComponent(url.username);
    url.password = WRONG;
    const result = await runCli(['list', '--json'], { ...env.env, META_DATABASE_URL: url.toString(), POSTGRES_ADMIN_URL: '' });
    expect(result.code, result.stderr).toBe(5);
    const output = JSON.parse(result.stdout) as { error: { code: string; hint: string } };
    expect(output.error.code).toBe('AUTH_FAILED');
    expect(output.error.hint).toContain(`"${role}"`);
    expect(result.stdout + result.stderr).not.toContain(WRONG);
  });
});
