import { describe, expect, it } from 'vitest';
import { assertIdentifier } from '../../src/pg/identifiers.js';
import { dependencyOrder, qualified, type CopiedTable } from '../../src/provision/table-catalog.js';
import { keptSourceName } from '../../src/provision/source-fence.js';

const table = (name: string, references: string[] = []): CopiedTable => ({ schema: 'public', name, columns: ['id'], references });

describe('keptSourceName', () => {
  const at = new Date('2026-11-27T02:03:04.567Z');

  it('suffixes the database name with _moved_ and the UTC time', () => {
    expect(keptSourceName('mt_acme', at)).toBe('mt_acme_moved_20261127020304');
  });

  it('shortens a long name so the whole fits 63 bytes and stays a valid identifier', () => {
    const long = `mt_${'a'.repeat(60)}`;
    const kept = keptSourceName(long, at);
    expect(Buffer.byteLength(kept)).toBeLessThanOrEqual(63);
    expect(kept.endsWith('_moved_20261127020304')).toBe(true);
    expect(assertIdentifier(kept)).toBe(kept);
    expect(keptSourceName(`mt_${'b'.repeat(39)}_${'c'.repeat(10)}`, at)).not.toMatch(/__moved/);
  });
});

describe('dependencyOrder', () => {
  it('puts referenced tables first, names breaking ties', () => {
    const ordered = dependencyOrder([
      table('lines', ['"public"."docs"', '"public"."items"']),
      table('docs', ['"public"."warehouses"']),
      table('items'),
      table('warehouses'),
    ]);
    expect(ordered.map((t) => t.name)).toEqual(['items', 'warehouses', 'docs', 'lines']);
  });

  it('keeps every table of a cycle (after the rest) and ignores references outside the copy', () => {
    const ordered = dependencyOrder([table('a', ['"public"."b"']), table('b', ['"public"."a"']), table('c', ['"other"."x"'])]);
    expect(ordered.map(qualified)).toEqual(['"public"."c"', '"public"."a"', '"public"."b"']);
  });
});
