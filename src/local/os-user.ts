/**
 * PostgreSQL refuses to run as root. When we are root, the embedded cluster
 * runs as the `postgres` OS user (created if missing), and the folders it
 * writes are handed to that user.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import { promisify } from 'node:util';
import { LocalClusterError } from '../errors.js';

const run = promisify(execFile);

export interface ServerUser {
  uid: number;
  gid: number;
  name: string;
}

export const isRoot = (): boolean => process.getuid?.() === 0;

/** The OS user the server runs as; undefined means "the current user". */
export async function resolveServerUser(name = 'postgres'): Promise<ServerUser | undefined> {
  if (!isRoot()) return undefined;
  const lookup = async (): Promise<ServerUser> => {
    const [uid, gid] = await Promise.all([run('id', ['-u', name]), run('id', ['-g', name])]);
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()), name };
  };
  try {
    return await lookup();
  } catch {
    try {
      await run('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', name]);
      return await lookup();
    } catch (cause) {
      throw new LocalClusterError(`running as root, and the "${name}" OS user for PostgreSQL could not be created`, {
        cause,
        hint: 'create a "postgres" user, run as a normal user, or set META_DATABASE_URL',
      });
    }
  }
}

/** Creates a folder (and parents) and, when running as root, gives it to the server user. */
export async function ensureDir(dir: string, user: ServerUser | undefined, mode: number): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode });
  await fs.chmod(dir, mode);
  if (user) await fs.chown(dir, user.uid, user.gid);
}
