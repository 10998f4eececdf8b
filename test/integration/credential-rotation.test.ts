/**
 * Tenant logins against a real server, through the built reference server
 * under load: every tenant rotated, round after round (zero failed
 * requests); a rotation SIGKILLed after each step (the tenant still serves
 * new connections, and the next rotate completes it); a shared-mode tenant
 * isolated under load (the server moves to the new login, zero failed
 * requests); a wrong secret key (SECRET_KEY, the process stays up); and
 * `tenant credentials show` printing a password only when revealed, audited.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rotateTenantCredentials } from '../../src/provision/credential-rotation.js';
import { isolateTenants } from '../../src/provision/credential-isolation.js';
import { describeTenantCredentials } from '../../src/provision/tenant-credentials.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import type { Tenant } from '../../src/tenants/tenant.js';
import { eventually } from '../support/eventually.js';
import { cliEnv, runCli } from '../support/run-cli.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { createTenants, seedCurrency, codeFor } from '../support/tenant-fixtures.js';
import { createTestEnvironment, REPO_ROOT } from '../support/test-environment.js';
import { createApiUsers, headersFor, type ApiUser } from '../support/api-session.js';

const env = createTestEnvironment();
const CURRENCIES = '/api/v1/catalogs/currencies';
let rt: Runtime;
let tenants: Tenant[];
let shared: Tenant;
/** Stays in shared mode until the isolation test converts it under load. */
let toIsolate: Tenant;
let server: ServerProcess | undefined;
const children: ChildProcess[] = [];
/** Request headers per tenant id: a viewer of each tenant logged in on the server (its token auth is real). */
const sessions = new Map<string, Record<string, string>>();
function as(tenant: Tenant): Record<string, string> {
  const headers = sessions.get(tenant.id);
  if (!headers) throw new Error(`no session for ${tenant.slug}`);
  return headers;
}

/** Whether `password` opens a new connection as the tenant's app role right now. */
async function logsIn(tenant: Tenant, password: string): Promise<boolean> {
  const client = new pg.Client({
    host: tenant.dbHost,
    port: tenant.dbPort,
    database: tenant.dbName,
    user: tenant.appRole as string,
    password,
  });
  try {
    await client.connect();
    await client.end();
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === '28P01') return false;
    throw err;
  }
}

/** A closed loop of requests with random pauses: pools idle out and connections are opened again all the time. */
function jitteredLoad(base: string, targets: Tenant[], loops = 2) {
  let running = true;
  const counts = { ok: 0, failed: 0, samples: [] as string[] };
  const all = targets.flatMap((tenant) =>
    Array.from({ length: loops }, async () => {
      while (running) {
        try {
          const res = await fetch(`${base}${CURRENCIES}`, { headers: as(tenant) });
          const body = await res.text();
          if (res.ok) counts.ok++;
          else {
            counts.failed++;
            if (counts.samples.length < 10) counts.samples.push(`${tenant.slug}: ${res.status} ${body.slice(0, 200)}`);
          }
        } catch (err) {
          counts.failed++;
          if (counts.samples.length < 10) counts.samples.push(`${tenant.slug}: ${(err as Error).message}`);
        }
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 60));
      }
    }),
  );
  return {
    counts,
    async stop() {
      running = false;
      await Promise.all(all);
    },
  };
}

async function connectionsOpened(base: string): Promise<number> {
  const body = (await (await fetch(`${base}/health/tenants`)).json()) as { pools: { counters: { connectionsOpened: number } } };
  return body.pools.counters.connectionsOpened;
}

/** Runs a rotation of one tenant in a child process and SIGKILLs it right after `step`. */
async function rotationKilledAfter(tenant: Tenant, step: 'staged' | 'altered'): Promise<void> {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'test', 'support', 'rotation-child.mjs'), tenant.slug, step], {
    env: cliEnv(env.env),
    cwd: path.join(REPO_ROOT, 'test'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes(`reached ${step}`)) resolve();
    });
    void exited.then(() => reject(new Error(`the rotation child exited before ${step}:\n${out}\n${err}`)));
  });
  child.kill('SIGKILL');
  await exited;
}

beforeAll(async () => {
  rt = await env.runtime();
  const made = await createTenants(rt, 6, 'rot');
  await Promise.all(made.map((t, i) => seedCurrency(rt, t, codeFor(i))));
  // Their own roles, as `tenant credentials isolate` makes them.
  const isolated = await isolateTenants(
    rt,
    made.slice(0, 4).map((t) => t.slug),
    { actor: 'test', graceMs: 0 },
  );
  expect(isolated.map((r) => r.error?.message)).toEqual([undefined, undefined, undefined, undefined]);
  tenants = await Promise.all(made.slice(0, 4).map((t) => rt.registry.resolve(t.id)));
  shared = made[4] as Tenant;
  toIsolate = made[5] as Tenant;
  // Pools idle out after 100ms: with the load's pauses, new connections are opened throughout.
  server = await startServerProcess({ ...env.env, TENANT_MAX_CONNS_PER_POOL: '3', TENANT_POOL_IDLE_TIMEOUT: '100ms' });
  const everyone = [...tenants, shared, toIsolate];
  const users = await createApiUsers(
    rt,
    everyone.map((tenant) => ({ tenant, role: 'viewer' as const })),
  );
  for (const [i, tenant] of everyone.entries()) sessions.set(tenant.id, await headersFor(server.base, tenant, users[i] as ApiUser));
});
afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await server?.stop();
  // Drops the databases and the prefix's roles.
  await env.cleanup();
});

describe('credential rotation', () => {
  it('rotates every tenant, round after round, under load on the reference server: zero failed requests', async () => {
    const srv = server as ServerProcess;
    const load = jitteredLoad(srv.base, tenants);
    const passwords: string[] = [];
    try {
      await eventually('every tenant is served', () => load.counts.ok >= tenants.length * 2, 30_000);
      for (let round = 1; round <= 4; round++) {
        const before = await Promise.all(tenants.map(async (t) => (await rt.secrets.read(t.id))?.current as string));
        const openedBefore = await connectionsOpened(srv.base);
        const okBefore = load.counts.ok;
        // A slow moment between ALTER ROLE and the promote: servers open connections while the role
        // already has the new password and the store still says the old one is current.
        const outcome = await rotateTenantCredentials(rt, 'all', {
          actor: 'test',
          concurrency: 2,
          onStep: async (_tenant, step) => {
            if (step === 'altered') await new Promise((resolve) => setTimeout(resolve, 400));
          },
        });
        expect(outcome.counts, JSON.stringify(outcome.results)).toEqual({ rotated: tenants.length, skipped: 2, failed: 0 });
        // The role has the new password, and only the new one.
        for (const [i, t] of tenants.entries()) {
          const now = (await rt.secrets.read(t.id))?.current as string;
          passwords.push(now, before[i] as string);
          expect(now).not.toBe(before[i]);
          expect(await logsIn(t, now)).toBe(true);
          expect(await logsIn(t, before[i] as string)).toBe(false);
        }
        // The server keeps serving, through connections opened after the change.
        await eventually(
          `round ${round}: new connections are opened and requests served after the rotation`,
          async () => (await connectionsOpened(srv.base)) >= openedBefore + tenants.length && load.counts.ok >= okBefore + tenants.length * 4,
          30_000,
        );
      }
    } finally {
      await load.stop();
    }
    expect(load.counts.failed, load.counts.samples.join('\n')).toBe(0);
    expect(load.counts.ok).toBeGreaterThan(0);
    expect(srv.alive, srv.log).toBe(true);
    for (const password of passwords) expect(srv.log).not.toContain(password);
    const audit = await rt.registry.recentAudit((tenants[0] as Tenant).id, 10);
    expect(audit.filter((a) => a.action === 'credentials.rotated')).toHaveLength(4);
  });

  for (const step of ['staged', 'altered'] as const) {
    it(`a rotation killed after ${step}: the tenant still serves new connections, and the next rotate completes it`, async () => {
      const srv = server as ServerProcess;
      const tenant = tenants[step === 'staged' ? 1 : 2] as Tenant;
      const before = await rt.secrets.read(tenant.id);
      await rotationKilledAfter(tenant, step);
      const half = await rt.secrets.read(tenant.id);
      expect(half?.current).toBe(before?.current);
      expect(half?.next).toBeDefined();
      // What the role has now: the old password after stageNext, the staged one after ALTER ROLE.
      expect(await logsIn(tenant, half?.current as string)).toBe(step === 'staged');
      expect(await logsIn(tenant, half?.next as string)).toBe(step === 'altered');

      // New connections: pools idle out between these requests, so each opens one.
      for (let i = 0; i < 5; i++) {
        const opened = await connectionsOpened(srv.base);
        await eventually('the pool idled out', async () => {
          const body = (await (await fetch(`${srv.base}/health/tenants`)).json()) as { pools: { tenants: { tenantId: string }[] } };
          return !body.pools.tenants.some((p) => p.tenantId === tenant.id);
        });
        const res = await fetch(`${srv.base}${CURRENCIES}`, { headers: as(tenant) });
        expect(res.status, await res.text()).toBe(200);
        expect(await connectionsOpened(srv.base)).toBeGreaterThan(opened);
      }

      const cli = await runCli(['credentials', 'rotate', tenant.slug, '--json'], env.env);
      expect(cli.code, cli.stderr).toBe(0);
      const result = (JSON.parse(cli.stdout) as { results: { status: string; resumed: boolean }[] }).results[0];
      expect(result).toMatchObject({ status: 'rotated', resumed: true });
      const after = await rt.secrets.read(tenant.id);
      expect(after).toMatchObject({ current: half?.next, next: undefined });
      expect(await logsIn(tenant, after?.current as string)).toBe(true);
      const res = await fetch(`${srv.base}${CURRENCIES}`, { headers: as(tenant) });
      expect(res.status).toBe(200);
      for (const output of [cli.stdout, cli.stderr, srv.log]) {
        for (const password of [half?.current, half?.next]) expect(output).not.toContain(password);
      }
    });
  }

  it('a server holding the wrong secret key answers SECRET_KEY (500, no details) for isolated tenants, serves the others, and stays up', async () => {
    const wrong = await startServerProcess({ ...env.env, TENANT_SECRET_KEY: crypto.randomBytes(32).toString('base64') });
    try {
      for (let i = 0; i < 3; i++) {
        // A valid token (both servers sign with the test key): the key problem is what answers.
        const res = await fetch(`${wrong.base}${CURRENCIES}`, { headers: as(tenants[0] as Tenant) });
        expect(res.status).toBe(500);
        const body = (await res.json()) as { code: string; message: string };
        expect(body.code).toBe('SECRET_KEY');
        expect(body.message).not.toMatch(/TENANT_SECRET|decrypt|key id/i);
      }
      const other = await fetch(`${wrong.base}${CURRENCIES}`, { headers: as(shared) });
      expect(other.status).toBe(200);
      expect(wrong.alive, wrong.log).toBe(true);
      expect(wrong.log).toContain('SECRET_KEY');
    } finally {
      await wrong.stop();
    }
  });

  it('refuses a shared-mode tenant with a hint to isolate it (exit 1), and skips it in --all', async () => {
    const cli = await runCli(['credentials', 'rotate', shared.slug], env.env);
    expect(cli.code).toBe(1);
    expect(cli.stdout + cli.stderr).toContain(`tenant credentials isolate ${shared.slug}`);
    const outcome = await rotateTenantCredentials(rt, 'all', { actor: 'test' });
    expect(outcome.results.find((r) => r.tenantId === shared.id)).toMatchObject({ status: 'skipped' });
  });

  it('rotate needs tenants or --all, not both and not neither (exit 2)', async () => {
    for (const args of [
      ['credentials', 'rotate'],
      ['credentials', 'rotate', shared.slug, '--all'],
      ['credentials', 'isolate'],
    ]) {
      const cli = await runCli(args, env.env);
      expect(cli.code, `${args.join(' ')}: ${cli.stderr}`).toBe(2);
    }
    const unknown = await runCli(['credentials', 'rotate', 'nobody-here'], env.env);
    expect(unknown.code).toBe(3);
  });

  it('two rotations of one tenant at once: one waits for nobody, the other is refused, the tenant ends consistent', async () => {
    const tenant = tenants[3] as Tenant;
    const [a, b] = await Promise.all([
      rotateTenantCredentials(rt, [tenant.slug], { actor: 'a' }),
      rotateTenantCredentials(rt, [tenant.slug], { actor: 'b' }),
    ]);
    const statuses = [a.results[0]?.status, b.results[0]?.status].sort();
    expect(['failed,rotated', 'rotated,rotated']).toContain(statuses.join());
    const refused = [a, b].flatMap((o) => o.results).find((r) => r.status === 'failed');
    if (refused) expect(refused.error?.code).toBe('INVALID_STATE');
    const secret = await rt.secrets.read(tenant.id);
    expect(secret?.next).toBeUndefined();
    expect(await logsIn(tenant, secret?.current as string)).toBe(true);
  });

  it('show redacts the password; --reveal off a terminal needs --yes (exit 2); a reveal is audited without the password', async () => {
    const tenant = tenants[0] as Tenant;
    const password = (await rt.secrets.read(tenant.id))?.current as string;
    const shown = await runCli(['credentials', 'show', tenant.slug, '--json'], env.env);
    expect(shown.code, shown.stderr).toBe(0);
    const info = JSON.parse(shown.stdout) as { mode: string; appRole: string; url: string; secretVersion: number; keyId: string };
    expect(info).toMatchObject({ mode: 'isolated', appRole: tenant.appRole });
    expect(info.url).toContain(':***@');
    expect(shown.stdout).not.toContain(password);

    const refused = await runCli(['credentials', 'show', tenant.slug, '--reveal'], env.env);
    expect(refused.code).toBe(2);
    expect(refused.stdout).not.toContain(password);

    const revealed = await runCli(['credentials', 'show', tenant.slug, '--reveal', '--yes', '--json', '--actor', 'support-7'], env.env);
    expect(revealed.code, revealed.stderr).toBe(0);
    const url = (JSON.parse(revealed.stdout) as { url: string }).url;
    expect(url).toContain(encodeURIComponent(password));
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.end();
    const audit = await rt.registry.recentAudit(tenant.id, 5);
    const entry = audit.find((a) => a.action === 'credentials.revealed');
    expect(entry).toMatchObject({ actor: 'support-7' });
    expect(JSON.stringify(audit)).not.toContain(password);

    const info2 = await describeTenantCredentials(rt, shared.slug, { actor: 'test' });
    expect(info2.mode).toBe(shared.ownerRole === null ? 'legacy' : 'shared');
    await expect(describeTenantCredentials(rt, shared.slug, { actor: 'test', reveal: true })).rejects.toMatchObject({ code: 'INVALID_STATE' });
  });

  it('isolating a shared-mode tenant under load: the server moves to its new login without a failed request', async () => {
    const srv = server as ServerProcess;
    const sharedUser = rt.connections.tenant.user;
    const load = jitteredLoad(srv.base, [toIsolate], 3);
    try {
      await eventually('the tenant is served', () => load.counts.ok >= 5, 30_000);
      const cli = await runCli(['credentials', 'isolate', toIsolate.slug, '--grace', '2s', '--json'], env.env);
      expect(cli.code, cli.stdout + cli.stderr).toBe(0);
      expect((JSON.parse(cli.stdout) as { results: { status: string }[] }).results[0]?.status).toBe('isolated');
      const isolated = await rt.registry.resolve(toIsolate.id);
      expect(isolated.appRole).not.toBeNull();
      const okAfter = load.counts.ok;
      await eventually('requests are served after the switch', () => load.counts.ok >= okAfter + 10, 30_000);
      // The server's connections to the tenant are the new login's; the shared login has none left there.
      const users = await env.admin(async (c) => {
        const { rows } = await c.query<{ usename: string }>(
          "SELECT DISTINCT usename FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE 'metapus:server:%'",
          [toIsolate.dbName],
        );
        return rows.map((r) => r.usename);
      });
      expect(users).not.toContain(sharedUser);
      const password = (await rt.secrets.read(toIsolate.id))?.current as string;
      for (const output of [cli.stdout, cli.stderr, srv.log]) expect(output).not.toContain(password);
    } finally {
      await load.stop();
    }
    expect(load.counts.failed, load.counts.samples.join('\n')).toBe(0);
    expect(srv.alive, srv.log).toBe(true);
  });
});
