/**
 * A PostgreSQL cluster of one test file's own, for faults that hit the whole
 * server (SIGKILL of a backend triggers crash recovery of every session;
 * `pg_ctl restart -m immediate`): doing that to the shared test cluster would
 * break the files running next to it.
 *
 * TEST_PG_BINDIR names a bin folder with initdb and pg_ctl (CI points it at
 * the PostgreSQL under test); otherwise the embedded binaries are used.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LocalCluster, clusterUrl, type ClusterCredentials, type ClusterLease } from '../../src/local/local-cluster.js';
import { resolveServerUser } from '../../src/local/os-user.js';
import { resolvePostgresBinaries, type PostgresBinaries } from '../../src/local/postgres-binaries.js';

export interface PrivateCluster {
  home: string;
  credentials: ClusterCredentials;
  adminUrl: string;
  url(database: string, as?: 'super' | 'app'): string;
  /** `pg_ctl stop -m immediate`: every backend dies at once, no shutdown checkpoint. */
  stopImmediately(): Promise<void>;
  /** Starts it again after stopImmediately() (crash recovery runs), on the same port. */
  start(): Promise<void>;
  /** `pg_ctl restart -m immediate`. */
  restartImmediately(): Promise<void>;
  /** SIGKILL to one backend: the postmaster then resets every session and recovers. */
  killBackend(pid: number): void;
  dispose(): Promise<void>;
}

/**
 * TEST_PG_BINDIR (CI: the PostgreSQL under test) or else the embedded
 * binaries, probed as the server user. `binDir` picks binaries explicitly:
 * `'embedded'` for the embedded PostgreSQL whatever TEST_PG_BINDIR says, or a
 * bin folder (systemPostgresBinDir()).
 */
export async function testBinaries(home: string, binDir?: string): Promise<PostgresBinaries> {
  const dir = binDir === 'embedded' ? undefined : (binDir ?? process.env.TEST_PG_BINDIR);
  return resolvePostgresBinaries({
    home,
    user: await resolveServerUser(),
    ...(dir ? { binDir: dir } : {}),
  });
}

/**
 * The newest system PostgreSQL bin folder (Debian: /usr/lib/postgresql/<major>/bin)
 * with initdb and pg_ctl, or undefined where there is none. Multi-server tests
 * use it as a third server of another major.
 */
export async function systemPostgresBinDir(): Promise<string | undefined> {
  const root = '/usr/lib/postgresql';
  const majors = await fs.readdir(root).catch(() => [] as string[]);
  for (const major of majors.sort((x, y) => Number(y) - Number(x))) {
    const bin = path.join(root, major, 'bin');
    const ok = await Promise.all(
      ['initdb', 'pg_ctl', 'postgres'].map((f) =>
        fs.access(path.join(bin, f)).then(
          () => true,
          () => false,
        ),
      ),
    );
    if (ok.every(Boolean)) return bin;
  }
  return undefined;
}

export interface PrivateClusterOptions {
  /** `'embedded'`, a bin folder, or (default) TEST_PG_BINDIR / the embedded binaries. */
  binDir?: string;
}

export async function startPrivateCluster(options: PrivateClusterOptions = {}): Promise<PrivateCluster> {
  // Under os.tmpdir() and world-readable: as root the server runs as the `postgres` OS user.
  const home = await fs.mkdtemp(path.join(os.tmpdir(), 'metapus-private-'));
  await fs.chmod(home, 0o755);
  const binaries = await testBinaries(home, options.binDir);
  const cluster = new LocalCluster({
    home,
    port: 0,
    binDir: binaries.binDir,
    // These clusters are crashed on purpose (a backend SIGKILLed, `-m immediate`):
    // a commit must survive that, so synchronous_commit stays on (with it off,
    // the last commits, e.g. a tenant's activation, vanish in crash recovery).
    // fsync and full-page writes only matter when the OS itself goes down.
    settings: { fsync: 'off', full_page_writes: 'off', max_connections: '100' },
  });
  const leases: ClusterLease[] = [await cluster.acquire()];
  const first = leases[0] as ClusterLease;
  const credentials = first.credentials;
  const dataDir = path.join(home, 'pgdata');
  const pgCtl = (...args: string[]) => runAsServer(binaries.pg_ctl, [...args, '-D', dataDir, '-w', '-t', '120']);
  return {
    home,
    credentials,
    adminUrl: first.adminUrl,
    url: (database, as = 'super') => clusterUrl(credentials, database, as),
    stopImmediately: () => pgCtl('stop', '-m', 'immediate'),
    async start() {
      // A second lease starts the server with the cluster's own settings.
      leases.push(await cluster.acquire());
    },
    restartImmediately: () => pgCtl('restart', '-m', 'immediate'),
    killBackend(pid) {
      process.kill(pid, 'SIGKILL');
    },
    async dispose() {
      for (const lease of leases) await lease.release().catch(() => undefined);
      await fs.rm(home, { recursive: true, force: true });
    },
  };
}

async function runAsServer(file: string, args: string[]): Promise<void> {
  const user = await resolveServerUser();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(file, args, {
      stdio: ['ignore', 'ignore', 'pipe'],
      ...(user ? { uid: user.uid, gid: user.gid } : {}),
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${path.basename(file)} ${args[0]} exited with ${code}: ${stderr.trim()}`)),
    );
  });
}
