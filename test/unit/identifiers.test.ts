import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { advisoryKey, assertIdentifier, ident, quoteIdent, roleIdent } from '../../src/pg/identifiers.js';
import { InvalidIdentifierError } from '../../src/errors.js';

describe('identifier helpers', () => {
  it('quote exactly as pg escapeIdentifier does', () => {
    for (const name of ['plain', 'Mixed', 'with space', 'a"b', '""', 'metapus_tenant_status']) {
      expect(quoteIdent(name)).toBe(pg.escapeIdentifier(name));
    }
  });

  it('validate generated names before quoting them', () => {
    expect(assertIdentifier('mt_acme_corp')).toBe('mt_acme_corp');
    expect(ident('mt_acme_corp', 'database name')).toBe('"mt_acme_corp"');
    expect(() => ident('Acme', 'database name')).toThrow(new InvalidIdentifierError('database name "Acme" may only contain lower-case letters, digits and underscores'));
    expect(() => ident('x"; drop database y; --')).toThrow(InvalidIdentifierError);
    expect(() => assertIdentifier('a'.repeat(64), 'table')).toThrow(`table "${'a'.repeat(64)}" is longer than 63 bytes`);
  });

  it('quote configured role names, keeping upper case and hyphens', () => {
    expect(roleIdent('App-User')).toBe('"App-User"');
    expect(() => roleIdent('a"b')).toThrow(new InvalidIdentifierError('role name "a"b" is not valid'));
  });

  it('derive a stable 63-bit advisory key per label', () => {
    const key = advisoryKey('metapus-tenant:create:acme');
    expect(key).toBe(advisoryKey('metapus-tenant:create:acme'));
    expect(key).not.toBe(advisoryKey('metapus-tenant:create:acme2'));
    const value = BigInt(key);
    expect(value >= 0n && value < 2n ** 63n).toBe(true);
  });
});
