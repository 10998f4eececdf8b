/**
 * Umzug as the runner of a planned list: it calls each planned migration's
 * step in order and stops at the first failure. The plan was made from the
 * bookkeeping read under the lock, so Umzug is handed exactly that list
 * (`migrations` holds only the planned files; `rerun: ALLOW` makes up/down
 * run the named ones without asking the storage which are pending).
 *
 * Its storage is that same reading, kept in memory: the bookkeeping rows
 * themselves are written by MigrationStepRunner inside each migration's
 * transaction, so logMigration/unlogMigration only keep the mirror current.
 */
import { Umzug, type UmzugStorage } from 'umzug';
import type { MigrationFile } from './migration-files.js';
import type { MigrationStepRunner } from './migration-step-runner.js';
import type { MigrationDirection } from './migration-types.js';

class KnownStateStorage implements UmzugStorage {
  private readonly names: Set<string>;

  constructor(applied: readonly string[]) {
    this.names = new Set(applied);
  }

  // Umzug's storage contract is async; this one answers from memory.
  executed(): Promise<string[]> {
    return Promise.resolve([...this.names].sort());
  }

  logMigration({ name }: { name: string }): Promise<void> {
    this.names.add(name);
    return Promise.resolve();
  }

  unlogMigration({ name }: { name: string }): Promise<void> {
    this.names.delete(name);
    return Promise.resolve();
  }
}

/**
 * Runs the planned migrations (names in run order) through the step runner;
 * rejects with Umzug's wrapped error on the first failure. `applied`: the
 * bookkeeping the plan was made from.
 */
export async function runPlanned(
  runner: MigrationStepRunner,
  direction: MigrationDirection,
  files: readonly MigrationFile[],
  names: readonly string[],
  applied: readonly string[],
): Promise<void> {
  const byName = new Map(files.map((file) => [file.name, file]));
  const planned = names.map((name) => byName.get(name) as MigrationFile);
  const umzug = new Umzug({
    migrations: planned.map((file) => {
      const step = () => runner.run(file);
      return { name: file.name, path: file.path, up: step, down: step };
    }),
    storage: new KnownStateStorage(applied),
    logger: undefined,
  });
  if (direction === 'up') await umzug.up({ migrations: [...names], rerun: 'ALLOW' });
  else await umzug.down({ migrations: [...names], rerun: 'ALLOW' });
}
