/**
 * Reads a migrations folder. Format (see db/migrations/README.md):
 *   NNNNN_description.sql, applied in name order;
 *   `-- migrate:up` / `-- migrate:down` sections make it reversible,
 *   a file without markers is up-only;
 *   `-- migrate:no-transaction` before the up section runs it outside a transaction.
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

const FILE_NAME = /^(\d{5})_([a-z0-9][a-z0-9_]*)\.sql$/;
const MARKER = /^--\s*migrate:(up|down|no-transaction)\s*$/;

export function parseMigration(name: string, text: string, filePath = name): MigrationFile {
  const lines = text.split(/\r?\n/);
  let section: 'head' | 'up' | 'down' = 'head';
  let sawMarker = false;
  let transactional = true;
  const parts: Record<'head' | 'up' | 'down', string[]> = { head: [], up: [], down: [] };
  for (const line of lines) {
    const marker = MARKER.exec(line.trim());
    if (marker) {
      const kind = marker[1];
      if (kind === 'no-transaction') {
        if (section !== 'head') throw new UsageError(`${name}: "-- migrate:no-transaction" must come before "-- migrate:up"`);
        transactional = false;
        continue;
      }
      if (kind === 'up') {
        if (section !== 'head') throw new UsageError(`${name}: "-- migrate:up" appears twice or after "-- migrate:down"`);
        section = 'up';
      } else {
        if (section !== 'up') throw new UsageError(`${name}: "-- migrate:down" must follow "-- migrate:up"`);
        section = 'down';
      }
      sawMarker = true;
      continue;
    }
    parts[section].push(line);
  }
  const up = sawMarker ? parts.up.join('\n').trim() : parts.head.join('\n').trim();
  const down = sawMarker && section === 'down' ? parts.down.join('\n').trim() : undefined;
  if (!up) throw new UsageError(`${name}: the up part is empty`);
  return {
    name,
    path: filePath,
    checksum: crypto.createHash('sha256').update(text).digest('hex'),
    up,
    down: down === '' ? undefined : down,
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
      throw new UsageError(`migration file ${entry} must be named NNNNN_description.sql (lower-case, 5 digits)`);
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
