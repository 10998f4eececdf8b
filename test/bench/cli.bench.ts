/**
 * CLI start-up: whole processes, timed from spawn to exit, in turn (paired
 * rounds, so drift in the machine's speed hits every command alike):
 *   node -e 0                       what any Node program costs
 *   tenant --help                   registering the commands
 *   tenant list --json              against a configured server with tenants
 *   psql -c "<list's SELECT>"       one query over one connection
 * The goal ratios: --help / node -e 0, and list --json / (node -e 0 + psql).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openRuntime } from '../../src/runtime/runtime.js';
import { findClientBinary, median, printTable, provisionerFor, startBenchServer } from './bench-support.js';

const ROUNDS = Number(process.env.BENCH_CLI_ROUNDS ?? 20);
const WARMUP = 2;
const TENANTS = Number(process.env.BENCH_CLI_TENANTS ?? 20);
const BIN = fileURLToPath(new URL('../../bin/tenant', import.meta.url));
/** What `tenant list` asks the meta database for its rows (TenantRegistry.list without filters). */
const LIST_SELECT = 'SELECT * FROM tenants ORDER BY created_at, slug';

interface Contender {
  label: string;
  file: string;
  args: string[];
}

/** Wall-clock milliseconds of one run; a failed run is an error, not a number. */
function timeRun({ label, file, args }: Contender, env: NodeJS.ProcessEnv, cwd: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(file, args, { env, cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - started;
      if (code === 0) resolve(ms);
      else reject(new Error(`${label} exited ${code}: ${stderr.trim()}`));
    });
  });
}

export async function run(): Promise<void> {
  const server = await startBenchServer();
  const { config, env: vars, prefix } = server.config();
  // A folder without a .env file, so nothing but these variables configures the CLI.
  const cwd = await fs.mkdtemp(path.join(os.tmpdir(), 'metapus-bench-cli-'));
  try {
    const rt = await openRuntime(config);
    try {
      const provisioner = provisionerFor(rt);
      for (let i = 0; i < TENANTS; i++) await provisioner.create({ slug: `cli-${i}`, name: `CLI ${i}` }, { actor: 'bench' });
    } finally {
      await rt.close();
    }
    const env = { ...process.env, ...vars, NO_COLOR: '1' };
    const psql = await findClientBinary('psql');
    const contenders: Contender[] = [
      { label: 'node -e 0', file: process.execPath, args: ['-e', '0'] },
      { label: 'tenant --help', file: process.execPath, args: [BIN, '--help'] },
      { label: `tenant list --json (${TENANTS} tenants)`, file: process.execPath, args: [BIN, 'list', '--json'] },
      ...(psql
        ? [
            {
              label: 'psql -c "<the same SELECT>"',
              file: psql,
              args: ['-X', '-q', '-A', '-t', '-d', vars.META_DATABASE_URL as string, '-c', LIST_SELECT],
            },
          ]
        : []),
    ];
    const times = contenders.map(() => [] as number[]);
    for (let round = 0; round < WARMUP + ROUNDS; round++) {
      for (const [i, contender] of contenders.entries()) {
        const ms = await timeRun(contender, env, cwd);
        if (round >= WARMUP) times[i]?.push(ms);
      }
    }
    const [node, help, list, query] = times.map((t) => median(t));
    printTable(
      `CLI start-up (wall ms per process, ${ROUNDS} paired rounds after ${WARMUP} warm-up)`,
      ['command', 'runs', 'median ms', 'min ms', 'max ms'],
      contenders.map((c, i) => [
        c.label,
        times[i]?.length ?? 0,
        median(times[i] ?? []),
        Math.min(...(times[i] ?? [])),
        Math.max(...(times[i] ?? [])),
      ]),
    );
    const rows: (string | number)[][] = [['tenant --help / node -e 0', (help as number) / (node as number), '<= 2']];
    if (query !== undefined) {
      rows.push(['tenant list --json / (node -e 0 + psql)', (list as number) / ((node as number) + query), '']);
      // The goal's own form: list --json <= 2.5 x node -e 0 + one psql query.
      rows.push(['(tenant list --json - psql) / node -e 0', ((list as number) - query) / (node as number), '<= 2.5']);
    } else {
      rows.push(['tenant list --json / node -e 0 (no psql on this machine)', (list as number) / (node as number), '']);
    }
    printTable('Ratios of the medians', ['ratio', 'value', 'goal'], rows);
  } finally {
    await server.dropPrefix(prefix);
    await server.stop();
    await fs.rm(cwd, { recursive: true, force: true });
  }
}
