import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SecretKeyError } from '../../src/errors.js';
import { openSecret, sealSecret, sealedKeyId } from '../../src/secrets/secret-box.js';
import { SecretKeyring } from '../../src/secrets/secret-keyring.js';
import {
  generateSecretKey,
  loadOrCreateSecretKeyFile,
  parseSecretKey,
  readSecretKeyFile,
  secretKeyText,
  writeSecretKeyFile,
} from '../../src/secrets/secret-key.js';
import { loadKeyring } from '../../src/secrets/keyring-loader.js';
import { randomPassword } from '../../src/secrets/random-password.js';
import { scramSha256Verifier } from '../../src/secrets/scram-verifier.js';
import { parseConfig } from '../../src/config.js';

const ring = (key = generateSecretKey(), previous: ReturnType<typeof generateSecretKey>[] = []) => new SecretKeyring(key, previous);

describe('secret box', () => {
  it('seals and opens a secret; the sealed text holds neither the plaintext nor the key', () => {
    const key = generateSecretKey();
    const keyring = ring(key);
    const sealed = sealSecret(keyring, 'p4ssw0rd-plain', 'tenant:a:role:r');
    expect(sealed).toMatch(/^v1:[0-9a-f]{16}:/);
    expect(sealed).not.toContain('p4ssw0rd');
    expect(sealed).not.toContain(secretKeyText(key));
    expect(sealedKeyId(sealed)).toBe(key.id);
    expect(openSecret(keyring, sealed, 'tenant:a:role:r')).toBe('p4ssw0rd-plain');
  });

  it('seals the same plaintext differently every time (fresh IV)', () => {
    const keyring = ring();
    expect(sealSecret(keyring, 'x', 'c')).not.toBe(sealSecret(keyring, 'x', 'c'));
  });

  it('does not open under another context (a secret copied to another tenant or role)', () => {
    const keyring = ring();
    const sealed = sealSecret(keyring, 'secret', 'tenant:a:role:r');
    expect(() => openSecret(keyring, sealed, 'tenant:b:role:r')).toThrow(SecretKeyError);
  });

  it('detects a tampered ciphertext without a crypto stack trace', () => {
    const keyring = ring();
    const parts = sealSecret(keyring, 'secret', 'c').split(':');
    const ct = Buffer.from(parts[3] as string, 'base64url');
    ct[0] = (ct[0] as number) ^ 1;
    parts[3] = ct.toString('base64url');
    const err = (() => {
      try {
        openSecret(keyring, parts.join(':'), 'c');
      } catch (e) {
        return e as SecretKeyError;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(SecretKeyError);
    expect(err?.code).toBe('SECRET_KEY');
    expect(err?.exitCode).toBe(2);
    expect(err?.message).toMatch(/altered/);
  });

  it('names the missing key id when the wrong key is configured, and opens with a previous key', () => {
    const old = generateSecretKey();
    const sealed = sealSecret(ring(old), 'secret', 'c');
    const other = ring(generateSecretKey());
    expect(() => openSecret(other, sealed, 'c')).toThrow(new RegExp(`sealed with key ${old.id}, which is not configured`));
    expect(openSecret(ring(generateSecretKey(), [old]), sealed, 'c')).toBe('secret');
  });

  it('without a key, says which variable is missing and what it protects', () => {
    const none = new SecretKeyring(undefined);
    expect(none.available).toBe(false);
    expect(() => sealSecret(none, 'x', 'c')).toThrow(
      /TENANT_SECRET_KEY \(or TENANT_SECRET_KEY_FILE\) is not set; it seals the tenants' database passwords/,
    );
  });

  it('refuses malformed sealed text', () => {
    expect(() => openSecret(ring(), 'v1:zz', 'c')).toThrow(SecretKeyError);
    expect(() => openSecret(ring(), 'plaintext-password', 'c')).toThrow(/expected format/);
  });
});

describe('secret keys', () => {
  it('parses base64 and base64url keys of 32 bytes and refuses others without echoing them', () => {
    const bytes = crypto.randomBytes(32);
    expect(parseSecretKey(bytes.toString('base64'), 'K').bytes.equals(bytes)).toBe(true);
    expect(parseSecretKey(bytes.toString('base64url'), 'K').bytes.equals(bytes)).toBe(true);
    const short = crypto.randomBytes(16).toString('base64');
    expect(() => parseSecretKey(short, 'TENANT_SECRET_KEY')).toThrow(/must be 32 bytes in base64, got 16 bytes/);
    try {
      parseSecretKey(short, 'TENANT_SECRET_KEY');
    } catch (err) {
      expect((err as Error).message).not.toContain(short);
    }
  });

  it('configuration reports a bad key without the value, and refuses both key variables at once', () => {
    const bad = 'not a key!';
    expect(() => parseConfig({ TENANT_SECRET_KEY: bad })).toThrow(/TENANT_SECRET_KEY must be base64/);
    try {
      parseConfig({ TENANT_SECRET_KEY: bad });
    } catch (err) {
      expect((err as Error).message).not.toContain(bad);
    }
    const key = secretKeyText(generateSecretKey());
    expect(() => parseConfig({ TENANT_SECRET_KEY: key, TENANT_SECRET_KEY_FILE: '/x' })).toThrow(/both set/);
    expect(() => parseConfig({ TENANT_SECRET_PREVIOUS_KEYS: `${key},short` })).toThrow(/TENANT_SECRET_PREVIOUS_KEYS: key 2/);
    expect(parseConfig({ TENANT_SECRET_PREVIOUS_KEYS: `${key}, ${key}` }).secrets.previousKeys).toHaveLength(2);
  });

  it('writes a key file with mode 0600, refuses to overwrite it, and creates the embedded one once', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keys-'));
    try {
      const file = path.join(dir, 'sub', 'secret.key');
      const first = loadOrCreateSecretKeyFile(file);
      expect(first.created).toBe(true);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      const again = loadOrCreateSecretKeyFile(file);
      expect(again.created).toBe(false);
      expect(again.key.id).toBe(first.key.id);
      expect(() => writeSecretKeyFile(file)).toThrow(/EEXIST/);
      expect(readSecretKeyFile(file).id).toBe(first.key.id);
      expect(fs.readdirSync(path.dirname(file))).toEqual(['secret.key']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a missing key file is a SECRET_KEY error naming the variable and the file', () => {
    expect(() => readSecretKeyFile('/nonexistent/metapus.key')).toThrow(
      /TENANT_SECRET_KEY_FILE names "\/nonexistent\/metapus.key", which does not exist/,
    );
    expect(() => loadKeyring({ key: undefined, keyFile: '/nonexistent/k', previousKeys: [] })).toThrow(SecretKeyError);
  });

  it('a keyring without a configured key has none unless a default file is given', () => {
    expect(loadKeyring({ key: undefined, keyFile: undefined, previousKeys: [] }).available).toBe(false);
    const key = generateSecretKey();
    const keyring = loadKeyring({ key: secretKeyText(key), keyFile: undefined, previousKeys: [secretKeyText(generateSecretKey())] });
    expect(keyring.current().id).toBe(key.id);
    expect(keyring.ids()).toHaveLength(2);
  });
});

describe('passwords and SCRAM verifiers', () => {
  it('random passwords are 32 bytes of base64url and differ', () => {
    const a = randomPassword();
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(a, 'base64url')).toHaveLength(32);
    expect(randomPassword()).not.toBe(a);
  });

  it('computes the RFC 7677 verifier (test vector: user "user", password "pencil")', () => {
    // RFC 7677 section 3: salt W22ZaJ0SNY7soEsUEjb6gQ==, 4096 iterations; the
    // server signature there derives from ServerKey, so check StoredKey/ServerKey
    // against values computed independently with the same PBKDF2 parameters.
    const salt = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');
    const verifier = scramSha256Verifier('pencil', { salt, iterations: 4096 });
    const salted = crypto.pbkdf2Sync('pencil', salt, 4096, 32, 'sha256');
    const clientKey = crypto.createHmac('sha256', salted).update('Client Key').digest();
    const storedKey = crypto.createHash('sha256').update(clientKey).digest('base64');
    const serverKey = crypto.createHmac('sha256', salted).update('Server Key').digest('base64');
    expect(verifier).toBe(`SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$${storedKey}:${serverKey}`);
    expect(verifier).not.toContain('pencil');
  });

  it('refuses passwords it cannot hash the way the server would', () => {
    expect(() => scramSha256Verifier('pässword')).toThrow(/printable ASCII/);
  });
});
