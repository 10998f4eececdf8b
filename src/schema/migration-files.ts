/**
 * Reads a migrations folder. Format (see db/migrations/README.md):
 *   NNNNN_description.sql, applied in name order;
 *   `-- migrate:up` / `-- migrate:down` sections make it reversible,
 *   a file without markers is up-only;
 *   `-- migrate:no-transaction` before the up section runs it outside a transaction.
 * Every rule the README states is enforced here, so a malformed file fails
 * before anything runs instead of being half-understood.
 */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../errors.js';

export interface MigrationFile {
  /** File name without `.sql`, e.g. `00003_catalogs`. */
  name: string;
  path: string;
  /** sha256 of the whole file. */
  checksum: string;
  up: string;
  /** undefined for an up-only (irreversible) migration. */
  down: string | undefined;
  transactional: boolean;
}

const FILE_NAME = /^(\d{5})_([a-z0-9]+(?:_[a-z0-9]+)*)\.sql$/;
const MARKER = /^--\s*migrate:(up|down|no-transaction)\s*$/;

/** True when the text holds anything besides comments and whitespace. */
export function hasSql(text: string): boolean {
  return (
    text
      .replace(/\/\*[\s\S]*?\*\//g, ' ')
      .replace(/--[^\n]*/g, ' ')
      .trim() !== ''
  );
}

export function parseMigration(name: string, text: string, filePath = name): MigrationFile {
  const lines = text.split(/\r?\n/);
  let section: 'head' | 'up' | 'down' = 'head';
  let sawUp = false;
  let transactional = true;
  const parts: Record<'head' | 'up' | 'down', string[]> = { head: [], up: [], down: [] };
  const fail = (why: string) => new UsageError(`migration ${name}: ${why}`, { hint: 'see db/migrations/README.md for the file format' });
  for (const line of lines) {
    const marker = MARKER.exec(line.trim());
    if (marker) {
      const kind = marker[1];
      if (kind === 'no-transaction') {
        if (section !== 'head') throw fail('"-- migrate:no-transaction" must come before "-- migrate:up"');
        if (!transactional) throw fail('"-- migrate:no-transaction" appears twice');
        if (hasSql(parts.head.join('\n'))) throw fail('"-- migrate:no-transaction" must come before the first SQL line');
        transactional = false;
      } else if (kind === 'up') {
        if (section !== 'head') throw fail('"-- migrate:up" appears twice or after "-- migrate:down"');
        if (hasSql(parts.head.join('\n'))) throw fail('SQL before "-- migrate:up" (the header may hold only comments)');
        section = 'up';
        sawUp = true;
      } else {
        if (section !== 'up')
          throw fail(section === 'down' ? '"-- migrate:down" appears twice' : '"-- migrate:down" must follow "-- migrate:up"');
        section = 'down';
      }
      continue;
    }
    parts[section].push(line);
  }
  if (sawUp && section !== 'down')
    throw fail('a file with "-- migrate:up" needs a "-- migrate:down" section (use a file without markers for up-only)');
  const up = (sawUp ? parts.up : parts.head).join('\n').trim();
  const down = sawUp ? parts.down.join('\n').trim() : undefined;
  if (!hasSql(up)) throw fail('the up part has no SQL');
  if (down !== undefined && !hasSql(down)) throw fail('the down part has no SQL');
  return {
    name,
    path: filePath,
    checksum: crypto.createHash('sha256').update(text).digest('hex'),
    up,
    down,
    transactional,
  };
}

export async function loadMigrationFiles(dir: string): Promise<MigrationFile[]> {
  let entries: string[];
  try {
    entries = await fs.readdir(dir);
  } catch (cause) {
    throw new UsageError(`migrations folder ${dir} cannot be read`, { cause });
  }
  const files: MigrationFile[] = [];
  const numbers = new Map<string, string>();
  for (const entry of entries.sort()) {
    if (!entry.endsWith('.sql')) continue;
    const match = FILE_NAME.exec(entry);
    if (!match) {
      throw new UsageError(`migration file ${entry} must be named NNNNN_description.sql (5 digits, lower-case snake_case)`);
    }
    const number = match[1] as string;
    const twin = numbers.get(number);
    if (twin) throw new UsageError(`migration files ${twin} and ${entry} share the number ${number}`);
    numbers.set(number, entry);
    const filePath = path.join(dir, entry);
    files.push(parseMigration(entry.slice(0, -4), await fs.readFile(filePath, 'utf8'), filePath));
  }
  return files;
}

/** The version a fully migrated database reports: the last migration's name. */
export function latestVersion(files: readonly MigrationFile[]): string | null {
  return files.at(-1)?.name ?? null;
}

/** Position of a migration name in the files (-1 when unknown). */
export function migrationIndex(files: readonly MigrationFile[], name: string | null | undefined): number {
  if (!name) return -1;
  return files.findIndex((f) => f.name === name);
}
