import { describe, expect, it } from 'vitest';
import { loadMigrationFiles, parseMigration } from '../../src/migrate/migration-files.js';
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
    const m = parseMigration('00003_idx', '-- migrate:no-transaction\n-- migrate:up\nCREATE INDEX CONCURRENTLY i ON a (b);');
    expect(m.transactional).toBe(false);
  });
  it('refuses misplaced markers', () => {
    expect(() => parseMigration('00004_bad', '-- migrate:down\nx;\n-- migrate:up\ny;')).toThrow(UsageError);
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
