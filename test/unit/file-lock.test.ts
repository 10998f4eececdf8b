/**
 * The lock around starting and stopping the embedded cluster: a lock left
 * behind by a dead process (SIGKILL, or a folder with no owner) is taken
 * over instead of blocking every later command.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalClusterError } from '../../src/errors.js';
import { inspectLock, processStartTime, withFileLock } from '../../src/local/file-lock.js';
import { LocalCluster } from '../../src/local/local-cluster.js';

const FILE_LOCK = fileURLToPath(new URL('../../src/local/file-lock.ts', import.meta.url));
// Generous: a taken-over lock is acquired at once; only the code under test before the fix waits this long.
const PATIENCE_MS = 10_000;

const folders: string[] = [];
afterEach(async () => {
  await Promise.all(folders.splice(0).map((f) => fs.rm(f, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'metapus-lock-'));
  folders.push(dir);
  return dir;
}

/** Starts a process that takes the lock and holds it forever; resolves once it holds it. */
function holdLockInChild(lockDir: string): Promise<import('node:child_process').ChildProcess> {
  const script = `
    import { withFileLock } from ${JSON.stringify(FILE_LOCK)};
    await withFileLock(${JSON.stringify(lockDir)}, () => {
      process.stdout.write('locked\\n');
      return new Promise(() => setInterval(() => undefined, 60_000));
    });`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('locked')) resolve(child);
    });
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`lock holder exited early (${code})`)));
  });
}

describe('withFileLock', () => {
  it('takes over a lock whose owner was killed with SIGKILL', async () => {
    const lockDir = path.join(await tempDir(), 'lock');
    const child = await holdLockInChild(lockDir);
    expect(await inspectLock(lockDir)).toMatchObject({ state: 'held', owner: { pid: child.pid } });

    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;

    expect(await inspectLock(lockDir)).toMatchObject({ state: 'stale', owner: { pid: child.pid } });
    await expect(withFileLock(lockDir, async () => 'ran', PATIENCE_MS)).resolves.toBe('ran');
    expect(await inspectLock(lockDir)).toEqual({ state: 'free' });
  });

  it('takes over an ownerless lock folder', async () => {
    const lockDir = path.join(await tempDir(), 'lock');
    await fs.mkdir(lockDir);

    expect(await inspectLock(lockDir)).toMatchObject({ state: 'stale', reason: 'the lock folder names no owner' });
    await expect(withFileLock(lockDir, async () => 'ran', PATIENCE_MS)).resolves.toBe('ran');
  });

  it.skipIf(processStartTime(process.pid) === undefined)('treats a reused pid as a dead owner', async () => {
    const lockDir = path.join(await tempDir(), 'lock');
    await fs.mkdir(lockDir);
    // This process is alive, but it is not the process that wrote the lock (another start time).
    await fs.writeFile(path.join(lockDir, 'owner'), JSON.stringify({ pid: process.pid, startTime: '1', token: 'x' }));

    expect(await inspectLock(lockDir)).toMatchObject({ state: 'stale' });
    await expect(withFileLock(lockDir, async () => 'ran', PATIENCE_MS)).resolves.toBe('ran');
  });

  it('waits for a live owner and says who holds the lock', async () => {
    const lockDir = path.join(await tempDir(), 'lock');
    const child = await holdLockInChild(lockDir);
    try {
      const error = await withFileLock(lockDir, async () => 'ran', 200).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(LocalClusterError);
      expect((error as LocalClusterError).message).toContain(`held by pid ${child.pid}`);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('runs callers one at a time', async () => {
    const lockDir = path.join(await tempDir(), 'lock');
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 8 }, () =>
        withFileLock(lockDir, async () => {
          most = Math.max(most, ++inside);
          await new Promise((resolve) => setImmediate(resolve));
          inside--;
        }),
      ),
    );
    expect(most).toBe(1);
    // Waiters back off up to 500 ms (plus jitter) each; eight in a row can pass
    // the 5 s default on a loaded machine without anything being wrong.
  }, 30_000);
});

describe('the embedded cluster with a stale lock', () => {
  it('status says the lock is stale, and stop --force does not wait for it', async () => {
    const home = await tempDir();
    await fs.mkdir(path.join(home, 'lock'));
    const cluster = new LocalCluster({ home });

    expect((await cluster.status()).lock).toMatchObject({ state: 'stale' });
    await expect(cluster.stop({ force: true })).resolves.toEqual({ stopped: false, users: 0 });
    expect((await cluster.status()).lock).toEqual({ state: 'free' });
  });
});
