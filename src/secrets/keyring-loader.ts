/**
 * Builds the keyring from configuration: TENANT_SECRET_KEY or
 * TENANT_SECRET_KEY_FILE for the current key, TENANT_SECRET_PREVIOUS_KEYS
 * for keys kept to open older secrets. The embedded cluster, when nothing is
 * configured, keeps its own key file in TENANT_HOME (0600), created on first
 * use. A configured server without a key gets a keyring without one: only
 * what needs a secret then fails, naming the variable.
 */
import type { Config } from '../config.js';
import { loadOrCreateSecretKeyFile, parseSecretKey, readSecretKeyFile, type SecretKey } from './secret-key.js';
import { SecretKeyring } from './secret-keyring.js';

export interface KeyringOptions {
  /** Used when no key is configured (the embedded cluster's TENANT_HOME/secret.key). */
  defaultKeyFile?: string;
  onNotice?: (message: string) => void;
}

export function loadKeyring(settings: Config['secrets'], options: KeyringOptions = {}): SecretKeyring {
  const previous = settings.previousKeys.map((text, i) => parseSecretKey(text, `TENANT_SECRET_PREVIOUS_KEYS key ${i + 1}`));
  let current: SecretKey | undefined;
  let source = 'TENANT_SECRET_KEY';
  if (settings.key) {
    current = parseSecretKey(settings.key, 'TENANT_SECRET_KEY');
  } else if (settings.keyFile) {
    current = readSecretKeyFile(settings.keyFile);
    source = `TENANT_SECRET_KEY_FILE (${settings.keyFile})`;
  } else if (options.defaultKeyFile) {
    const loaded = loadOrCreateSecretKeyFile(options.defaultKeyFile);
    if (loaded.created)
      options.onNotice?.(`created the secret key for tenant passwords in ${options.defaultKeyFile}; back it up apart from the database`);
    current = loaded.key;
    source = `the embedded key file (${options.defaultKeyFile})`;
  }
  return new SecretKeyring(current, previous, source);
}
