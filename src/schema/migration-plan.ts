/**
 * What a run will do: the migrations to apply or revert, in order, and the
 * checks that the database's history still matches the files (no edited,
 * missing or skipped migration).
 */
import { ChecksumMismatchError, MigrationError, MigrationMissingError, MigrationOrderError, TenantToolkitError } from '../errors.js';
import type { MigrationFile } from './migration-files.js';
import type { AppliedMigration, MigrationDirection } from './migration-types.js';

/** Names to run, in run order. */
export function plan(
  direction: MigrationDirection,
  applied: readonly AppliedMigration[],
  files: readonly MigrationFile[],
  to: string | undefined,
): string[] {
  const done = new Set(applied.map((m) => m.name));
  if (direction === 'up') {
    if (to !== undefined && !files.some((f) => f.name === to)) throw unknownMigration(to);
    const pending: string[] = [];
    for (const file of files) {
      if (!done.has(file.name)) pending.push(file.name);
      if (file.name === to) break;
    }
    return pending;
  }
  const executed = applied.map((m) => m.name);
  let revert: string[];
  if (to === undefined) revert = executed.slice(-1);
  else if (to === '0') revert = [...executed].reverse();
  else {
    if (!done.has(to) && !files.some((f) => f.name === to)) throw unknownMigration(to);
    // Everything applied after `to`; nothing when the database is not beyond it.
    revert = executed.filter((name) => name > to).reverse();
  }
  const byName = new Map(files.map((f) => [f.name, f]));
  for (const name of revert) {
    if (byName.get(name)?.down === undefined) {
      throw new MigrationError(`migration ${name} is irreversible (it has no "-- migrate:down" part)`, { migration: name });
    }
  }
  return revert;
}

/** `example`: a real migration name to show in the hint. */
export function unknownMigration(name: string, example = '00003_catalogs'): TenantToolkitError {
  return new TenantToolkitError('MIGRATION_NOT_FOUND', `migration "${name}" does not exist`, {
    hint: `use a file name without .sql, e.g. ${example}`,
    details: { migration: name },
  });
}

/** Applied history must match the files: nothing changed, nothing removed, nothing skipped (up). */
export function checkHistory(applied: readonly AppliedMigration[], files: readonly MigrationFile[], direction: MigrationDirection): void {
  const byName = new Map(files.map((f) => [f.name, f]));
  for (const row of applied) {
    const file = byName.get(row.name);
    if (!file) throw new MigrationMissingError(row.name);
    if (file.checksum !== row.checksum) throw new ChecksumMismatchError(row.name);
  }
  const last = applied.at(-1)?.name;
  if (direction === 'up' && last !== undefined) {
    const done = new Set(applied.map((m) => m.name));
    const gap = files.find((f) => f.name < last && !done.has(f.name));
    if (gap) throw new MigrationOrderError(gap.name, last);
  }
}

/** The version a run of `planned` leaves the database at: the last planned (up), or what stays applied (down). */
export function plannedVersion(direction: MigrationDirection, applied: readonly AppliedMigration[], planned: readonly string[]): string | null {
  if (direction === 'up') return planned.at(-1) ?? applied.at(-1)?.name ?? null;
  const reverted = new Set(planned);
  return applied.filter((m) => !reverted.has(m.name)).at(-1)?.name ?? null;
}
