/**
 * A create killed with SIGKILL at each step of its state machine leaves no
 * orphan database, no orphan role and no half-granted active tenant: `tenant
 * repair` (or the next create of the slug) cleans everything it made.
 */
import { provisionerFor } from '../support/tenant-fixtures.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Provisioner } from '../../src/provision/provisioner.js';
import { tenantRoleNames } from '../../src/provision/tenant-naming.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { eventually } from '../support/eventually.js';
import { runKilledChild } from '../support/killed-child.js';
import { createTestEnvironment } from '../support/test-environment.js';

const env = createTestEnvironment();
let rt: Runtime;
let provisioner: Provisioner;

beforeAll(async () => {
  rt = await env.runtime();
  provisioner = provisionerFor(rt);
});
afterAll(() => env.cleanup());

/** Runs a create in a child process that SIGKILLs itself when it reaches `step`; resolves with the steps it printed. */
function createKilledAt(
  slug: string,
  step: string,
  options: { template?: boolean; isolated?: boolean } = {},
): Promise<{ signal: NodeJS.Signals | null; out: string }> {
  const base = options.isolated ? env.isolatedEnv : env.env;
  return runKilledChild('create-child.ts', { ...base, CREATE_SLUG: slug, KILL_AT_STEP: step, USE_TEMPLATE: String(options.template ?? true) });
}

async function rolesOf(dbName: string): Promise<string[]> {
  const names = tenantRoleNames(dbName);
  return env.admin(async (c) => {
    const { rows } = await c.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE rolname = ANY($1) ORDER BY 1', [
      [names.owner, names.app],
    ]);
    return rows.map((r) => r.rolname);
  });
}

async function secretsOf(tenantId: string): Promise<number> {
  const { rows } = await rt.metaPool.query<{ n: number }>('SELECT count(*)::int AS n FROM tenant_secrets WHERE tenant_id = $1', [tenantId]);
  return rows[0]?.n ?? 0;
}

/** Repairs until the killed create's session (and with it its create lock) is gone. */
async function repairUntilFree(): Promise<Awaited<ReturnType<Provisioner['repair']>>> {
  let report = await provisioner.repair({ actor: 'test' });
  const reclaimed = [...report.reclaimed];
  await eventually('the killed create no longer holds its lock', async () => {
    if (report.busy.length === 0) return true;
    report = await provisioner.repair({ actor: 'test' });
    reclaimed.push(...report.reclaimed);
    return false;
  });
  return { ...report, reclaimed };
}

describe('a create killed with SIGKILL', () => {
  it('builds the template first', async () => {
    const first = await provisioner.create({ slug: 'kill-base', name: 'base' }, { actor: 'test' });
    expect(first.tenant.status).toBe('active');
    expect(await env.databases()).toContain(`${env.prefix}template`);
  });

  const cases: [string, 'shared' | 'isolated', boolean][] = [
    ['roles', 'shared', true],
    ['database', 'shared', true],
    ['database', 'isolated', true],
    ['database', 'isolated', false],
    ['migrate', 'shared', true],
    ['migrate', 'isolated', false],
    ['grants', 'isolated', true],
    ['activate', 'shared', true],
    ['activate', 'isolated', true],
  ];
  it.each(cases)(
    'at step %s (%s mode, template: %s) leaves nothing once repaired, and the slug can be created again',
    async (step, mode, template) => {
      const slug = `kill-${step}-${mode[0]}${template ? 't' : 'm'}`;
      const dbName = `${env.prefix}${slug.replace(/-/g, '_')}`;
      const run = await createKilledAt(slug, step, { template, isolated: mode === 'isolated' });
      expect(run.signal, run.out).toBe('SIGKILL');
      expect(run.out).toContain(`step ${step}`);
      const row = await rt.registry.getBySlug(slug);
      expect(row?.status).toBe('provisioning');
      expect(row?.ownerRole).toBe(tenantRoleNames(dbName).owner);
      expect(row?.appRole).toBe(mode === 'isolated' ? tenantRoleNames(dbName).app : null);
      if (mode === 'isolated' && step !== 'roles') expect(await secretsOf(row?.id as string)).toBe(1);

      const report = await repairUntilFree();
      expect(report.reclaimed).toContainEqual({ slug, dbName, server: 'default' });
      expect(report.orphanRoles).toEqual([]);
      expect(report.orphanDatabases).toEqual([]);
      expect(await rt.registry.getBySlug(slug)).toBeUndefined();
      expect(await env.databases()).not.toContain(dbName);
      expect(await rolesOf(dbName)).toEqual([]);
      expect(await secretsOf(row?.id as string)).toBe(0);

      const again = await provisioner.create({ slug, name: slug }, { actor: 'test' });
      expect(again.tenant.status).toBe('active');
    },
  );

  it('before registering leaves nothing at all', async () => {
    const run = await createKilledAt('kill-register', 'register');
    expect(run.signal).toBe('SIGKILL');
    expect(await rt.registry.getBySlug('kill-register')).toBeUndefined();
    expect(await rolesOf(`${env.prefix}kill_register`)).toEqual([]);
  });

  it('is reclaimed by the next create of the slug as well', async () => {
    const run = await createKilledAt('kill-next', 'grants');
    expect(run.signal).toBe('SIGKILL');
    let created: Awaited<ReturnType<Provisioner['create']>> | undefined;
    await eventually(
      'the next create is no longer refused as a conflict',
      async () => {
        created = await provisioner.create({ slug: 'kill-next', name: 'again' }, { actor: 'test' }).catch((err: unknown) => {
          if ((err as { code?: string }).code === 'TENANT_EXISTS') return undefined;
          throw err;
        });
        return created !== undefined;
      },
      30_000,
    );
    expect(created?.tenant.status).toBe('active');
    expect(await rolesOf(`${env.prefix}kill_next`)).toEqual([`${env.prefix}kill_next_owner`]);
    const report = await provisioner.repair({ actor: 'test' });
    expect(report).toMatchObject({ reclaimed: [], orphanRoles: [], orphanDatabases: [] });
  });
});
