/**
 * `tenant status` over a large fleet (BENCH_STATUS_TENANTS, default 10,000
 * registered tenants: 1% migration_failed with an audited error, 10% one
 * migration behind, a few stuck creates), from the library and from the
 * CLI, next to the raw lower bound: the one statement any fleet summary
 * needs (`SELECT status, count(*) FROM tenants GROUP BY status`) via psql.
 * Target: under a second for 10,000 tenants.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { openRuntime } from '../../src/runtime/runtime.js';
import { loadMigrationFiles } from '../../src/schema/migration-files.js';
import { ServerRegistry } from '../../src/servers/server-registry.js';
import { fleetStatus } from '../../src/status/fleet-status.js';
import { registerTenants } from '../support/fleet-fixtures.js';
import { REPO_ROOT } from '../support/test-environment.js';
import { cliEnv } from '../support/run-cli.js';
import { findClientBinary, median, printTable, startBenchServer } from './bench-support.js';

const N = Number(process.env.BENCH_STATUS_TENANTS ?? 10_000);
const RUNS = 7;
const run$ = promisify(execFile);

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

export async function run(): Promise<void> {
  const server = await startBenchServer();
  const { config, env } = server.config();
  const rt = await openRuntime(config);
  try {
    const files = await loadMigrationFiles(config.migrationsDir);
    const latest = files.at(-1)?.name ?? null;
    const older = files.at(-2)?.name ?? null;
    const setup = performance.now();
    const rows = Array.from({ length: N }, (_, i) => ({
      slug: `st-${String(i).padStart(5, '0')}`,
      dbName: `${config.tenantDb.namePrefix}st_${i}`,
      schemaVersion: i % 10 === 1 ? older : latest,
      status: i % 100 === 7 ? ('migration_failed' as const) : i === 3 ? ('provisioning' as const) : ('active' as const),
    }));
    for (let i = 0; i < rows.length; i += 2_000)
      await registerTenants(rt.connections.metaUrl, rt.connections.tenant, rows.slice(i, i + 2_000), files);
    await rt.metaPool.query(
      `INSERT INTO tenant_audit (tenant_id, tenant_slug, action, actor, details, at)
       SELECT id, slug, 'migrate.failed', 'bench', jsonb_build_object('error', 'boom', 'failedMigration', $1::text), now()
         FROM tenants WHERE status = 'migration_failed'`,
      [latest],
    );
    await rt.metaPool.query("UPDATE tenants SET created_at = now() - interval '1 hour' WHERE status = 'provisioning'");
    await rt.metaPool.query('ANALYZE');
    console.log(`(setup: ${N} tenants in ${((performance.now() - setup) / 1000).toFixed(1)}s)`);

    const servers = new ServerRegistry(rt.metaPool, rt.servers.adminSources);
    const library: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      library.push(
        await timed(async () => {
          const status = await fleetStatus({ metaPool: rt.metaPool, servers, files });
          if (status.tenants.total !== N || status.failed.total !== N / 100)
            throw new Error(`unexpected status: ${JSON.stringify(status.tenants)}`);
        }),
      );
    }
    const bin = path.join(REPO_ROOT, 'bin', 'tenant');
    const cli: number[] = [];
    for (let i = 0; i < 3; i++) {
      cli.push(
        await timed(() =>
          run$(process.execPath, [bin, 'status', '--json'], { env: cliEnv(env), cwd: path.join(REPO_ROOT, 'test'), maxBuffer: 1 << 24 }),
        ),
      );
    }
    const psql = await findClientBinary('psql');
    const raw: number[] = [];
    if (psql) {
      for (let i = 0; i < RUNS; i++) {
        raw.push(await timed(() => run$(psql, [rt.connections.metaUrl, '-XAtc', 'SELECT status, count(*) FROM tenants GROUP BY status'])));
      }
    }
    const rawMs = psql ? median(raw) : NaN;
    printTable(
      `tenant status over ${N} tenants (1% failed, 10% behind); median of ${RUNS} (CLI: 3); target < 1 s`,
      ['what', 'ms', 'vs raw psql'],
      [
        ['fleetStatus() (library, warm pool)', median(library).toFixed(1), psql ? `${(median(library) / rawMs).toFixed(2)}x` : '-'],
        ['tenant status --json (CLI process)', median(cli).toFixed(0), psql ? `${(median(cli) / rawMs).toFixed(2)}x` : '-'],
        ['raw: psql one GROUP BY (process)', psql ? rawMs.toFixed(0) : 'psql not found', '1.00x'],
      ],
    );
  } finally {
    await rt.close();
    await server.stop();
  }
}
