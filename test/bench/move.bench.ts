/**
 * `tenant move` of a tenant holding BENCH_MOVE_MB (default 32) MB of posted
 * documents (nomenclature, goods receipts with lines, stock movements and
 * balances), between two PostgreSQL servers on this machine, next to the
 * raw bound measured in the same run on the same servers: `pg_dump -Fc |
 * pg_restore` of the same database into an empty one. Reports the move's
 * total time, its downtime (time in `moving`) and throughput in MB of the
 * source database per second.
 *
 * pg_dump refuses a server newer than itself, and the embedded PostgreSQL
 * ships no pg_dump: with a system PostgreSQL (its pg_dump / pg_restore) both
 * servers run that one; without, the embedded one is used and the raw bound
 * is left out (said in the output).
 */
import { serverOf } from '../../src/tenants/tenant.js';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { parseConfig } from '../../src/config.js';
import { moveDepsFor } from '../../src/cli/commands/move.js';
import { withOwnerConnection } from '../../src/pg/admin-connection.js';
import { adminAccess } from '../../src/pg/connection-settings.js';
import { moveTenant } from '../../src/provision/tenant-move.js';
import { dropMovedDatabases } from '../../src/provision/moved-databases.js';
import { openRuntime } from '../../src/runtime/runtime.js';
import { withDatabase } from '../../src/connection-url.js';
import { adminUrlVariable } from '../../src/servers/server.js';
import { seedStock } from '../support/move-fixtures.js';
import { startPrivateCluster, systemPostgresBinDir } from '../support/private-cluster.js';
import { median, printTable, provisionerFor } from './bench-support.js';
import crypto from 'node:crypto';
import pg from 'pg';

const TARGET_MB = Number(process.env.BENCH_MOVE_MB ?? 32);
const ROUNDS = Number(process.env.BENCH_MOVE_ROUNDS ?? 3);

/** Runs `pg_dump -Fc source | pg_restore -d target`, as one shell-free pipe. */
function dumpRestore(bin: string, sourceUrl: string, targetUrl: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const dump = spawn(path.join(bin, 'pg_dump'), ['-Fc', '--no-owner', '--no-acl', '-d', sourceUrl], { stdio: ['ignore', 'pipe', 'pipe'] });
    const restore = spawn(path.join(bin, 'pg_restore'), ['--no-owner', '--no-acl', '-d', targetUrl], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    dump.stderr.on('data', (c: Buffer) => (err += c.toString()));
    restore.stderr.on('data', (c: Buffer) => (err += c.toString()));
    dump.stdout.pipe(restore.stdin);
    let pending = 2;
    const done = (code: number | null) => {
      if (code !== 0) reject(new Error(`pg_dump | pg_restore failed (${code}): ${err}`));
      else if (--pending === 0) resolve();
    };
    dump.on('close', done);
    restore.on('close', done);
  });
}

async function sizeMb(url: string, db: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>('SELECT pg_database_size($1)::text AS n', [db]);
    return Number(rows[0]?.n) / 2 ** 20;
  } finally {
    await client.end();
  }
}

async function adminQuery(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export async function run(): Promise<void> {
  const systemBin = await systemPostgresBinDir();
  const binDir = systemBin ?? 'embedded';
  const [a, b] = await Promise.all([startPrivateCluster({ binDir }), startPrivateCluster({ binDir })]);
  const prefix = `b${crypto.randomBytes(3).toString('hex')}_`;
  const env = {
    META_DATABASE_URL: withDatabase(a.adminUrl, `${prefix}meta`),
    POSTGRES_ADMIN_URL: a.adminUrl,
    TENANT_DB_HOST: '127.0.0.1',
    TENANT_DB_PORT: String(a.credentials.port),
    TENANT_DB_PREFIX: prefix,
    TENANT_SECRET_KEY: crypto.randomBytes(32).toString('base64'),
  };
  process.env[adminUrlVariable('bench-b')] = b.adminUrl;
  const rt = await openRuntime(parseConfig(env));
  try {
    await rt.metaPool.query("INSERT INTO servers (name, host, port) VALUES ('bench-b', '127.0.0.1', $1)", [b.credentials.port]);
    await rt.servers.refresh();
    const deps = await moveDepsFor(rt);
    const tenant = (await provisionerFor(rt).create({ slug: 'bench-move', name: 'Bench' }, { actor: 'bench' })).tenant;
    const admin = adminAccess(rt.connections);
    let batch = 0;
    let mb = await sizeMb(a.adminUrl, tenant.dbName);
    const seedStarted = performance.now();
    while (mb < TARGET_MB) {
      await withOwnerConnection(admin, tenant, tenant.ownerRole as string, (c) =>
        seedStock(c, { items: 500, receipts: 100, linesPerReceipt: 50, descriptionBytes: 256 }, `B${batch}`),
      );
      batch += 1;
      mb = await sizeMb(a.adminUrl, tenant.dbName);
    }
    await adminQuery(withDatabase(a.adminUrl, tenant.dbName), 'VACUUM ANALYZE');
    console.log(
      `seeded ${mb.toFixed(0)} MB (${batch} batches of 5,000 posted lines) in ${((performance.now() - seedStarted) / 1000).toFixed(0)} s`,
    );

    const moves: { total: number; downtime: number; bytes: number }[] = [];
    const raw: number[] = [];
    const servers = ['bench-b', 'default'];
    const urls: Record<string, string> = { default: a.adminUrl, 'bench-b': b.adminUrl };
    for (let i = 0; i < ROUNDS; i++) {
      const current = await rt.registry.resolve('bench-move');
      const to = servers[i % 2] as string;
      if (systemBin) {
        const scratch = `${prefix}raw_${i}`;
        await adminQuery(urls[to] as string, `CREATE DATABASE ${scratch}`);
        const t = performance.now();
        await dumpRestore(systemBin, withDatabase(urls[serverOf(current)] as string, current.dbName), withDatabase(urls[to] as string, scratch));
        raw.push(performance.now() - t);
        await adminQuery(urls[to] as string, `DROP DATABASE ${scratch}`);
      }
      const report = await moveTenant(deps, 'bench-move', to, { actor: 'bench', dropSource: true });
      moves.push({ total: report.durationMs, downtime: report.downtimeMs, bytes: report.bytes });
      await dropMovedDatabases(deps, 'bench');
    }
    const total = median(moves.map((m) => m.total));
    const downtime = median(moves.map((m) => m.downtime));
    const bound = raw.length ? median(raw) : NaN;
    const rows: (string | number)[][] = [
      ['tenant move (total)', moves.length, total, (mb * 1000) / total, raw.length ? total / bound : '-'],
      ['tenant move (downtime: in `moving`)', moves.length, downtime, (mb * 1000) / downtime, raw.length ? downtime / bound : '-'],
    ];
    if (raw.length) rows.push(['raw: pg_dump -Fc | pg_restore (bound)', raw.length, bound, (mb * 1000) / bound, 1]);
    printTable(
      `Moving a ${mb.toFixed(0)} MB tenant between two PostgreSQL ${systemBin ? path.basename(path.dirname(systemBin)) : '(embedded)'} servers (median ms; MB/s of the source database; ratio vs. the raw bound)`,
      ['path', 'runs', 'median ms', 'MB/s', 'ratio'],
      rows,
    );
    console.log(`COPY text streamed per move: ${(median(moves.map((m) => m.bytes)) / 2 ** 20).toFixed(0)} MB`);
    if (!systemBin) console.log('no system PostgreSQL with pg_dump/pg_restore found: raw bound left out');
    else console.log(`raw bound: ${path.join(systemBin, 'pg_dump')} | ${path.join(systemBin, 'pg_restore')}`);
  } finally {
    await rt.close();
    delete process.env[adminUrlVariable('bench-b')];
    await Promise.all([a.dispose(), b.dispose()]);
  }
}
