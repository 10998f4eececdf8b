/**
 * Shared pieces of `npm run bench`: a real PostgreSQL to measure against
 * (BENCH_DATABASE_URL, a superuser URL, or a throwaway embedded cluster),
 * medians and a plain table printer. Benchmarks print numbers and ratios;
 * they never pass or fail.
 */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { parseConfig, type Config } from '../../src/config.js';
import { withDatabase } from '../../src/connection-url.js';
import { Provisioner } from '../../src/provision/provisioner.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { LocalCluster, type ClusterLease } from '../../src/local/local-cluster.js';
import { dropDatabasesWithPrefix } from '../support/drop-databases.js';

export interface BenchServer {
  adminUrl: string;
  appUser: string;
  appPassword: string;
  host: string;
  port: number;
  /** A fresh config (own meta DB and tenant prefix) for one benchmark. */
  config(extra?: Record<string, string>): { config: Config; env: Record<string, string>; prefix: string };
  admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T>;
  /** Drops every database whose name starts with prefix. */
  dropPrefix(prefix: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startBenchServer(settings: Record<string, string> = {}): Promise<BenchServer> {
  let lease: ClusterLease | undefined;
  let home: string | undefined;
  let adminUrl: string;
  let appUser: string;
  let appPassword: string;
  if (process.env.BENCH_DATABASE_URL) {
    adminUrl = process.env.BENCH_DATABASE_URL;
    appUser = 'metapus_bench_app';
    appPassword = crypto.randomBytes(12).toString('hex');
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    const exists = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [appUser]);
    await client.query(`${exists.rowCount ? 'ALTER' : 'CREATE'} ROLE ${appUser} LOGIN PASSWORD '${appPassword}'`);
    await client.end();
  } else {
    home = await fs.mkdtemp(path.join(os.tmpdir(), 'metapus-bench-'));
    await fs.chmod(home, 0o755);
    const cluster = new LocalCluster({ home, port: 0, settings: { max_connections: '600', ...settings } });
    lease = await cluster.acquire();
    adminUrl = lease.adminUrl;
    appUser = lease.credentials.appUser;
    appPassword = lease.credentials.appPassword;
  }
  const url = new URL(adminUrl);
  const host = url.hostname;
  const port = Number(url.port) || 5432;
  const admin = async <T>(fn: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  };
  const dropPrefix = (prefix: string) => admin((client) => dropDatabasesWithPrefix(client, prefix));
  return {
    adminUrl,
    appUser,
    appPassword,
    host,
    port,
    config(extra = {}) {
      const prefix = `b${crypto.randomBytes(3).toString('hex')}_`;
      const env = {
        META_DATABASE_URL: withDatabase(adminUrl, `${prefix}meta`),
        POSTGRES_ADMIN_URL: adminUrl,
        TENANT_DB_USER: appUser,
        TENANT_DB_PASSWORD: appPassword,
        TENANT_DB_HOST: host,
        TENANT_DB_PORT: String(port),
        TENANT_DB_PREFIX: prefix,
        ...extra,
      };
      return { config: parseConfig(env), env, prefix };
    },
    admin,
    dropPrefix,
    async stop() {
      await lease?.release();
      if (home) await fs.rm(home, { recursive: true, force: true });
    },
  };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

/** Prints a plain, aligned table (works in any terminal and in CI logs). */
export function printTable(title: string, head: string[], rows: (string | number)[][]): void {
  const cells = [head, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? formatNumber(c) : c)))];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? '').length)));
  const line = (r: (string | number)[]) => r.map((c, i) => String(c).padEnd(widths[i] as number)).join('  ');
  console.log(`\n${title}`);
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of cells.slice(1)) console.log(line(r));
}

function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Number.isInteger(n)) return String(n);
  return Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 10 ? n.toFixed(1) : n.toFixed(2);
}

/** Path of a PostgreSQL client program (psql, createdb), or undefined when the machine has none. */
export async function findClientBinary(name: string): Promise<string | undefined> {
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  const run = promisify(execFile);
  for (const candidate of [name, `/usr/bin/${name}`, `/usr/lib/postgresql/15/bin/${name}`]) {
    try {
      await run(candidate, ['--version']);
      return candidate;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

/** A provisioner on a bench runtime: its migrations folder and tenant prefix unless given. */
export function provisionerFor(rt: Runtime, migrationsDir = rt.config.migrationsDir): Provisioner {
  return new Provisioner({
    registry: rt.registry,
    connections: rt.connections,
    migrationsDir,
    namePrefix: rt.config.tenantDb.namePrefix,
    secrets: rt.secrets,
  });
}
