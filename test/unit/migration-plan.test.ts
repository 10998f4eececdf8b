import { describe, expect, it } from 'vitest';
import { parseMigration, type MigrationFile } from '../../src/schema/migration-files.js';
import { checkHistory, plan, plannedVersion } from '../../src/schema/migration-plan.js';
import type { AppliedMigration } from '../../src/schema/migration-types.js';

const reversible = (name: string) =>
  parseMigration(name, `-- migrate:up\nCREATE TABLE ${name.slice(6)} ();\n-- migrate:down\nDROP TABLE ${name.slice(6)};\n`);
const FILES: MigrationFile[] = ['00001_a', '00002_b', '00003_c', '00004_d'].map(reversible);
const UP_ONLY = parseMigration('00003_c', 'UPDATE t SET x = 1;');

/** Bookkeeping rows for these files, as they were applied. */
const applied = (...files: MigrationFile[]): AppliedMigration[] =>
  files.map((f) => ({ name: f.name, checksum: f.checksum, appliedAt: new Date(0), durationMs: 1 }));
const first = (n: number) => applied(...FILES.slice(0, n));

describe('plan: up', () => {
  it('plans every pending file in name order', () => {
    expect(plan('up', [], FILES, undefined)).toEqual(['00001_a', '00002_b', '00003_c', '00004_d']);
    expect(plan('up', first(2), FILES, undefined)).toEqual(['00003_c', '00004_d']);
    expect(plan('up', first(4), FILES, undefined)).toEqual([]);
  });

  it('stops at --to, including it; nothing when the database is already there or beyond', () => {
    expect(plan('up', first(1), FILES, '00003_c')).toEqual(['00002_b', '00003_c']);
    expect(plan('up', first(3), FILES, '00003_c')).toEqual([]);
    expect(plan('up', first(4), FILES, '00002_b')).toEqual([]);
  });

  it('refuses an unknown --to, with the example in the hint', () => {
    expect(() => plan('up', [], FILES, '00009_nope')).toThrow(
      expect.objectContaining({ code: 'MIGRATION_NOT_FOUND', details: { migration: '00009_nope' } }),
    );
  });
});

describe('plan: down', () => {
  it('reverts only the last applied migration without --to', () => {
    expect(plan('down', first(3), FILES, undefined)).toEqual(['00003_c']);
    expect(plan('down', [], FILES, undefined)).toEqual([]);
  });

  it('reverts everything after --to, newest first, keeping --to applied', () => {
    expect(plan('down', first(4), FILES, '00002_b')).toEqual(['00004_d', '00003_c']);
    expect(plan('down', first(2), FILES, '00002_b')).toEqual([]);
    // A database not beyond --to has nothing to revert.
    expect(plan('down', first(1), FILES, '00003_c')).toEqual([]);
  });

  it('reverts everything with --to 0', () => {
    expect(plan('down', first(3), FILES, '0')).toEqual(['00003_c', '00002_b', '00001_a']);
    expect(plan('down', [], FILES, '0')).toEqual([]);
  });

  it('accepts a --to that is applied but whose file is gone, and refuses one known nowhere', () => {
    const rows = [...first(2), { name: '00002_x', checksum: 'c', appliedAt: new Date(0), durationMs: 0 }];
    expect(() => plan('down', rows, FILES, '00002_x')).not.toThrow();
    expect(() => plan('down', first(4), FILES, '00005_nope')).toThrow(expect.objectContaining({ code: 'MIGRATION_NOT_FOUND' }));
  });

  it('refuses to revert an up-only migration, naming it', () => {
    const files = [FILES[0], FILES[1], UP_ONLY, FILES[3]] as MigrationFile[];
    const rows = applied(...files);
    expect(() => plan('down', rows, files, '00001_a')).toThrow(expect.objectContaining({ code: 'MIGRATION_FAILED', migration: '00003_c' }));
    expect(() => plan('down', rows, files, '00001_a')).toThrow(/00003_c is irreversible/);
    // Reverting only what lies after it is fine.
    expect(plan('down', rows, files, '00003_c')).toEqual(['00004_d']);
  });
});

describe('plannedVersion', () => {
  it('is the last planned migration going up, or where the database already is', () => {
    expect(plannedVersion('up', first(1), ['00002_b', '00003_c'])).toBe('00003_c');
    expect(plannedVersion('up', first(2), [])).toBe('00002_b');
    expect(plannedVersion('up', [], [])).toBeNull();
  });

  it('is the newest migration that stays applied going down (none for --to 0)', () => {
    expect(plannedVersion('down', first(4), ['00004_d', '00003_c'])).toBe('00002_b');
    expect(plannedVersion('down', first(3), ['00003_c', '00002_b', '00001_a'])).toBeNull();
  });
});

describe('checkHistory', () => {
  it('accepts a history that is a prefix of the files, both ways', () => {
    expect(() => checkHistory(first(3), FILES, 'up')).not.toThrow();
    expect(() => checkHistory(first(3), FILES, 'down')).not.toThrow();
    expect(() => checkHistory([], FILES, 'up')).not.toThrow();
  });

  it('refuses an applied migration whose file changed (checksum drift)', () => {
    const rows = first(2).map((r) => (r.name === '00002_b' ? { ...r, checksum: 'edited' } : r));
    for (const direction of ['up', 'down'] as const) {
      expect(() => checkHistory(rows, FILES, direction)).toThrow(expect.objectContaining({ code: 'CHECKSUM_MISMATCH' }));
    }
  });

  it('refuses an applied migration whose file is gone', () => {
    const rows = applied(...FILES.slice(0, 2));
    expect(() => checkHistory(rows, FILES.slice(1), 'down')).toThrow(expect.objectContaining({ code: 'MIGRATION_MISSING' }));
  });

  it('refuses going up past a gap (a file numbered before the newest applied one), but lets down run', () => {
    const rows = applied(FILES[0] as MigrationFile, FILES[2] as MigrationFile);
    expect(() => checkHistory(rows, FILES, 'up')).toThrow(expect.objectContaining({ code: 'MIGRATION_ORDER' }));
    expect(() => checkHistory(rows, FILES, 'down')).not.toThrow();
  });
});
