import { describe, expect, it } from 'vitest';
import { DEFAULT_SCRYPT, hashPassword, parsePasswordHash, verifyPassword } from '../../src/erp/auth/password-hash.js';

/** A cheap cost for the tests that are about the format, not the cost. */
const CHEAP = { N: 2 ** 10, r: 8, p: 1 };

describe('password hashes', () => {
  it('writes scrypt$N$r$p$salt$hash with the default cost N=2^15 r=8 p=1', async () => {
    const stored = await hashPassword('correct horse battery');
    expect(stored).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9+/]+=*\$[A-Za-z0-9+/]+=*$/);
    expect(parsePasswordHash(stored)).toMatchObject({ params: DEFAULT_SCRYPT });
    expect(parsePasswordHash(stored)?.salt).toHaveLength(16);
    expect(parsePasswordHash(stored)?.hash).toHaveLength(32);
    expect(await verifyPassword('correct horse battery', stored)).toBe(true);
    expect(await verifyPassword('correct horse batterY', stored)).toBe(false);
  });

  it('salts every hash', async () => {
    const [a, b] = await Promise.all([hashPassword('same password', CHEAP), hashPassword('same password', CHEAP)]);
    expect(a).not.toBe(b);
    expect(await verifyPassword('same password', a)).toBe(true);
    expect(await verifyPassword('same password', b)).toBe(true);
  });

  it('verifies with the cost the stored hash names (so the default can be raised later)', async () => {
    const stored = await hashPassword('an older password', CHEAP);
    expect(stored.startsWith('scrypt$1024$8$1$')).toBe(true);
    expect(await verifyPassword('an older password', stored)).toBe(true);
  });

  it('takes passwords as typed: spaces count, Unicode forms are the same password', async () => {
    const stored = await hashPassword(' pädagogik ', CHEAP);
    expect(await verifyPassword('pädagogik', stored)).toBe(false);
    // NFC and NFD spellings of ä are one password.
    expect(await verifyPassword(' pa\u0308dagogik ', stored)).toBe(true);
  });

  it('answers false for an unknown user (a dummy hash is verified instead) and never matches it', async () => {
    expect(await verifyPassword('anything at all', undefined)).toBe(false);
    expect(await verifyPassword('', undefined)).toBe(false);
  });

  it('refuses stored hashes it did not write or that ask for too much memory', async () => {
    for (const bad of [
      'plain text',
      '$2b$10$abcdefghijklmnopqrstuv',
      'scrypt$1000$8$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==',
      'scrypt$2097152$8$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==',
      'scrypt$1024$64$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==',
      'scrypt$1024$8$1$!!$aGFzaGhhc2hoYXNoaGFzaA==',
    ]) {
      expect(parsePasswordHash(bad), bad).toBeUndefined();
      expect(await verifyPassword('plain text', bad), bad).toBe(false);
    }
  });
});
