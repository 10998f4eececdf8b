/**
 * A cross-process lock on a folder. The folder is born complete: the owner
 * file (pid, process start time, a random token) is written into a staging
 * folder that is then renamed into place, so a lock folder without a
 * readable owner was never a live lock. A lock whose owner is missing, dead,
 * or a different process that reused the pid is stale and taken over.
 */
import crypto from 'node:crypto';
import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LocalClusterError } from '../errors.js';
import { delay } from '../deadline.js';

export interface ProcessIdentity {
  pid: number;
  /** Kernel start time of the process (Linux); tells a reused pid from the original. */
  startTime?: string;
}

export interface LockOwner extends ProcessIdentity {
  token: string;
  host: string;
  since: string;
}

export type LockState =
  { state: 'free' } | { state: 'held'; owner: LockOwner } | { state: 'stale'; owner: LockOwner | undefined; reason: string };

export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Start time of a process in clock ticks since boot (field 22 of /proc/<pid>/stat); undefined off Linux. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = fsSync.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses; fields after the last ')' are plain.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

export function currentProcess(): ProcessIdentity {
  const startTime = processStartTime(process.pid);
  return { pid: process.pid, ...(startTime ? { startTime } : {}) };
}

/** Is this the same, still running process (not just a live pid)? */
export function isIdentityAlive(identity: ProcessIdentity): boolean {
  if (!isProcessAlive(identity.pid)) return false;
  if (identity.startTime === undefined) return true;
  const now = processStartTime(identity.pid);
  return now === undefined || now === identity.startTime;
}

/** Reads an owner or lease record: JSON, or a bare pid as older versions wrote it. */
export function parseIdentity(text: string): (ProcessIdentity & Partial<LockOwner>) | undefined {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return { pid: Number(trimmed) };
  try {
    const value = JSON.parse(trimmed) as Partial<LockOwner>;
    return typeof value.pid === 'number' ? (value as ProcessIdentity & Partial<LockOwner>) : undefined;
  } catch {
    return undefined;
  }
}

const ownerFileOf = (lockDir: string) => path.join(lockDir, 'owner');

/** Whether the lock is free, held by a live process, or stale (and why). */
export async function inspectLock(lockDir: string): Promise<LockState> {
  const raw = await readOwner(lockDir);
  if (raw === null) return { state: 'free' };
  const owner = parseIdentity(raw) as LockOwner | undefined;
  if (!owner) return { state: 'stale', owner: undefined, reason: 'the lock folder names no owner' };
  if (!isIdentityAlive(owner)) return { state: 'stale', owner, reason: `its owner (pid ${owner.pid}) is no longer running` };
  return { state: 'held', owner };
}

/**
 * The owner file's text; '' for a lock folder without one; null when there is
 * no lock folder. Locks are born complete (renamed into place with their
 * owner), so a folder seen without an owner counts as ownerless only when it
 * is the same folder before and after the read: a lock released and taken
 * again in between must not look ownerless (it would be taken over while its
 * owner runs, and never released).
 */
async function readOwner(lockDir: string): Promise<string | null> {
  for (;;) {
    const before = await folderId(lockDir);
    if (before === null) return null;
    try {
      return await fs.readFile(ownerFileOf(lockDir), 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
    }
    const after = await folderId(lockDir);
    if (after === null) return null;
    if (after === before) return '';
  }
}

async function folderId(dir: string): Promise<string | null> {
  try {
    const stat = await fs.stat(dir);
    return `${stat.dev}:${stat.ino}`;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

export async function withFileLock<T>(lockDir: string, fn: () => Promise<T>, timeoutMs = 120_000): Promise<T> {
  const owner: LockOwner = {
    ...currentProcess(),
    token: crypto.randomUUID(),
    host: os.hostname(),
    since: new Date().toISOString(),
  };
  const deadline = Date.now() + timeoutMs;
  let wait = 25;
  while (!(await tryAcquire(lockDir, owner))) {
    const state = await inspectLock(lockDir);
    if (state.state === 'stale') {
      await takeOver(lockDir, state);
      continue;
    }
    if (state.state === 'free') continue;
    if (Date.now() > deadline) {
      throw new LocalClusterError(
        `timed out waiting for the lock ${lockDir}, held by pid ${state.owner.pid} since ${state.owner.since ?? 'an unknown time'}`,
        { hint: 'another tenant command is using the embedded PostgreSQL; wait for it, or stop that process' },
      );
    }
    await delay(wait + Math.random() * wait);
    wait = Math.min(wait * 2, 500);
  }
  try {
    return await fn();
  } finally {
    await releaseIfOurs(lockDir, owner.token);
  }
}

/** Renames a complete staging folder into place; false when another lock is there. */
async function tryAcquire(lockDir: string, owner: LockOwner): Promise<boolean> {
  const staging = `${lockDir}.new-${owner.token}`;
  await fs.mkdir(staging, { recursive: true });
  await fs.writeFile(ownerFileOf(staging), JSON.stringify(owner));
  try {
    // rename() fails on a non-empty folder; an empty one (an ownerless lock) is replaced atomically.
    await fs.rename(staging, lockDir);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTEMPTY' || code === 'EPERM' || code === 'EISDIR') return false;
    throw err;
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
}

/**
 * Moves a stale lock aside, then checks that what moved is the lock judged
 * stale: if another process took it over in between, its fresh lock goes back.
 */
async function takeOver(lockDir: string, judged: Extract<LockState, { state: 'stale' }>): Promise<void> {
  const tomb = `${lockDir}.stale-${crypto.randomUUID()}`;
  try {
    await fs.rename(lockDir, tomb);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // someone else cleared it
    throw err;
  }
  const moved = parseIdentity((await readOwner(tomb)) ?? '');
  if (moved?.token !== undefined && moved.token !== judged.owner?.token) {
    await fs.rename(tomb, lockDir).catch(() => undefined);
  }
  await fs.rm(tomb, { recursive: true, force: true });
}

async function releaseIfOurs(lockDir: string, token: string): Promise<void> {
  const current = parseIdentity((await readOwner(lockDir)) ?? '');
  if (current?.token !== token) return; // taken over after we were presumed dead: not ours to remove
  const tomb = `${lockDir}.done-${token}`;
  await fs.rename(lockDir, tomb).catch(() => undefined);
  await fs.rm(tomb, { recursive: true, force: true });
}
