/**
 * The access-token key of the reference server: API_TOKEN_KEY (base64 of 32
 * bytes) or API_TOKEN_KEY_FILE. With neither, the embedded cluster keeps its
 * own key beside its data (TENANT_HOME/token.key, 0600, created on first
 * use, so tokens outlive a restart); a configured server without one refuses
 * to start: a key made up at start would log everyone out on each restart
 * and differ between the servers of a fleet. Never the tenant-secret key.
 */
import path from 'node:path';
import type { Config } from '../../config.js';
import { ConfigError } from '../../errors.js';
import { loadOrCreateSecretKeyFile, parseSecretKey, readSecretKeyFile } from '../../secrets/secret-key.js';

export const EMBEDDED_TOKEN_KEY_FILE = 'token.key';

export interface TokenKeyOptions {
  /** TENANT_HOME of the embedded cluster; undefined for a configured server. */
  embeddedHome?: string | undefined;
  onNotice?: (message: string) => void;
}

/** The key's bytes; throws ConfigError (one line naming the variables) or SecretKeyError (a bad key or file). */
export function loadTokenKey(settings: Config['api'], options: TokenKeyOptions = {}): Buffer {
  if (settings.tokenKey) return parseSecretKey(settings.tokenKey, 'API_TOKEN_KEY').bytes;
  if (settings.tokenKeyFile) return readSecretKeyFile(settings.tokenKeyFile, 'API_TOKEN_KEY_FILE').bytes;
  if (options.embeddedHome === undefined) {
    throw new ConfigError([
      'set API_TOKEN_KEY or API_TOKEN_KEY_FILE: the server signs access tokens with it (32 bytes in base64: `tenant secrets new-key`)',
    ]);
  }
  const file = path.join(options.embeddedHome, EMBEDDED_TOKEN_KEY_FILE);
  const loaded = loadOrCreateSecretKeyFile(file);
  if (loaded.created) options.onNotice?.(`created the access-token key in ${file}`);
  return loaded.key.bytes;
}

/** The settings in seconds, as tokens count them. */
export function tokenTtls(settings: Config['api']): { accessTtlSeconds: number; refreshTtlSeconds: number } {
  return {
    accessTtlSeconds: Math.max(1, Math.round(settings.accessTokenTtlMs / 1000)),
    refreshTtlSeconds: Math.max(1, Math.round(settings.refreshTokenTtlMs / 1000)),
  };
}
