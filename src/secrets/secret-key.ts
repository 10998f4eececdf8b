/**
 * The key that seals tenant passwords: 32 random bytes, written as base64
 * (TENANT_SECRET_KEY) or kept in a file (TENANT_SECRET_KEY_FILE). It never
 * goes to the meta database; each sealed secret names its key by an id (a
 * hash of the key, which reveals nothing about it).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { SecretKeyError } from '../errors.js';
import { SECRET_KEY_BYTES, decodeSecretKeyText, secretKeyProblem } from '../secret-key-text.js';

export { SECRET_KEY_BYTES } from '../secret-key-text.js';

export interface SecretKey {
  /** 16 hex characters, recorded in every secret sealed with this key. */
  id: string;
  bytes: Buffer;
}

export function secretKeyId(bytes: Buffer): string {
  return crypto.createHash('sha256').update('metapus-tenant secret key id\n').update(bytes).digest('hex').slice(0, 16);
}

/** A key from its base64 text; `source` names where it came from for the error. */
export function parseSecretKey(text: string, source: string): SecretKey {
  const problem = secretKeyProblem(text);
  if (problem) throw new SecretKeyError(`${source} ${problem}`, { hint: 'generate one with `tenant secrets new-key`' });
  const bytes = decodeSecretKeyText(text);
  return { id: secretKeyId(bytes), bytes };
}

export function generateSecretKey(): SecretKey {
  const bytes = crypto.randomBytes(SECRET_KEY_BYTES);
  return { id: secretKeyId(bytes), bytes };
}

export function secretKeyText(key: SecretKey): string {
  return key.bytes.toString('base64');
}

/** Reads a key file (base64 text); a missing or unreadable file is a SecretKeyError naming it. */
export function readSecretKeyFile(file: string, variable = 'TENANT_SECRET_KEY_FILE'): SecretKey {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'does not exist'
        : code === 'EISDIR'
          ? 'is a folder'
          : code === 'EACCES'
            ? 'is not readable'
            : `cannot be read (${code})`;
    throw new SecretKeyError(`${variable} names "${file}", which ${why}`, { hint: 'create it with `tenant secrets new-key --out <file>`' });
  }
  return parseSecretKey(text, `the key in ${variable} ("${file}")`);
}

/**
 * Writes a new key file readable by its owner only (0600), refusing to
 * overwrite: a lost key makes every sealed password unreadable. The file
 * appears whole or not at all (written aside, then hard-linked into place).
 */
export function writeSecretKeyFile(file: string, key: SecretKey = generateSecretKey()): SecretKey {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const aside = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  const fd = fs.openSync(aside, 'wx', 0o600);
  try {
    fs.writeFileSync(fd, `${secretKeyText(key)}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.linkSync(aside, file);
  } finally {
    fs.rmSync(aside, { force: true });
  }
  return key;
}

/** The embedded cluster's key: read it, or create it on first use. Two first runs at once agree on one key. */
export function loadOrCreateSecretKeyFile(file: string): { key: SecretKey; created: boolean } {
  try {
    return { key: writeSecretKeyFile(file), created: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return { key: readSecretKeyFile(file, 'the embedded key file'), created: false };
}
