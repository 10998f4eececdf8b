import { describe, expect, it } from 'vitest';
import { formatTemplateStamp, parseTemplateStamp, templateFingerprint } from '../../src/provision/template-database.js';

const files = [
  { name: '00001_a', checksum: 'c1' },
  { name: '00002_b', checksum: 'c2' },
] as Parameters<typeof templateFingerprint>[0];

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
