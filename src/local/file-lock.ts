/**
 * A cross-process lock on a folder: `mkdir` is atomic, the owner's pid is
 * written inside, and a lock whose owner died is taken over.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { LocalClusterError } from '../errors.js';

export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function withFileLock<T>(lockDir: string, fn: () => Promise<T>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  const ownerFile = path.join(lockDir, 'owner');
  for (;;) {
    try {
      await fs.mkdir(lockDir);
      await fs.writeFile(ownerFile, String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(await fs.readFile(ownerFile, 'utf8').catch(() => ''));
      // An owner file not written yet belongs to a process between mkdir and
      // writeFile; only a lock whose recorded owner is dead is stale.
      if (owner && !isProcessAlive(owner)) {
        await fs.rm(lockDir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new LocalClusterError(`timed out waiting for the lock ${lockDir} (held by pid ${owner || 'unknown'})`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 100));
    }
  }
  try {
    return await fn();
  } finally {
    await fs.rm(lockDir, { recursive: true, force: true });
  }
}
