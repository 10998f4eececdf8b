import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { InvalidIdentifierError } from '../../src/errors.js';
import { advisoryKey, assertIdentifier, ident, quoteIdent, roleIdent } from '../../src/pg/identifiers.js';

function refusal(fn: () => unknown): InvalidIdentifierError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidIdentifierError);
    return err as InvalidIdentifierError;
  }
  throw new Error('expected an InvalidIdentifierError');
}

describe('assertIdentifier', () => {
  it.each(['t', '_x', 'tenant_acme_corp', 'a1_2', 'x'.repeat(63)])('accepts %s and returns it', (name) => {
    expect(assertIdentifier(name)).toBe(name);
  });

  it.each(['', 'Acme', 'acme-corp', '1st', 'a b', 'a"b', 'a;drop', 'é', 'a.b'])('refuses %j', (name) => {
    const err = refusal(() => assertIdentifier(name, 'database name'));
    expect(err.code).toBe('INVALID_IDENTIFIER');
    expect(err.message).toContain('database name');
  });

  it('refuses a name longer than 63 bytes (PostgreSQL would truncate it)', () => {
    expect(refusal(() => assertIdentifier('x'.repeat(64))).message).toContain('63 bytes');
  });
});

describe('quoteIdent', () => {
  it.each(['plain', 'Mixed Case', 'with"quote', '""', '', 'a;drop table x'])('quotes %j as pg.escapeIdentifier does', (name) => {
    expect(quoteIdent(name)).toBe(pg.escapeIdentifier(name));
  });
});

describe('ident', () => {
  it('validates, then quotes', () => {
    expect(ident('tenant_acme')).toBe('"tenant_acme"');
    expect(refusal(() => ident('Tenant', 'schema')).message).toContain('schema');
  });
});

describe('roleIdent', () => {
  it.each(['app', 'App-Role', 'role$1', '_r', 'r'.repeat(63)])('quotes configured role %s unchanged', (name) => {
    expect(roleIdent(name)).toBe(`"${name}"`);
  });

  it.each(['', '1role', 'a b', 'a"b', 'a;b', 'r'.repeat(64)])('refuses %j', (name) => {
    expect(refusal(() => roleIdent(name)).message).toContain('role name');
  });
});

describe('advisoryKey', () => {
  const MAX_BIGINT = 2n ** 63n - 1n;

  it('is a stable, non-negative bigint for pg_advisory_lock', () => {
    const key = advisoryKey('metapus_tenant:migrate');
    expect(key).toMatch(/^\d+$/);
    expect(BigInt(key) <= MAX_BIGINT).toBe(true);
    expect(advisoryKey('metapus_tenant:migrate')).toBe(key);
  });

  it('gives different labels different keys', () => {
    const labels = Array.from({ length: 2_000 }, (_, i) => `tenant_${i}`);
    expect(new Set(labels.map(advisoryKey)).size).toBe(labels.length);
    expect(advisoryKey('ab')).not.toBe(advisoryKey('ba'));
  });
});
