/**
 * The template database: a database at the latest tenant schema that new
 * tenants are cloned from (`CREATE DATABASE ... TEMPLATE`), which is much
 * faster than running every migration. Its comment records a fingerprint of
 * the migration files it was built from, so a stale template is never used.
 * Clones and rebuilds are serialized by an advisory lock, because a clone
 * fails while anyone is connected to the template.
 */
import crypto from 'node:crypto';
import type pg from 'pg';
import type { TenantCredentials } from '../pg/connection-settings.js';
import { tenantClientConfig } from '../pg/connection-settings.js';
import { withConnection } from '../pg/with-helpers.js';
import { advisoryKey, ident } from '../pg/identifiers.js';
import { ProvisionError } from '../errors.js';
import { migrateDatabase } from '../schema/database-migrator.js';
import type { MigrationFile } from '../schema/migration-files.js';
import { TENANT_STORAGE_TABLE } from '../migrate/tenant-migrator.js';
import { createDatabase, dropDatabase, getDatabaseComment, restrictConnect, setDatabaseComment, withAdminLock } from './database-admin.js';

export function templateFingerprint(files: readonly MigrationFile[]): string {
  const hash = crypto.createHash('sha256');
  for (const file of files) hash.update(`${file.name}:${file.checksum}\n`);
  return `metapus-tenant template ${hash.digest('hex')}`;
}

export class TemplateDatabase {
  constructor(
    readonly name: string,
    private readonly credentials: TenantCredentials,
  ) {}

  private lockKey(): string {
    return advisoryKey(`metapus-tenant:template:${this.name}`);
  }

  /** Clones the template into `target` if it is current; false when it is missing or stale. */
  async cloneInto(admin: pg.ClientBase, target: string, files: readonly MigrationFile[]): Promise<boolean> {
    return withAdminLock(admin, this.lockKey(), async () => {
      if ((await getDatabaseComment(admin, this.name)) !== templateFingerprint(files)) return false;
      await createDatabase(admin, target, { owner: this.credentials.user, template: this.name });
      return true;
    });
  }

  /** Builds (or rebuilds) the template at the latest schema. Returns false if it was already current. */
  async rebuild(admin: pg.ClientBase, files: readonly MigrationFile[], options: { force?: boolean } = {}): Promise<boolean> {
    const fingerprint = templateFingerprint(files);
    return withAdminLock(admin, this.lockKey(), async () => {
      if (!options.force && (await getDatabaseComment(admin, this.name)) === fingerprint) return false;
      await dropDatabase(admin, this.name);
      await createDatabase(admin, this.name, { owner: this.credentials.user });
      try {
        await restrictConnect(admin, this.name, this.credentials.user);
        const host = { dbName: this.name, dbHost: this.credentials.host, dbPort: this.credentials.port };
        const outcome = await withConnection(tenantClientConfig(host, this.credentials), (client) =>
          migrateDatabase(client, files, { storageTable: TENANT_STORAGE_TABLE }),
        );
        if (outcome.error) {
          throw new ProvisionError(`building the template database failed: ${outcome.error.message}`, {
            cause: outcome.error,
          });
        }
        await setDatabaseComment(admin, this.name, fingerprint);
        await admin.query(`ALTER DATABASE ${ident(this.name)} WITH IS_TEMPLATE true`);
      } catch (err) {
        await dropDatabase(admin, this.name).catch(() => undefined);
        throw err;
      }
      return true;
    });
  }

  async drop(admin: pg.ClientBase): Promise<void> {
    await withAdminLock(admin, this.lockKey(), () => dropDatabase(admin, this.name));
  }
}
