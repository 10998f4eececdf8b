/**
 * The embedded local PostgreSQL cluster used when no META_DATABASE_URL is
 * configured. It lives in one folder (TENANT_HOME):
 *
 *   cluster.json   port and generated credentials (mode 0600)
 *   pgdata/        the data directory
 *   run/           unix socket folder
 *   log/           server log
 *   leases/        one file per process using the cluster
 *   keep           present when `tenant local start` asked to keep it running
 *   lock/          cross-process lock around start/stop
 *
 * Many processes may share it. The last user to leave stops it, unless the
 * `keep` marker says it was started on purpose.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { LocalClusterError, messageOf } from '../errors.js';
import { roleIdent } from '../pg/identifiers.js';
import { currentProcess, inspectLock, isIdentityAlive, isProcessAlive, parseIdentity, withFileLock, type LockState } from './file-lock.js';
import { ensureDir, resolveServerUser, type ServerUser } from './os-user.js';
import { resolvePostgresBinaries, type PostgresBinaries } from './postgres-binaries.js';

export const DEFAULT_LOCAL_PORT = 54329;
export const APP_ROLE = 'metapus_app';

export interface ClusterCredentials {
  port: number;
  superuser: string;
  superPassword: string;
  appUser: string;
  appPassword: string;
}

export interface LocalClusterOptions {
  home: string;
  /** Preferred port for a new cluster (a free one is chosen if it is taken). */
  port?: number;
  /** Extra server settings (`-c name=value`), e.g. fsync=off for throwaway test clusters. */
  settings?: Record<string, string>;
  /** A folder of PostgreSQL binaries (pg_ctl, initdb, postgres) to use instead of the npm package. */
  binDir?: string;
}

export interface LocalClusterStatus {
  home: string;
  initialised: boolean;
  running: boolean;
  pid: number | undefined;
  port: number | undefined;
  keep: boolean;
  users: number;
  /** The start/stop lock: `stale` when its owner is gone (the next command takes it over). */
  lock: LockState;
}

export interface ClusterLease {
  credentials: ClusterCredentials;
  /** true when this process had to start the server. */
  started: boolean;
  /** URL of the `postgres` database as the superuser. */
  adminUrl: string;
  release(options?: { keepRunning?: boolean }): Promise<void>;
}

export class LocalCluster {
  readonly home: string;
  private readonly options: LocalClusterOptions;
  private binaries: PostgresBinaries | undefined;
  private user: ServerUser | undefined | null = null;

  constructor(options: LocalClusterOptions) {
    this.options = options;
    this.home = path.resolve(options.home);
  }

  private get dataDir(): string {
    return path.join(this.home, 'pgdata');
  }
  private get socketDir(): string {
    return path.join(this.home, 'run');
  }
  private get logFile(): string {
    return path.join(this.home, 'log', 'postgres.log');
  }
  private get credentialsFile(): string {
    return path.join(this.home, 'cluster.json');
  }
  private get keepFile(): string {
    return path.join(this.home, 'keep');
  }
  private get leasesDir(): string {
    return path.join(this.home, 'leases');
  }
  private get lockDir(): string {
    return path.join(this.home, 'lock');
  }

  /** Starts the cluster if needed (initialising it on first use) and registers this process as a user. */
  async acquire(): Promise<ClusterLease> {
    await fs.mkdir(this.home, { recursive: true, mode: 0o755 });
    const leaseFile = path.join(this.leasesDir, `${process.pid}-${crypto.randomUUID()}`);
    const { credentials, started } = await withFileLock(this.lockDir, async () => {
      const creds = await this.initialiseIfNeeded();
      const wasRunning = await this.isRunning();
      if (!wasRunning) await this.startServer(creds);
      await fs.mkdir(this.leasesDir, { recursive: true });
      await fs.writeFile(leaseFile, JSON.stringify(currentProcess()));
      return { credentials: creds, started: !wasRunning };
    });
    let released = false;
    return {
      credentials,
      started,
      adminUrl: clusterUrl(credentials, 'postgres'),
      release: async ({ keepRunning = false } = {}) => {
        if (released) return;
        released = true;
        await withFileLock(this.lockDir, async () => {
          await fs.rm(leaseFile, { force: true });
          if (keepRunning) {
            await fs.writeFile(this.keepFile, String(Date.now()));
            return;
          }
          if (await this.exists(this.keepFile)) return;
          if ((await this.liveLeases()).length > 0) return;
          await this.stopServer();
        });
      },
    };
  }

  /** `tenant local stop`: forget the keep marker and stop unless other processes still use it. */
  async stop(options: { force?: boolean } = {}): Promise<{ stopped: boolean; users: number }> {
    if (!(await this.exists(this.home))) return { stopped: false, users: 0 };
    return withFileLock(this.lockDir, async () => {
      await fs.rm(this.keepFile, { force: true });
      const users = (await this.liveLeases()).length;
      if (users > 0 && !options.force) return { stopped: false, users };
      const running = await this.isRunning();
      if (running) await this.stopServer();
      return { stopped: running, users };
    });
  }

  async status(): Promise<LocalClusterStatus> {
    const initialised = await this.exists(path.join(this.dataDir, 'PG_VERSION'));
    const creds = await this.readCredentials();
    const pid = await this.postmasterPid();
    return {
      home: this.home,
      initialised,
      running: pid !== undefined,
      pid,
      port: creds?.port,
      keep: await this.exists(this.keepFile),
      users: initialised ? (await this.liveLeases()).length : 0,
      lock: await inspectLock(this.lockDir),
    };
  }

  private async initialiseIfNeeded(): Promise<ClusterCredentials> {
    const existing = await this.readCredentials();
    if (existing && (await this.exists(path.join(this.dataDir, 'PG_VERSION')))) return existing;

    const user = await this.serverUser();
    const bins = await this.bins();
    await this.assertHomeReachable();
    // A half-initialised folder (a run killed during setup) is cleared and redone.
    await this.stopServer().catch(() => undefined);
    await fs.rm(this.dataDir, { recursive: true, force: true });
    await ensureDir(this.dataDir, user, 0o700);
    await ensureDir(this.socketDir, user, 0o755);
    await ensureDir(path.dirname(this.logFile), user, 0o755);

    const creds: ClusterCredentials = {
      port: await choosePort(this.options.port ?? DEFAULT_LOCAL_PORT),
      superuser: 'postgres',
      superPassword: crypto.randomBytes(18).toString('base64url'),
      appUser: APP_ROLE,
      appPassword: crypto.randomBytes(18).toString('base64url'),
    };
    const pwFile = path.join(this.socketDir, `.pw-${crypto.randomUUID()}`);
    await fs.writeFile(pwFile, `${creds.superPassword}\n`, { mode: 0o600 });
    if (user) await fs.chown(pwFile, user.uid, user.gid);
    try {
      await this.exec(bins.initdb, [
        `--pgdata=${this.dataDir}`,
        '--auth=scram-sha-256',
        `--username=${creds.superuser}`,
        `--pwfile=${pwFile}`,
        '--encoding=UTF8',
        '--no-locale',
      ]);
    } catch (cause) {
      throw new LocalClusterError(`initialising the embedded PostgreSQL in ${this.home} failed: ${messageOf(cause)}`, {
        cause,
        hint: 'set META_DATABASE_URL to use an existing PostgreSQL server',
      });
    } finally {
      await fs.rm(pwFile, { force: true });
    }
    // The application role owns tenant databases; it is not a superuser.
    await this.startServer(creds);
    try {
      const client = new pg.Client({ connectionString: clusterUrl(creds, 'postgres') });
      await client.connect();
      try {
        await client.query(`CREATE ROLE ${roleIdent(creds.appUser)} LOGIN PASSWORD ${client.escapeLiteral(creds.appPassword)}`);
      } finally {
        await client.end();
      }
    } finally {
      await this.stopServer();
    }
    // Written last: a folder without cluster.json is re-initialised, so a
    // run killed during initdb or before the role exists cannot leave a
    // half-made cluster behind.
    await fs.writeFile(this.credentialsFile, JSON.stringify(creds, null, 2), { mode: 0o600 });
    return creds;
  }

  private async startServer(creds: ClusterCredentials): Promise<void> {
    const bins = await this.bins();
    await this.assertHomeReachable();
    if (!(await portIsFree(creds.port))) {
      creds.port = await choosePort(creds.port + 1);
      if (await this.exists(this.credentialsFile)) {
        await fs.writeFile(this.credentialsFile, JSON.stringify(creds, null, 2), { mode: 0o600 });
      }
    }
    const settings: Record<string, string> = {
      listen_addresses: '127.0.0.1',
      port: String(creds.port),
      unix_socket_directories: this.socketDir,
      max_connections: '300',
      ...this.options.settings,
    };
    const serverOptions = Object.entries(settings)
      .map(([name, value]) => `-c ${name}=${shellQuote(value)}`)
      .join(' ');
    // Only what this start wrote to the log explains its failure; older lines are another story.
    const logStart = await fs.stat(this.logFile).then(
      (st) => st.size,
      () => 0,
    );
    try {
      await this.exec(bins.pg_ctl, ['start', '-D', this.dataDir, '-l', this.logFile, '-w', '-t', '120', '-o', serverOptions]);
    } catch (cause) {
      const written = await readFrom(this.logFile, logStart);
      const reason = written.trim().split('\n').filter(Boolean).slice(-3).join(' | ');
      throw new LocalClusterError(`the embedded PostgreSQL in ${this.home} did not start: ${reason || messageOf(cause)}`, {
        cause,
        hint: 'see the server log in ' + this.logFile + ', or set META_DATABASE_URL to use an existing PostgreSQL server',
      });
    }
  }

  private async stopServer(): Promise<void> {
    if (!(await this.isRunning())) return;
    const bins = await this.bins();
    await this.exec(bins.pg_ctl, ['stop', '-D', this.dataDir, '-m', 'fast', '-w', '-t', '120']);
  }

  private async isRunning(): Promise<boolean> {
    return (await this.postmasterPid()) !== undefined;
  }

  private async postmasterPid(): Promise<number | undefined> {
    const text = await fs.readFile(path.join(this.dataDir, 'postmaster.pid'), 'utf8').catch(() => undefined);
    const pid = Number(text?.split('\n')[0]);
    return isProcessAlive(pid) ? pid : undefined;
  }

  private async liveLeases(): Promise<string[]> {
    const names = await fs.readdir(this.leasesDir).catch(() => [] as string[]);
    const live: string[] = [];
    for (const name of names) {
      // The record has the process start time too, so a reused pid does not keep the cluster up.
      const text = await fs.readFile(path.join(this.leasesDir, name), 'utf8').catch(() => '');
      const identity = parseIdentity(text) ?? { pid: Number(name.split('-')[0]) };
      if (isIdentityAlive(identity)) live.push(name);
      else await fs.rm(path.join(this.leasesDir, name), { force: true });
    }
    return live;
  }

  private async readCredentials(): Promise<ClusterCredentials | undefined> {
    const text = await fs.readFile(this.credentialsFile, 'utf8').catch(() => undefined);
    return text ? (JSON.parse(text) as ClusterCredentials) : undefined;
  }

  private async exists(p: string): Promise<boolean> {
    return fs.access(p).then(
      () => true,
      () => false,
    );
  }

  private async bins(): Promise<PostgresBinaries> {
    this.binaries ??= await resolvePostgresBinaries({
      home: this.home,
      user: await this.serverUser(),
      ...(this.options.binDir ? { binDir: this.options.binDir } : {}),
    });
    return this.binaries;
  }

  private async serverUser(): Promise<ServerUser | undefined> {
    if (this.user === null) this.user = await resolveServerUser();
    return this.user;
  }

  /** As root, the server user must be able to enter TENANT_HOME; say so plainly when it cannot. */
  private async assertHomeReachable(): Promise<void> {
    const user = await this.serverUser();
    if (!user) return;
    // `cd` as that user: spawn's own cwd is entered before it drops root, so it proves nothing.
    await this.exec('/bin/sh', ['-c', 'cd "$1"', 'sh', this.home]).catch((cause: unknown) => {
      throw new LocalClusterError(`the "${user.name}" OS user, which runs the embedded PostgreSQL, cannot enter ${this.home}`, {
        cause,
        hint: `set TENANT_HOME to a folder it can reach (the default for root is /var/lib/metapus-tenant), or set META_DATABASE_URL`,
      });
    });
  }

  private async exec(file: string, args: string[]): Promise<void> {
    const user = await this.serverUser();
    await new Promise<void>((resolve, reject) => {
      const child = spawn(file, args, {
        // Not the caller's folder: it may be one the server user cannot enter (root's home).
        cwd: '/',
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, LC_ALL: 'C', LANG: 'C' },
        ...(user ? { uid: user.uid, gid: user.gid } : {}),
      });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.on('error', reject);
      child.on('close', (code) => {
        if (code === 0) resolve();
        else reject(new Error(`${path.basename(file)} exited with ${code}: ${output.trim().split('\n').slice(-3).join(' ')}`));
      });
    });
  }
}

export function clusterUrl(creds: ClusterCredentials, database: string, as: 'super' | 'app' = 'super'): string {
  const user = as === 'super' ? creds.superuser : creds.appUser;
  const password = as === 'super' ? creds.superPassword : creds.appPassword;
  return `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${creds.port}/${encodeURIComponent(database)}`;
}

/** The part of a file written after `offset` (empty when it shrank or is missing). */
async function readFrom(file: string, offset: number): Promise<string> {
  const handle = await fs.open(file, 'r').catch(() => undefined);
  if (!handle) return '';
  try {
    const { size } = await handle.stat();
    if (size <= offset) return '';
    const length = Math.min(size - offset, 64 * 1024);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    return buffer.toString('utf8');
  } finally {
    await handle.close();
  }
}

function shellQuote(value: string): string {
  return /^[A-Za-z0-9_./:,-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function choosePort(preferred: number): Promise<number> {
  if (preferred > 0 && preferred < 65536 && (await portIsFree(preferred))) return preferred;
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
