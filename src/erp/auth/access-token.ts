/**
 * Access tokens: HS256 JSON Web Tokens written with node:crypto (no JWT
 * library: the format is three base64url parts and one HMAC). The header is
 * fixed and the algorithm pinned, so a token cannot choose `none` or another
 * algorithm; the signature is compared in constant time before the payload
 * is trusted; `exp` is checked against the clock.
 */
import crypto from 'node:crypto';
import { UnauthenticatedError } from '../../errors.js';
import { isUuid } from '../../tenants/tenant.js';

export interface AccessClaims {
  /** The user id. */
  sub: string;
  /** The tenant id the token was issued for. */
  tid: string;
  /** Issued at, seconds since the epoch. */
  iat: number;
  /** Expires at, seconds since the epoch. */
  exp: number;
  typ: 'access';
}

const HEADER = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
const PART = /^[A-Za-z0-9_-]+$/;
/** Tolerated clock difference for `iat` in the future (another server of the fleet). */
const CLOCK_SKEW_SECONDS = 60;

function base64url(text: string | Buffer): string {
  return Buffer.from(text).toString('base64url');
}

function sign(key: Buffer, input: string): Buffer {
  return crypto.createHmac('sha256', key).update(input).digest();
}

/** A token for `sub` in tenant `tid`, valid `ttlSeconds` from `nowMs`. */
export function signAccessToken(key: Buffer, subject: { sub: string; tid: string }, ttlSeconds: number, nowMs = Date.now()): string {
  const iat = Math.floor(nowMs / 1000);
  const claims: AccessClaims = {
    sub: subject.sub,
    tid: subject.tid,
    iat,
    exp: iat + ttlSeconds,
    typ: 'access',
  };
  return signClaims(key, claims);
}

/** Signs claims as given (tests use it to make expired or odd tokens with the real key). */
export function signClaims(key: Buffer, claims: object): string {
  const body = `${HEADER}.${base64url(JSON.stringify(claims))}`;
  return `${body}.${sign(key, body).toString('base64url')}`;
}

const invalid = () => new UnauthenticatedError('the access token is invalid; log in again');

/** The claims of a genuine, unexpired access token; anything else throws UnauthenticatedError. */
export function verifyAccessToken(key: Buffer, token: string, nowMs = Date.now()): AccessClaims {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((part) => PART.test(part)) || token.length > 4096) throw invalid();
  const [header, payload, signature] = parts as [string, string, string];
  // Pinned: only the exact header we write is accepted (alg HS256, nothing else to interpret).
  const given = Buffer.from(signature, 'base64url');
  const expected = sign(key, `${header}.${payload}`);
  if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) throw invalid();
  if (!headerIsHs256(header)) throw invalid();
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!isAccessClaims(claims)) throw invalid();
  const now = Math.floor(nowMs / 1000);
  if (claims.exp <= now) throw new UnauthenticatedError('the access token has expired; refresh it or log in again');
  if (claims.iat > now + CLOCK_SKEW_SECONDS) throw invalid();
  return claims;
}

function headerIsHs256(header: string): boolean {
  if (header === HEADER) return true;
  try {
    const parsed = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as Record<string, unknown>;
    return (
      parsed.alg === 'HS256' &&
      (parsed.typ === undefined || parsed.typ === 'JWT') &&
      Object.keys(parsed).every((k) => k === 'alg' || k === 'typ')
    );
  } catch {
    return false;
  }
}

function isAccessClaims(value: unknown): value is AccessClaims {
  if (typeof value !== 'object' || value === null) return false;
  const c = value as Record<string, unknown>;
  return (
    c.typ === 'access' &&
    typeof c.sub === 'string' &&
    isUuid(c.sub) &&
    typeof c.tid === 'string' &&
    isUuid(c.tid) &&
    Number.isSafeInteger(c.iat) &&
    Number.isSafeInteger(c.exp)
  );
}
