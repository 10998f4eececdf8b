/**
 * The keys this process holds: the current one (seals new secrets) and any
 * previous ones (still open secrets sealed before a `tenant secrets rekey`).
 * Without a current key nothing can be sealed or opened: the error says which
 * variable is missing and what it protects.
 */
import { SecretKeyError } from '../errors.js';
import type { SecretKey } from './secret-key.js';

export const KEY_VARIABLES = 'TENANT_SECRET_KEY (or TENANT_SECRET_KEY_FILE)';

export class SecretKeyring {
  private readonly byId = new Map<string, SecretKey>();

  constructor(
    private readonly currentKey: SecretKey | undefined,
    previous: readonly SecretKey[] = [],
    /** Where the current key came from, for messages (e.g. "TENANT_SECRET_KEY_FILE (/etc/metapus/key)"). */
    readonly source = 'TENANT_SECRET_KEY',
  ) {
    for (const key of previous) this.byId.set(key.id, key);
    if (currentKey) this.byId.set(currentKey.id, currentKey);
  }

  get available(): boolean {
    return this.currentKey !== undefined;
  }

  /** The key new secrets are sealed with. */
  current(): SecretKey {
    if (!this.currentKey) {
      throw new SecretKeyError(`${KEY_VARIABLES} is not set; it seals the tenants' database passwords kept in the meta database`, {
        hint: 'create a key with `tenant secrets new-key --out <file>` and set TENANT_SECRET_KEY_FILE to it (keep it out of the meta database backups)',
      });
    }
    return this.currentKey;
  }

  find(id: string): SecretKey | undefined {
    return this.byId.get(id);
  }

  /** Ids of every key held, the current one first. */
  ids(): string[] {
    const current = this.currentKey?.id;
    return [...(current ? [current] : []), ...[...this.byId.keys()].filter((id) => id !== current)];
  }
}
