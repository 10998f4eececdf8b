/**
 * A move killed with SIGKILL at ten points (every step, inside the copy,
 * right after the switch) leaves the tenant on exactly one server with all
 * its data: after the next run (a rerun of the move, or `tenant repair`)
 * the tenant is active on one server, its data is what it was, no move is
 * left running and no database belongs to nobody, on any of three servers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MoveDeps } from '../../src/provision/move-context.js';
import { runningMoves } from '../../src/provision/move-journal.js';
import { repairMoves, type MoveRepairResult } from '../../src/provision/move-recovery.js';
import { keptDatabases } from '../../src/provision/moved-databases.js';
import { moveTenant } from '../../src/provision/tenant-move.js';
import { cloneTenant } from '../../src/provision/tenant-clone.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { serverOf, type Tenant } from '../../src/tenants/tenant.js';
import { eventually } from '../support/eventually.js';
import { databaseContents, seedStock } from '../support/move-fixtures.js';
import { asTenantOwner, openMoveRuntime, withAdmin, type MoveServers } from '../support/move-servers.js';
import { runKilledChild } from '../support/killed-child.js';
import { provisionerFor } from '../support/tenant-fixtures.js';
import { createTestEnvironment } from '../support/test-environment.js';

const env = createTestEnvironment();
let servers: MoveServers;
let rt: Runtime;
let deps: MoveDeps;
let tenant: Tenant;
let contents: Record<string, string>;

beforeAll(async () => {
  ({ servers, rt, deps } = await openMoveRuntime(env.isolatedEnv));
  tenant = (await provisionerFor(rt).create({ slug: 'killed', name: 'Killed' }, { actor: 'test' })).tenant;
  await asOwner(tenant, (c) => seedStock(c, { items: 200, receipts: 100, linesPerReceipt: 10 }));
  contents = await asOwner(tenant, databaseContents);
}, 240_000);
afterAll(async () => {
  await rt?.close();
  await servers?.dispose();
  await env.cleanup();
});

function asOwner<T>(t: Tenant, fn: (client: import('pg').Client) => Promise<T>): Promise<T> {
  return asTenantOwner(rt, t, fn);
}

function urlOf(server: string): string {
  return servers.urlOf(server, env.adminUrl);
}

function moveKilledAt(to: string, killAt: string, extra: Record<string, string> = {}) {
  return runKilledChild('move-child.ts', { ...env.isolatedEnv, ...servers.env, MOVE_TENANT: 'killed', MOVE_TO: to, KILL_AT: killAt, ...extra });
}

/** Repairs until the killed mover's session (and its lock) is gone. */
async function repairUntilFree(): Promise<MoveRepairResult> {
  let last = await repairMoves(deps, 'test');
  await eventually('the killed move no longer holds its lock', async () => {
    if (last.busy.length === 0) return true;
    last = await repairMoves(deps, 'test');
    return false;
  });
  return last;
}

/** Tenant-prefixed databases on a server that belong to no tenant there and are not a kept source. */
async function orphansOn(server: string, tenants: readonly Tenant[]): Promise<string[]> {
  const kept = new Set((await keptDatabases(rt.metaPool)).filter((k) => k.serverName === server).map((k) => k.dbName));
  const own = new Set(tenants.filter((t) => t.serverName === server).map((t) => t.dbName));
  const names = await withAdmin(urlOf(server), async (c) =>
    (await c.query<{ datname: string }>('SELECT datname FROM pg_database WHERE starts_with(datname, $1)', [env.prefix])).rows.map(
      (r) => r.datname,
    ),
  );
  return names.filter((d) => !own.has(d) && !kept.has(d) && d !== `${env.prefix}template` && d !== env.metaDatabase);
}

const SERVERS = ['default', 'pg-embedded', 'pg-system'];
/** Every step, two points inside the copy, and right after the switch committed. */
const KILL_POINTS = ['locked', 'moving', 'fenced', 'roles', 'database', 'copy', 'table:3', 'table:11', 'switched', 'kept'];

describe('a move killed with SIGKILL', () => {
  it.each(KILL_POINTS.map((point, run) => ({ point, run })))(
    'at $point (run $run) leaves the tenant whole on exactly one server',
    async ({ point, run }) => {
      const from = serverOf(await rt.registry.resolve('killed'));
      const to = SERVERS[(SERVERS.indexOf(from) + 1) % SERVERS.length] as string;
      const killed = await moveKilledAt(to, point);
      expect(killed.signal, killed.out).toBe('SIGKILL');
      // Even runs: the next `tenant move` finishes or rolls back first; odd runs: `tenant repair`.
      if (run % 2 === 0) {
        await eventually('the killed move no longer holds its lock', async () => {
          try {
            const report = await moveTenant(deps, 'killed', to, { actor: 'test' });
            // Killed after the switch: the rerun only finishes it, and reports the move from its journal.
            if (point === 'switched') expect(report).toMatchObject({ recovered: { action: 'finished' }, target: { server: to } });
            if (point === 'switched') expect(report.rows).toBeGreaterThan(0);
            return true;
          } catch (err) {
            if ((err as { code?: string }).code === 'INVALID_STATE' && /already on server/.test((err as Error).message)) return true;
            if ((err as { code?: string }).code === 'INVALID_STATE' && /being moved/.test((err as Error).message)) return false;
            throw err;
          }
        });
        expect((await rt.registry.resolve('killed')).serverName).toBe(to);
      } else {
        const repaired = await repairUntilFree();
        expect(repaired.failed).toEqual([]);
      }
      const now = await rt.registry.resolve('killed');
      expect(now.status).toBe('active');
      expect(await runningMoves(rt.metaPool)).toEqual([]);
      expect(await asOwner(now, databaseContents)).toEqual(contents);
      const tenants = await rt.registry.list();
      for (const server of SERVERS) {
        expect(await orphansOn(server, tenants), `orphans on ${server}`).toEqual([]);
        const has = await withAdmin(
          urlOf(server),
          async (c) => (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [now.dbName])).rowCount,
        );
        expect(has, `${now.dbName} on ${server}`).toBe(server === now.serverName ? 1 : 0);
        // The tenant's roles live where its database (or a kept source) is, nowhere else.
        const roles = await withAdmin(
          urlOf(server),
          async (c) => (await c.query('SELECT 1 FROM pg_roles WHERE rolname = ANY($1)', [[now.ownerRole, now.appRole]])).rowCount,
        );
        const keptHere = (await keptDatabases(rt.metaPool)).some((k) => k.serverName === server);
        if (server === now.serverName) expect(roles).toBe(2);
        else if (!keptHere) expect(roles, `roles on ${server}`).toBe(0);
      }
    },
  );
});

describe('a clone killed with SIGKILL', () => {
  it.each(['database', 'table:5'])('at %s is cleaned by `tenant repair`, and the slug can be cloned again', async (point) => {
    const slug = `copy-${point.replace(':', '-')}`;
    const killed = await moveKilledAt('pg-system', point, { CLONE_SLUG: slug });
    expect(killed.signal, killed.out).toBe('SIGKILL');
    expect((await rt.registry.getBySlug(slug))?.status).toBe('provisioning');
    const repaired = await repairUntilFree();
    expect(repaired.failed).toEqual([]);
    expect(await rt.registry.getBySlug(slug)).toBeUndefined();
    expect(await orphansOn('pg-system', await rt.registry.list())).toEqual([]);
    const clone = await cloneTenant(deps, 'killed', { slug, name: slug, server: 'pg-system' }, { actor: 'test' });
    expect(await asOwner(clone.tenant, databaseContents)).toEqual(contents);
  });
});
