/**
 * Tenant creation: the full `Provisioner.create` via the template clone and
 * via running every migration, next to the raw lower bound: `createdb
 * --template` of the same template (and the bare CREATE DATABASE statement
 * on an open connection, for reference).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { openRuntime } from '../../src/runtime.js';
import { Provisioner } from '../../src/provision/provisioner.js';
import { median, printTable, startBenchServer } from './bench-support.js';

const run = promisify(execFile);
const ROUNDS = Number(process.env.BENCH_CREATE_ROUNDS ?? 15);

async function createdbPath(): Promise<string | undefined> {
  for (const candidate of ['createdb', '/usr/lib/postgresql/15/bin/createdb']) {
    try {
      await run(candidate, ['--version']);
      return candidate;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

export async function run_(): Promise<void> {
  const server = await startBenchServer();
  const { config, prefix } = server.config();
  const rt = await openRuntime(config);
  try {
    const provisioner = new Provisioner({
      registry: rt.registry,
      connections: rt.connections,
      migrationsDir: config.migrationsDir,
      namePrefix: prefix,
    });
    await provisioner.refreshTemplate();
    const template = provisioner.template.name;
    const createdb = await createdbPath();
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
        await run(createdb, ['-h', admin.hostname, '-p', admin.port, '-U', decodeURIComponent(admin.username), '-T', template, '-O', server.appUser, `${prefix}raw_${i}`], {
          env: { ...process.env, PGPASSWORD: decodeURIComponent(admin.password) },
        });
        rawCreatedb.push(performance.now() - t);
      }

      t = performance.now();
      await sql.query(`CREATE DATABASE ${sql.escapeIdentifier(`${prefix}sql_${i}`)} TEMPLATE ${sql.escapeIdentifier(template)} OWNER ${sql.escapeIdentifier(server.appUser)}`);
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
  } finally {
    await rt.close();
    await server.dropPrefix(prefix);
    await server.stop();
  }
}

export { run_ as run };
