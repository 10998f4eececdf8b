import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signAccessToken, signClaims, verifyAccessToken } from '../../src/erp/auth/access-token.js';
import { UnauthenticatedError } from '../../src/errors.js';

const key = crypto.randomBytes(32);
const SUB = '6f1c1f0e-3b7a-4c3e-9d7e-2a9f1f7c0b11';
const TID = '0b0e2c58-8f53-4c59-9a49-5a3c6c1d2e33';
const NOW = Date.UTC(2026, 10, 27, 10, 0, 0);

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function refused(token: string, nowMs = NOW): string {
  try {
    verifyAccessToken(key, token, nowMs);
  } catch (err) {
    expect(err).toBeInstanceOf(UnauthenticatedError);
    return (err as Error).message;
  }
  throw new Error('the token was accepted');
}

describe('access tokens', () => {
  it('signs a three-part HS256 JWT whose claims verify', () => {
    const token = signAccessToken(key, { sub: SUB, tid: TID }, 900, NOW);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    expect(JSON.parse(Buffer.from(header, 'base64url').toString())).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(JSON.parse(Buffer.from(payload, 'base64url').toString())).toEqual({
      sub: SUB,
      tid: TID,
      iat: NOW / 1000,
      exp: NOW / 1000 + 900,
      typ: 'access',
    });
    // The signature is the HMAC-SHA256 of header.payload, as any JWT library computes it.
    expect(signature).toBe(crypto.createHmac('sha256', key).update(`${header}.${payload}`).digest('base64url'));
    expect(verifyAccessToken(key, token, NOW + 899_000)).toMatchObject({ sub: SUB, tid: TID, typ: 'access' });
  });

  it('refuses an expired token, saying so', () => {
    const token = signAccessToken(key, { sub: SUB, tid: TID }, 900, NOW);
    expect(refused(token, NOW + 900_000)).toMatch(/expired/);
    expect(refused(signClaims(key, { sub: SUB, tid: TID, iat: 1, exp: 2, typ: 'access' }))).toMatch(/expired/);
  });

  it('refuses a token signed with another key, or changed after signing', () => {
    const token = signAccessToken(key, { sub: SUB, tid: TID }, 900, NOW);
    expect(refused(signAccessToken(crypto.randomBytes(32), { sub: SUB, tid: TID }, 900, NOW))).toMatch(/invalid/);
    const [header, , signature] = token.split('.') as [string, string, string];
    const otherTenant = b64({ sub: SUB, tid: SUB, iat: NOW / 1000, exp: NOW / 1000 + 900, typ: 'access' });
    expect(refused(`${header}.${otherTenant}.${signature}`)).toMatch(/invalid/);
    const flipped = signature.startsWith('A') ? `B${signature.slice(1)}` : `A${signature.slice(1)}`;
    expect(refused(`${header}.${token.split('.')[1]}.${flipped}`)).toMatch(/invalid/);
  });

  it('pins the algorithm: alg none or another alg is refused even when "signed"', () => {
    const claims = b64({ sub: SUB, tid: TID, iat: NOW / 1000, exp: NOW / 1000 + 900, typ: 'access' });
    expect(refused(`${b64({ alg: 'none', typ: 'JWT' })}.${claims}.`)).toMatch(/invalid/);
    const hs512 = `${b64({ alg: 'HS512', typ: 'JWT' })}.${claims}`;
    expect(refused(`${hs512}.${crypto.createHmac('sha256', key).update(hs512).digest('base64url')}`)).toMatch(/invalid/);
    // The same header written in another key order is still HS256 and accepted.
    const reordered = `${b64({ typ: 'JWT', alg: 'HS256' })}.${claims}`;
    expect(verifyAccessToken(key, `${reordered}.${crypto.createHmac('sha256', key).update(reordered).digest('base64url')}`, NOW).sub).toBe(SUB);
  });

  it('refuses claims that are not an access token of ours', () => {
    const base = { sub: SUB, tid: TID, iat: NOW / 1000, exp: NOW / 1000 + 900, typ: 'access' };
    for (const claims of [
      { ...base, typ: 'refresh' },
      { ...base, sub: 'admin' },
      { ...base, tid: undefined },
      { ...base, exp: '9999999999' },
      { ...base, iat: NOW / 1000 + 3600 },
    ]) {
      expect(refused(signClaims(key, claims)), JSON.stringify(claims)).toMatch(/invalid/);
    }
  });

  it('refuses text that is not a JWT', () => {
    for (const text of ['', 'abc', 'a.b', 'a.b.c.d', 'a.b.c', 'eyJ.eyJ.=', `${'a'.repeat(5000)}.b.c`]) {
      expect(refused(text), text).toMatch(/invalid/);
    }
  });
});
