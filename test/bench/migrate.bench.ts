/**
 * Fleet migration: `migrateFleet` applying the full tenant schema to N fresh,
 * empty, registered tenant databases at concurrency 1, 2, 4 and 8, next to
 * the raw lower bound: psql applying the same up sections, with the same
 * per-file transactions, to N empty databases with the same parallelism.
 * Two raw variants:
 *   - psql session:   one `psql -f` per database; the script runs each file as
 *                     `BEGIN; \i file; COMMIT;` (the tightest bound: one connection);
 *   - psql per file:  `psql --single-transaction -f file` once per file (a process
 *                     and a connection per file, as a shell script would do it).
 * Then a no-op run over 1,000 up-to-date tenants (rows only: the pre-check
 * must not connect), in the library and through the CLI.
 *
 * Databases are created once and reset (public schema dropped and recreated)
 * between passes; resets and a CHECKPOINT happen before each timed pass.
 * The embedded cluster runs with durability off (fsync, synchronous_commit,
 * full_page_writes) for both sides alike: flushes would otherwise dominate
 * and hide client-side overhead, and make the bench take minutes longer.
 * Knobs: BENCH_MIGRATE_TENANTS (100), BENCH_MIGRATE_RUNS (2; 3 takes ~6 minutes),
 * BENCH_MIGRATE_CONCURRENCY (1,2,4,8), BENCH_MIGRATE_PER_FILE_RUNS (0: off by default,
 * since a process per file costs ~2.5 more minutes; 1 measures it once).
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { withDatabase } from '../../src/connection-url.js';
import { migrateFleet } from '../../src/migrate/fleet-migrator.js';
import { loadMigrationFiles, latestVersion, type MigrationFile } from '../../src/schema/migration-files.js';
import { runWorkQueue } from '../../src/migrate/work-queue.js';
import { openRuntime, type Runtime } from '../../src/runtime/runtime.js';
import { createEmptyDatabases, registerTenants } from '../support/fleet-fixtures.js';
import { findClientBinary, median, printTable, startBenchServer, type BenchServer } from './bench-support.js';

const N = Number(process.env.BENCH_MIGRATE_TENANTS ?? 100);
const RUNS = Number(process.env.BENCH_MIGRATE_RUNS ?? 2);
const PER_FILE_RUNS = Number(process.env.BENCH_MIGRATE_PER_FILE_RUNS ?? 0);
const CONCURRENCY = (process.env.BENCH_MIGRATE_CONCURRENCY ?? '1,2,4,8').split(',').map(Number);
const NOOP_TENANTS = 1000;
const DURABILITY_OFF = { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' };
const BIN = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'bin', 'tenant');

const exec = promisify(execFile);

const findPsql = () => findClientBinary('psql');

/** The up sections as files, and a session script that runs each in its own transaction. */
async function writeUpScripts(files: readonly MigrationFile[]): Promise<{ dir: string; perFile: string[]; session: string }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'metapus-bench-up-'));
  const perFile: string[] = [];
  const lines = ['\\set ON_ERROR_STOP 1'];
  for (const file of files) {
    const p = path.join(dir, `${file.name}.sql`);
    await fs.writeFile(p, `${file.up}\n`);
    perFile.push(p);
    lines.push(...(file.transactional ? ['BEGIN;', `\\i ${p}`, 'COMMIT;'] : [`\\i ${p}`]));
  }
  const session = path.join(dir, 'session.sql');
  await fs.writeFile(session, `${lines.join('\n')}\n`);
  return { dir, perFile, session };
}

function psql(bin: string, server: BenchServer, database: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      bin,
      ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', server.host, '-p', String(server.port), '-U', server.appUser, '-d', database, ...args],
      {
        // The password goes through the environment, never the command line.
        env: { ...process.env, PGPASSWORD: server.appPassword, PGSSLMODE: 'disable' },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`psql failed on ${database}: ${stderr.trim()}`))));
  });
}

async function pool<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  await runWorkQueue(items, { concurrency, perKey: concurrency, keyOf: () => 'one' }, fn);
}

/** Empties the databases again (not timed) and checkpoints, so every pass starts alike. */
async function reset(server: BenchServer, databases: readonly string[]): Promise<void> {
  await pool(databases, 8, async (db) => {
    const client = new pg.Client({ connectionString: withDatabase(server.adminUrl, db) });
    await client.connect();
    try {
      await client.query(`DROP SCHEMA public CASCADE; CREATE SCHEMA public AUTHORIZATION pg_database_owner`);
    } finally {
      await client.end();
    }
  });
  await server.admin((c) => c.query('CHECKPOINT'));
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await fn();
  return (performance.now() - started) / 1000;
}

async function fleetVersusRaw(server: BenchServer): Promise<void> {
  const { config, prefix } = server.config();
  const rt: Runtime = await openRuntime(config);
  const psqlBin = await findPsql();
  try {
    const files = await loadMigrationFiles(config.migrationsDir);
    const scripts = await writeUpScripts(files);
    const fleetDbs = Array.from({ length: N }, (_, i) => `${prefix}f_${String(i).padStart(4, '0')}`);
    const rawDbs = Array.from({ length: N }, (_, i) => `${prefix}r_${String(i).padStart(4, '0')}`);
    const setupStarted = performance.now();
    await pool([...fleetDbs, ...rawDbs], 8, (db) => server.admin((c) => createEmptyDatabases(c, [db], server.appUser)));
    const tenants = await registerTenants(
      rt.connections.metaUrl,
      rt.connections.tenant,
      fleetDbs.map((dbName, i) => ({ slug: `bench-${String(i).padStart(4, '0')}`, dbName })),
    );
    const ids = tenants.map((t) => t.id);
    console.log(
      `(setup: ${fleetDbs.length + rawDbs.length} databases in ${((performance.now() - setupStarted) / 1000).toFixed(1)}s; psql: ${psqlBin ?? 'not found, raw bound skipped'})`,
    );

    const fleet = new Map<number, number[]>();
    const session = new Map<number, number[]>();
    const perFile = new Map<number, number[]>();
    const push = (m: Map<number, number[]>, c: number, v: number) => m.set(c, [...(m.get(c) ?? []), v]);
    let fresh = true;
    for (let run = 0; run < RUNS; run++) {
      for (const c of CONCURRENCY) {
        if (!fresh) {
          await reset(server, fleetDbs);
          await rt.metaPool.query("UPDATE tenants SET schema_version = NULL, status = 'active' WHERE id = ANY($1::uuid[])", [ids]);
          await rt.metaPool.query('DELETE FROM tenant_migrations WHERE tenant_id = ANY($1::uuid[])', [ids]);
        }
        push(
          fleet,
          c,
          await timed(async () => {
            const outcome = await migrateFleet(
              files,
              { registry: rt.registry, metaPool: rt.metaPool, credentials: rt.connections.tenant, adminUrl: rt.connections.adminUrl },
              {
                actor: 'bench',
                concurrency: c,
                target: { ids },
              },
            );
            if (outcome.counts.migrated !== N)
              throw new Error(
                `fleet run migrated ${outcome.counts.migrated} of ${N}: ${JSON.stringify(outcome.results.find((r) => r.error)?.error)}`,
              );
          }),
        );
        if (psqlBin) {
          if (!fresh) await reset(server, rawDbs);
          push(session, c, await timed(() => pool(rawDbs, c, (db) => psql(psqlBin, server, db, ['-f', scripts.session]))));
          if (run < PER_FILE_RUNS) {
            await reset(server, rawDbs);
            push(
              perFile,
              c,
              await timed(() =>
                pool(rawDbs, c, async (db) => {
                  for (const file of scripts.perFile) await psql(psqlBin, server, db, ['--single-transaction', '-f', file]);
                }),
              ),
            );
          }
        }
        fresh = false;
      }
    }
    await fs.rm(scripts.dir, { recursive: true, force: true });

    const rows = CONCURRENCY.map((c) => {
      const f = median(fleet.get(c) ?? []);
      const s = median(session.get(c) ?? []);
      const p = median(perFile.get(c) ?? []);
      return [c, f, s, psqlBin ? `${(f / s).toFixed(2)}x` : '-', perFile.has(c) ? p : '-', perFile.has(c) ? `${(f / p).toFixed(2)}x` : '-'];
    });
    printTable(
      `fleet migration of the full schema (${files.length} files) onto ${N} fresh databases; median of ${RUNS} runs (psql per file: ${PER_FILE_RUNS}); ${process.env.BENCH_DATABASE_URL ? 'BENCH_DATABASE_URL server' : 'embedded server, durability off'}; target <= 1.20x`,
      ['concurrency', 'fleet s', 'raw psql session s', 'fleet/session', 'raw psql per file s', 'fleet/per file'],
      rows,
    );
  } finally {
    await rt.close();
    await server.dropPrefix(prefix);
  }
}

async function noopRun(server: BenchServer): Promise<void> {
  const { config, prefix, env } = server.config();
  const rt = await openRuntime(config);
  try {
    const files = await loadMigrationFiles(config.migrationsDir);
    await registerTenants(
      rt.connections.metaUrl,
      rt.connections.tenant,
      // No database exists behind these rows: a connection attempt would fail the run.
      Array.from({ length: NOOP_TENANTS }, (_, i) => ({
        slug: `noop-${String(i).padStart(4, '0')}`,
        dbName: `${prefix}noop_${i}`,
        schemaVersion: latestVersion(files),
      })),
      files,
    );
    const library: number[] = [];
    for (let i = 0; i < 5; i++) {
      library.push(
        await timed(async () => {
          const outcome = await migrateFleet(
            files,
            { registry: rt.registry, metaPool: rt.metaPool, credentials: rt.connections.tenant, adminUrl: rt.connections.adminUrl },
            {
              actor: 'bench',
              concurrency: 8,
            },
          );
          if (outcome.counts['up-to-date'] !== NOOP_TENANTS) throw new Error(`no-op run: ${JSON.stringify(outcome.counts)}`);
        }),
      );
    }
    const cli: number[] = [];
    for (let i = 0; i < 3; i++) {
      cli.push(
        await timed(async () => {
          const { stdout } = await exec(process.execPath, [BIN, 'migrate', '--json'], {
            env: { ...process.env, ...env, NO_COLOR: '1' },
            maxBuffer: 64 * 1024 * 1024,
          });
          const doc = JSON.parse(stdout) as { counts: Record<string, number> };
          if (doc.counts['up-to-date'] !== NOOP_TENANTS) throw new Error(`CLI no-op run: ${JSON.stringify(doc.counts)}`);
        }),
      );
    }
    printTable(
      `no-op run over ${NOOP_TENANTS} up-to-date tenants (pre-check, no tenant connections); target < 1s`,
      ['path', 'median s', 'min s', 'max s'],
      [
        ['migrateFleet (library), median of 5', median(library), Math.min(...library), Math.max(...library)],
        ['`tenant migrate --json` (process, incl. node start), median of 3', median(cli), Math.min(...cli), Math.max(...cli)],
      ],
    );
  } finally {
    await rt.close();
    await server.dropPrefix(prefix);
  }
}

export async function run(): Promise<void> {
  const server = await startBenchServer(DURABILITY_OFF);
  try {
    await fleetVersusRaw(server);
    await noopRun(server);
  } finally {
    await server.stop();
  }
}
