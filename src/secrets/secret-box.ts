/**
 * Sealing with AES-256-GCM (node:crypto): `v1:<key id>:<iv>:<ciphertext>:<tag>`,
 * base64url parts, a fresh 96-bit IV each time. The context (tenant id and
 * role) is authenticated data: a sealed secret copied onto another tenant's
 * row does not open. Failures are SecretKeyErrors that say what to do, never
 * a crypto stack trace.
 */
import crypto from 'node:crypto';
import { SecretKeyError } from '../errors.js';
import type { SecretKeyring } from './secret-keyring.js';
import type { SecretKey } from './secret-key.js';

const VERSION = 'v1';
const IV_BYTES = 12;

export function sealSecret(keyring: SecretKeyring, plaintext: string, context: string): string {
  return sealWith(keyring.current(), plaintext, context);
}

export function sealWith(key: SecretKey, plaintext: string, context: string): string {
  const iv = crypto.randomBytes(IV_BYTES);
  const cipher = crypto.createCipheriv('aes-256-gcm', key.bytes, iv);
  cipher.setAAD(additionalData(key.id, context));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [VERSION, key.id, iv, ciphertext, cipher.getAuthTag()].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join(':');
}

/** The id of the key a sealed secret needs. */
export function sealedKeyId(sealed: string): string {
  return parse(sealed).keyId;
}

export function openSecret(keyring: SecretKeyring, sealed: string, context: string, what = 'a stored secret'): string {
  const parts = parse(sealed);
  const key = keyring.find(parts.keyId);
  if (!key) {
    const held = keyring.ids();
    throw new SecretKeyError(
      held.length === 0
        ? `${what} cannot be opened: no secret key is configured (TENANT_SECRET_KEY or TENANT_SECRET_KEY_FILE)`
        : `${what} was sealed with key ${parts.keyId}, which is not configured (this process holds ${held.join(', ')})`,
      { hint: 'set TENANT_SECRET_KEY (or TENANT_SECRET_KEY_FILE) to that key, or list it in TENANT_SECRET_PREVIOUS_KEYS' },
    );
  }
  try {
    const decipher = crypto.createDecipheriv('aes-256-gcm', key.bytes, parts.iv);
    decipher.setAAD(additionalData(key.id, context));
    decipher.setAuthTag(parts.tag);
    return Buffer.concat([decipher.update(parts.ciphertext), decipher.final()]).toString('utf8');
  } catch {
    throw new SecretKeyError(`${what} does not open with key ${key.id}: it was altered, or belongs to another tenant or role`, {
      hint: 'rotate it with `tenant credentials rotate <tenant>`',
    });
  }
}

function additionalData(keyId: string, context: string): Buffer {
  return Buffer.from(`metapus-tenant:${VERSION}:${keyId}:${context}`, 'utf8');
}

interface SealedParts {
  keyId: string;
  iv: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

function parse(sealed: string): SealedParts {
  const parts = sealed.split(':');
  const [version, keyId, iv, ciphertext, tag] = parts;
  if (parts.length !== 5 || version !== VERSION || !/^[0-9a-f]{16}$/.test(keyId ?? '') || !iv || !ciphertext || !tag) {
    throw new SecretKeyError('a stored secret is not in the expected format (v1:<key id>:<iv>:<ciphertext>:<tag>)');
  }
  const decoded = {
    keyId: keyId as string,
    iv: Buffer.from(iv, 'base64url'),
    ciphertext: Buffer.from(ciphertext, 'base64url'),
    tag: Buffer.from(tag, 'base64url'),
  };
  if (decoded.iv.length !== IV_BYTES || decoded.tag.length !== 16) throw new SecretKeyError('a stored secret is not in the expected format');
  return decoded;
}
