import { describe, expect, it } from 'vitest';
import { loadMigrationFiles, parseMigration } from '../../src/schema/migration-files.js';
import { UsageError } from '../../src/errors.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

describe('parseMigration', () => {
  it('splits up and down sections', () => {
    const m = parseMigration('00001_x', '-- about\n-- migrate:up\nCREATE TABLE a();\n-- migrate:down\nDROP TABLE a;\n');
    expect(m.up).toBe('CREATE TABLE a();');
    expect(m.down).toBe('DROP TABLE a;');
    expect(m.transactional).toBe(true);
    expect(m.checksum).toMatch(/^[0-9a-f]{64}$/);
  });
  it('treats a file without markers as up-only', () => {
    const m = parseMigration('00002_hotfix', 'UPDATE a SET b = 1;');
    expect(m.up).toBe('UPDATE a SET b = 1;');
    expect(m.down).toBeUndefined();
  });
  it('honours the no-transaction marker', () => {
    const m = parseMigration(
      '00003_idx',
      '-- migrate:no-transaction\n-- migrate:up\nCREATE INDEX CONCURRENTLY i ON a (b);\n-- migrate:down\nDROP INDEX CONCURRENTLY i;',
    );
    expect(m.transactional).toBe(false);
  });
  it('refuses misplaced markers', () => {
    expect(() => parseMigration('00004_bad', '-- migrate:down\nx;\n-- migrate:up\ny;')).toThrow(UsageError);
  });
  it.each([
    [
      'SQL before the up marker',
      'CREATE TABLE lost();\n-- migrate:up\nCREATE TABLE a();\n-- migrate:down\nDROP TABLE a;',
      'before "-- migrate:up"',
    ],
    ['an up marker without a down section', '-- migrate:up\nCREATE TABLE a();', 'needs a "-- migrate:down"'],
    ['a down section with only comments', '-- migrate:up\nCREATE TABLE a();\n-- migrate:down\n-- nothing\n', 'down part has no SQL'],
    ['an up section with only comments', '-- migrate:up\n/* later */\n-- migrate:down\nSELECT 1;', 'up part has no SQL'],
    ['a down marker twice', '-- migrate:up\nA;\n-- migrate:down\nB;\n-- migrate:down\nC;', 'appears twice'],
    ['no-transaction after SQL in a plain file', 'UPDATE a SET b = 1;\n-- migrate:no-transaction\n', 'before the first SQL line'],
  ])('refuses %s, naming the file', (_what, text, message) => {
    expect(() => parseMigration('00005_bad', text)).toThrow(message);
    expect(() => parseMigration('00005_bad', text)).toThrow('00005_bad');
  });
  it('accepts no-transaction in the leading comments of a plain (up-only) file', () => {
    const m = parseMigration('00006_vacuum', '-- Reclaims space.\n-- migrate:no-transaction\nVACUUM stock_movements;');
    expect(m).toMatchObject({ transactional: false, down: undefined, up: '-- Reclaims space.\nVACUUM stock_movements;' });
  });
});

describe('loadMigrationFiles', () => {
  it('loads the shipped tenant schema in order', async () => {
    const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../db/migrations');
    const files = await loadMigrationFiles(dir);
    expect(files.length).toBeGreaterThan(3);
    expect(files.map((f) => f.name)).toEqual([...files.map((f) => f.name)].sort());
    expect(files.every((f) => f.down !== undefined)).toBe(true);
  });
});
