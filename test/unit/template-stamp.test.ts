import { describe, expect, it } from 'vitest';
import { formatTemplateStamp, parseTemplateStamp, templateFingerprint } from '../../src/provision/template-database.js';

import type { MigrationFile } from '../../src/schema/migration-files.js';

const file = (name: string, checksum: string): MigrationFile => ({
  name,
  checksum,
  path: `${name}.sql`,
  up: 'SELECT 1',
  down: 'SELECT 1',
  transactional: true,
});
const files = [file('00001_a', 'c1'), file('00002_b', 'c2')];

describe('template stamp', () => {
  it('round-trips the files and objects fingerprints', () => {
    const stamp = { files: templateFingerprint(files), objects: 'a'.repeat(64) };
    expect(parseTemplateStamp(formatTemplateStamp(stamp))).toEqual(stamp);
  });

  it('changes with any migration file', () => {
    expect(templateFingerprint(files)).not.toBe(templateFingerprint([files[0] as (typeof files)[0]]));
    expect(templateFingerprint(files)).not.toBe(
      templateFingerprint([{ ...(files[0] as (typeof files)[0]), checksum: 'x' }, files[1] as (typeof files)[0]]),
    );
  });

  it.each([
    null,
    '',
    `metapus-tenant template ${'0'.repeat(64)}`,
    'metapus-tenant template stale: planted (2026-11-26)',
    `metapus-tenant template v2 files=${'0'.repeat(64)}`,
  ])('treats %j (missing, old format, marked stale) as no current stamp', (comment) => {
    expect(parseTemplateStamp(comment)).toBeUndefined();
  });
});
