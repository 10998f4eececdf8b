import { describe, expect, it } from 'vitest';
import { InvalidSlugError } from '../../src/errors.js';
import { tenantDatabaseName, validateDisplayName, validateSlug } from '../../src/provision/tenant-naming.js';

describe('validateSlug', () => {
  it.each(['acme', 'acme-corp', 'a1b', 'x'.repeat(40)])('accepts %s', (slug) => {
    expect(validateSlug(slug)).toBe(slug);
  });

  it.each([
    ['quote', "acme'corp"],
    ['double quote', 'acme"corp'],
    ['space', 'acme corp'],
    ['semicolon', 'acme;drop'],
    ['unicode', 'acmé'],
    ['template injection', 'x TEMPLATE y'],
    ['upper case', 'Acme'],
    ['leading digit', '1acme'],
    ['too short', 'ab'],
    ['too long', 'a'.repeat(41)],
    ['64 characters', 'a'.repeat(64)],
    ['trailing hyphen', 'acme-'],
    ['underscore', 'acme_corp'],
    ['reserved', 'postgres'],
    ['reserved template', 'template1'],
  ])('refuses %s', (_label, slug) => {
    expect(() => validateSlug(slug)).toThrow(InvalidSlugError);
  });

  it('refuses slugs that would collide with reserved databases', () => {
    expect(() => validateSlug('metapus', ['metapus'])).toThrow(/reserved/);
  });
});

describe('tenantDatabaseName', () => {
  it('derives a deterministic database name', () => {
    expect(tenantDatabaseName('mt_', 'acme-corp')).toBe('mt_acme_corp');
    expect(tenantDatabaseName('mt_', 'acme-corp')).toBe(tenantDatabaseName('mt_', 'acme-corp'));
  });

  it('stays within 63 bytes for the longest slug and prefix', () => {
    expect(Buffer.byteLength(tenantDatabaseName('p'.repeat(20), 'a'.repeat(40)))).toBeLessThanOrEqual(63);
  });
});

describe('validateDisplayName', () => {
  it('trims and keeps unicode', () => {
    expect(validateDisplayName('  Глобекс ☃ ')).toBe('Глобекс ☃');
  });
  it('refuses empty names and control characters', () => {
    expect(() => validateDisplayName('   ')).toThrow(/empty/);
    expect(() => validateDisplayName('a\nb')).toThrow(/control/);
  });
});
