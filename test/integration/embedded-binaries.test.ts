/**
 * The embedded PostgreSQL where installers meet it: binaries the server
 * user cannot reach, library symlinks an install script never made, binaries
 * that cannot run at all, and a start failure next to an older log. Each
 * test starts its own private cluster.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalClusterError } from '../../src/errors.js';
import { LocalCluster, type ClusterLease } from '../../src/local/local-cluster.js';
import { platformPackage } from '../../src/local/postgres-binaries.js';

const FAST = { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' };
const isRoot = process.getuid?.() === 0;

const leases: ClusterLease[] = [];
const folders: string[] = [];

afterEach(async () => {
  await Promise.all(leases.splice(0).map((l) => l.release()));
  await Promise.all(folders.splice(0).map((f) => fs.rm(f, { recursive: true, force: true })));
});

/** A temporary folder; mode 0755 so the `postgres` OS user can enter it when we are root. */
async function tempDir(name: string, mode = 0o755): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `metapus-${name}-`));
  await fs.chmod(dir, mode);
  folders.push(dir);
  return dir;
}

/** The package's `native` folder (bin, lib, share, pg-symlinks.json). */
async function packageNative(): Promise<string> {
  const mod = (await import(platformPackage().name)) as { postgres: string };
  return path.dirname(path.dirname(mod.postgres));
}

async function selectOne(lease: ClusterLease): Promise<number> {
  const client = new pg.Client({ connectionString: lease.adminUrl });
  await client.connect();
  try {
    return (await client.query<{ n: number }>('SELECT 1 AS n')).rows[0]?.n ?? 0;
  } finally {
    await client.end();
  }
}

async function copiesIn(home: string): Promise<string[]> {
  const names = await fs.readdir(path.join(home, 'postgresql')).catch(() => [] as string[]);
  const complete: string[] = [];
  for (const name of names) {
    if (
      await fs.access(path.join(home, 'postgresql', name, '.complete')).then(
        () => true,
        () => false,
      )
    )
      complete.push(name);
  }
  return complete;
}

describe('embedded PostgreSQL binaries', () => {
  it.skipIf(!isRoot)('starts when the project lives in a folder the postgres user cannot enter (root)', async () => {
    // Like a clone in /root (mode 0700): the binaries sit behind a folder only root may enter.
    const locked = await tempDir('locked', 0o700);
    await fs.symlink(await packageNative(), path.join(locked, 'native'));
    const home = await tempDir('home');
    const cluster = new LocalCluster({ home, port: 0, settings: FAST, binDir: path.join(locked, 'native', 'bin') });

    const lease = await cluster.acquire();
    leases.push(lease);

    expect(await selectOne(lease)).toBe(1);
    expect(await copiesIn(home)).toHaveLength(1);
  });

  it.skipIf(!isRoot)('says plainly when TENANT_HOME is a folder the postgres user cannot enter (root)', async () => {
    const locked = await tempDir('locked', 0o700);
    const cluster = new LocalCluster({ home: path.join(locked, 'home'), port: 0, settings: FAST });

    const error = (await cluster.acquire().catch((err: unknown) => err)) as LocalClusterError;

    expect(error).toBeInstanceOf(LocalClusterError);
    expect(error.exitCode).toBe(5);
    expect(error.message).toBe(`the "postgres" OS user, which runs the embedded PostgreSQL, cannot enter ${path.join(locked, 'home')}`);
    expect(error.hint).toContain('TENANT_HOME');
  });

  it('starts when the library symlinks were never made (pnpm, --ignore-scripts)', async () => {
    const source = await packageNative();
    const unhydrated = path.join(await tempDir('unhydrated'), 'native');
    // Copy without symlinks: what the package holds before its postinstall script runs.
    await fs.cp(source, unhydrated, {
      recursive: true,
      filter: async (p) => !(await fs.lstat(p)).isSymbolicLink(),
    });
    const home = await tempDir('home');
    const cluster = new LocalCluster({ home, port: 0, settings: FAST, binDir: path.join(unhydrated, 'bin') });

    const lease = await cluster.acquire();
    leases.push(lease);

    expect(await selectOne(lease)).toBe(1);
    expect(await copiesIn(home)).toHaveLength(1);
  });

  it('refuses binaries that cannot run with exit code 5 and a hint, not a loader error', async () => {
    // The package without its lib folder: the dynamic loader cannot find libicuuc & co.
    const source = await packageNative();
    const native = path.join(await tempDir('broken'), 'native');
    await fs.cp(source, native, { recursive: true, filter: (p) => p !== path.join(source, 'lib') });
    const broken = path.join(native, 'bin');
    const home = await tempDir('home');
    const cluster = new LocalCluster({ home, port: 0, settings: FAST, binDir: broken });

    const error = await cluster.acquire().then(
      () => undefined,
      (err: unknown) => err,
    );

    expect(error).toBeInstanceOf(LocalClusterError);
    const e = error as LocalClusterError;
    expect(e.exitCode).toBe(5);
    expect(e.message).toMatch(/cannot run: the shared library \S+ it needs is missing/);
    expect(e.message).not.toContain('error while loading shared libraries');
    expect(e.hint).toContain('META_DATABASE_URL');
    expect((await cluster.status()).initialised).toBe(false);
  });

  it('reports a missing binaries folder with a hint', async () => {
    const home = await tempDir('home');
    const cluster = new LocalCluster({ home, port: 0, settings: FAST, binDir: path.join(home, 'nowhere', 'bin') });

    const error = (await cluster.acquire().catch((err: unknown) => err)) as LocalClusterError;

    expect(error).toBeInstanceOf(LocalClusterError);
    expect(error.exitCode).toBe(5);
    expect(error.hint).toContain('META_DATABASE_URL');
  });

  it('explains a failed start with this start’s log lines, never an older log tail', async () => {
    const home = await tempDir('home');
    const first = await new LocalCluster({ home, port: 0, settings: FAST }).acquire();
    await first.release();
    const logFile = path.join(home, 'log', 'postgres.log');
    await fs.appendFile(logFile, 'OLD-UNRELATED-LINE one\nOLD-UNRELATED-LINE two\nOLD-UNRELATED-LINE three\n');

    const broken = new LocalCluster({ home, port: 0, settings: { ...FAST, shared_buffers: 'lots' } });
    const error = (await broken.acquire().catch((err: unknown) => err)) as LocalClusterError;

    expect(error).toBeInstanceOf(LocalClusterError);
    expect(error.message).toContain('shared_buffers');
    expect(error.message).not.toContain('OLD-UNRELATED-LINE');
  });
});
