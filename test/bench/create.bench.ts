/**
 * Tenant creation: the full `Provisioner.create` via the template clone and
 * via running every migration, next to the raw lower bound: `createdb
 * --template` of the same template (and the bare CREATE DATABASE statement
 * on an open connection, for reference).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { openRuntime } from '../../src/runtime/runtime.js';
import { findClientBinary, median, printTable, provisionerFor, startBenchServer } from './bench-support.js';

const run = promisify(execFile);
const ROUNDS = Number(process.env.BENCH_CREATE_ROUNDS ?? 15);

export async function run_(): Promise<void> {
  // Durability off, as in the other benchmarks: both sides copy the same files, and disk flush noise would swamp the comparison.
  const server = await startBenchServer({ fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' });
  const { config, prefix } = server.config();
  const rt = await openRuntime(config);
  try {
    const provisioner = provisionerFor(rt);
    await provisioner.refreshTemplate();
    const template = provisioner.template.name;
    const createdb = await findClientBinary('createdb');
    const admin = new URL(server.adminUrl);
    const sql = new pg.Client({ connectionString: server.adminUrl });
    await sql.connect();

    const viaTemplate: number[] = [];
    const viaMigrations: number[] = [];
    const rawCreatedb: number[] = [];
    const rawSql: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      let t = performance.now();
      await provisioner.create({ slug: `tpl-${i}`, name: `Template ${i}` }, { actor: 'bench' });
      viaTemplate.push(performance.now() - t);

      if (createdb) {
        t = performance.now();
        await run(
          createdb,
          [
            '-h',
            admin.hostname,
            '-p',
            admin.port,
            '-U',
            decodeURIComponent(admin.username),
            '-T',
            template,
            '-O',
            server.appUser,
            `${prefix}raw_${i}`,
          ],
          {
            env: { ...process.env, PGPASSWORD: decodeURIComponent(admin.password) },
          },
        );
        rawCreatedb.push(performance.now() - t);
      }

      t = performance.now();
      await sql.query(
        `CREATE DATABASE ${sql.escapeIdentifier(`${prefix}sql_${i}`)} TEMPLATE ${sql.escapeIdentifier(template)} OWNER ${sql.escapeIdentifier(server.appUser)}`,
      );
      rawSql.push(performance.now() - t);

      if (i < Math.ceil(ROUNDS / 2)) {
        t = performance.now();
        await provisioner.create({ slug: `mig-${i}`, name: `Migrations ${i}` }, { actor: 'bench', useTemplate: false, rebuildTemplate: false });
        viaMigrations.push(performance.now() - t);
      }
    }
    await sql.end();

    const base = createdb ? median(rawCreatedb) : median(rawSql);
    const rows: (string | number)[][] = [
      ['tenant create, template clone', viaTemplate.length, median(viaTemplate), median(viaTemplate) / base],
      ['tenant create, all migrations', viaMigrations.length, median(viaMigrations), median(viaMigrations) / base],
    ];
    if (createdb) rows.push(['raw: createdb --template (lower bound)', rawCreatedb.length, median(rawCreatedb), 1]);
    rows.push(['raw: CREATE DATABASE ... TEMPLATE on an open connection', rawSql.length, median(rawSql), median(rawSql) / base]);
    printTable('Tenant creation (median ms; ratio vs. the raw lower bound)', ['path', 'runs', 'median ms', 'ratio'], rows);
    console.log(`template clone is ${(median(viaMigrations) / median(viaTemplate)).toFixed(1)}x faster than migrating from scratch`);
    await longHistory(rt);
  } finally {
    await rt.close();
    await server.dropPrefix(prefix);
    await server.stop();
  }
}

/**
 * The same comparison once the schema has a longer history: the shipped
 * files plus 100 small synthetic migrations (a table, an index, a comment),
 * as a fleet accumulates them over the years.
 */
async function longHistory(rt: Awaited<ReturnType<typeof openRuntime>>): Promise<void> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'metapus-bench-migrations-'));
  for (const name of await fs.readdir(rt.config.migrationsDir)) {
    if (name.endsWith('.sql')) await fs.copyFile(path.join(rt.config.migrationsDir, name), path.join(dir, name));
  }
  for (let i = 0; i < 100; i++) {
    const n = String(100 + i).padStart(5, '0');
    await fs.writeFile(
      path.join(dir, `${n}_synthetic_${i}.sql`),
      `-- migrate:up\nCREATE TABLE synthetic_${i} (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), code text NOT NULL, amount numeric(18,2), created_at timestamptz NOT NULL DEFAULT now());\nCREATE INDEX synthetic_${i}_code_idx ON synthetic_${i} (code);\nCOMMENT ON TABLE synthetic_${i} IS 'synthetic history ${i}';\n-- migrate:down\nDROP TABLE synthetic_${i};\n`,
    );
  }
  const provisioner = provisionerFor(rt, dir);
  // A different file set gets a fresh template under the same name.
  await provisioner.refreshTemplate(true);
  const viaTemplate: number[] = [];
  const viaMigrations: number[] = [];
  for (let i = 0; i < 5; i++) {
    let t = performance.now();
    await provisioner.create({ slug: `long-tpl-${i}`, name: 'Long history' }, { actor: 'bench' });
    viaTemplate.push(performance.now() - t);
    t = performance.now();
    await provisioner.create({ slug: `long-mig-${i}`, name: 'Long history' }, { actor: 'bench', useTemplate: false, rebuildTemplate: false });
    viaMigrations.push(performance.now() - t);
  }
  printTable(
    'Tenant creation with a 106-migration history (median ms)',
    ['path', 'runs', 'median ms', 'speed-up'],
    [
      ['tenant create, template clone', viaTemplate.length, median(viaTemplate), median(viaMigrations) / median(viaTemplate)],
      ['tenant create, all migrations', viaMigrations.length, median(viaMigrations), 1],
    ],
  );
  await fs.rm(dir, { recursive: true, force: true });
}

export { run_ as run };
