/**
 * Password hashes: scrypt from node:crypto (memory-hard, no native addon),
 * stored as `scrypt$<N>$<r>$<p>$<salt b64>$<hash b64>` so the cost can be
 * raised later without breaking old hashes (each hash carries its own).
 * Verification compares in constant time, and a login for an unknown email
 * verifies against a dummy hash so it costs the same as a real one.
 */
import crypto from 'node:crypto';

export interface ScryptParams {
  /** CPU/memory cost, a power of two. */
  N: number;
  r: number;
  p: number;
}

/** N=2^15, r=8, p=1: about 32 MiB and a few tens of milliseconds per hash. */
export const DEFAULT_SCRYPT: Readonly<ScryptParams> = {
  N: 2 ** 15,
  r: 8,
  p: 1,
};

const SALT_BYTES = 16;
const HASH_BYTES = 32;
/** Bounds on what a stored hash may ask for, so a tampered row cannot make a login allocate gigabytes. */
const MAX_N = 2 ** 20;
const MAX_R = 32;
const MAX_P = 16;
const B64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** scrypt needs 128 * N * r bytes; node's default maxmem (32 MiB) is exactly N=2^15 r=8, which it refuses. */
function maxmemFor({ N, r, p }: ScryptParams): number {
  return 128 * N * r * p + 16 * 1024 * 1024;
}

function scrypt(password: string, salt: Buffer, keylen: number, params: ScryptParams): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    crypto.scrypt(password.normalize('NFC'), salt, keylen, { ...params, maxmem: maxmemFor(params) }, (err, key) => {
      if (err) reject(err);
      else resolve(key);
    });
  });
}

export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  const salt = crypto.randomBytes(SALT_BYTES);
  const hash = await scrypt(password, salt, HASH_BYTES, params);
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64'), hash.toString('base64')].join('$');
}

interface ParsedHash {
  params: ScryptParams;
  salt: Buffer;
  hash: Buffer;
}

/** The stored form, or undefined when it is not one we wrote (or asks for too much). */
export function parsePasswordHash(stored: string): ParsedHash | undefined {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [N, r, p] = parts.slice(1, 4).map((part) => (/^\d{1,8}$/.test(part) ? Number(part) : NaN)) as [number, number, number];
  const powerOfTwo = N > 1 && (N & (N - 1)) === 0;
  if (!powerOfTwo || N > MAX_N || !(r >= 1 && r <= MAX_R) || !(p >= 1 && p <= MAX_P)) return undefined;
  const [salt, hash] = parts.slice(4).map((part) => (B64.test(part) ? Buffer.from(part, 'base64') : undefined));
  if (!salt || !hash || salt.length < 8 || hash.length < 16) return undefined;
  return { params: { N, r, p }, salt, hash };
}

let dummy: Promise<string> | undefined;

/**
 * A hash of a random password with the default cost, made once, for logins
 * of unknown users. The token service makes it when it is created, so the
 * first unknown email does not cost a second scrypt run (and stand out).
 */
export function dummyHash(): Promise<string> {
  dummy ??= hashPassword(crypto.randomBytes(16).toString('hex'));
  return dummy;
}

/**
 * true when `password` matches `stored`. With `stored` undefined (no such
 * user) the same work is done against a dummy hash and the answer is false,
 * so response time does not tell which emails exist.
 */
export async function verifyPassword(password: string, stored: string | undefined): Promise<boolean> {
  const parsed = parsePasswordHash(stored ?? (await dummyHash()));
  if (!parsed) {
    // An unreadable stored hash: still spend the time, never match.
    await verifyPassword(password, undefined);
    return false;
  }
  const candidate = await scrypt(password, parsed.salt, parsed.hash.length, parsed.params);
  const same = crypto.timingSafeEqual(candidate, parsed.hash);
  return same && stored !== undefined;
}
