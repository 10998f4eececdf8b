/**
 * The template database: a database at the latest tenant schema that new
 * tenants are cloned from (`CREATE DATABASE ... TEMPLATE`), which is much
 * faster than running every migration.
 *
 * Least privilege: the template is owned by the admin login, its objects by
 * the NOLOGIN template owner role (the build migrates as it), PUBLIC has no
 * CONNECT and, once built, nobody may connect at all (ALLOW_CONNECTIONS
 * false), so no app role can reach it. Its comment records the fingerprint of
 * the migration files AND of the objects and rows in it; each clone is
 * fingerprinted again, so something planted in the template after the build
 * (by a superuser) is caught before a tenant inherits it. A clone is re-owned
 * by the tenant (`REASSIGN OWNED BY <template owner>`, inside the clone; safe
 * because the template owner owns no database) before it is granted.
 *
 * Clones and rebuilds are serialized by an advisory lock. A clone fails while
 * anyone is connected to the template (SQLSTATE 55006): the caller then
 * creates by migrations instead of failing.
 */
import crypto from 'node:crypto';
import type pg from 'pg';
import { adminUrlFor, type AdminAccess } from '../pg/admin-connection.js';
import { withConnection } from '../pg/with-helpers.js';
import { advisoryKey, ident } from '../pg/identifiers.js';
import { ProvisionError, messageOf, sqlStateOf } from '../errors.js';
import { migrateDatabase } from '../schema/database-migrator.js';
import type { MigrationFile } from '../schema/migration-files.js';
import { TENANT_STORAGE_TABLE } from '../migrate/tenant-migrator.js';
import { createDatabase, databaseExists, dropDatabase, getDatabaseComment, setDatabaseComment, withAdminLock } from './database-admin.js';
import { databaseObjectFingerprint } from './template-fingerprint.js';
import { ensureOwnerRole } from './tenant-roles.js';

/** SQLSTATE 55006 object_in_use: `source database "..." is being accessed by other users`. */
const OBJECT_IN_USE = '55006';

const COMMENT_PREFIX = 'metapus-tenant template v2';

/** The fingerprint of the migration files a template is built from. */
export function templateFingerprint(files: readonly MigrationFile[]): string {
  const hash = crypto.createHash('sha256');
  for (const file of files) hash.update(`${file.name}:${file.checksum}\n`);
  return hash.digest('hex');
}

/** What the template's comment says; anything else (an older format, a stale mark) is not a current template. */
export interface TemplateStamp {
  files: string;
  objects: string;
}

export function formatTemplateStamp(stamp: TemplateStamp): string {
  return `${COMMENT_PREFIX} files=${stamp.files} objects=${stamp.objects}`;
}

export function parseTemplateStamp(comment: string | null): TemplateStamp | undefined {
  const match = /^metapus-tenant template v2 files=([0-9a-f]{64}) objects=([0-9a-f]{64})$/.exec(comment ?? '');
  return match ? { files: match[1] as string, objects: match[2] as string } : undefined;
}

export interface TemplateServer {
  host: string;
  port: number;
}

/** Why a create did not clone: missing/stale/planted templates are rebuilt afterwards, a busy one is left alone. */
export type CloneOutcome = { cloned: true } | { cloned: false; reason: 'missing' | 'stale' | 'busy' | 'planted'; warning?: string };

export class TemplateDatabase {
  constructor(
    readonly name: string,
    /** The NOLOGIN role that owns the template's objects. */
    readonly ownerRole: string,
    private readonly adminUrl: AdminAccess,
  ) {}

  private lockKey(): string {
    return advisoryKey(`metapus-tenant:template:${this.name}`);
  }

  /**
   * Clones the template into `target` (owned by `owner`) if it is current,
   * checks the clone's objects against the template's stamp, and re-owns the
   * clone's objects to `owner`. A planted template is marked stale and the
   * clone dropped; a busy one is reported, not thrown.
   */
  async cloneInto(
    admin: pg.ClientBase,
    server: TemplateServer,
    target: string,
    owner: string,
    files: readonly MigrationFile[],
  ): Promise<CloneOutcome> {
    const expectedFiles = templateFingerprint(files);
    const taken = await withAdminLock(
      admin,
      this.lockKey(),
      async (): Promise<CloneOutcome | { cloned: true; stamp: TemplateStamp; comment: string }> => {
        if (!(await databaseExists(admin, this.name))) return { cloned: false, reason: 'missing' };
        const comment = await getDatabaseComment(admin, this.name);
        const stamp = parseTemplateStamp(comment);
        if (!stamp || stamp.files !== expectedFiles) return { cloned: false, reason: 'stale' };
        const busy = (why: string): CloneOutcome => ({
          cloned: false,
          reason: 'busy',
          warning: `the template database ${this.name} is in use by another session (${why}); created by running the migrations instead`,
        });
        // CREATE DATABASE would wait 5 s for those sessions before failing: ask first.
        const sessions = await admin.query(
          "SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend' AND pid <> pg_backend_pid()",
          [this.name],
        );
        if (sessions.rowCount) return busy(`${sessions.rowCount} connection(s) to it`);
        try {
          await createDatabase(admin, target, { owner, template: this.name });
        } catch (err) {
          if (sqlStateOf(err) !== OBJECT_IN_USE) throw err;
          return busy(messageOf(err));
        }
        return { cloned: true, stamp, comment: comment as string };
      },
    );
    if (!taken.cloned || !('stamp' in taken)) return taken;
    const actual = await this.withAdminInto(server, target, (client) => databaseObjectFingerprint(client));
    if (actual !== taken.stamp.objects) {
      await dropDatabase(admin, target);
      await this.markStale(admin, taken.comment, 'its objects no longer match the fingerprint taken when it was built');
      return {
        cloned: false,
        reason: 'planted',
        warning: `the template database ${this.name} was changed after it was built (its objects or rows no longer match its fingerprint); it is rebuilt, and this tenant was created by running the migrations`,
      };
    }
    await this.withAdminInto(server, target, (client) => client.query(`REASSIGN OWNED BY ${ident(this.ownerRole)} TO ${ident(owner)}`));
    return { cloned: true };
  }

  /** Builds (or rebuilds) the template at the latest schema. Returns false if it was already current. */
  async rebuild(
    admin: pg.ClientBase,
    server: TemplateServer,
    files: readonly MigrationFile[],
    options: { force?: boolean } = {},
  ): Promise<boolean> {
    const expectedFiles = templateFingerprint(files);
    return withAdminLock(admin, this.lockKey(), async () => {
      if (!options.force && parseTemplateStamp(await getDatabaseComment(admin, this.name))?.files === expectedFiles) return false;
      await dropDatabase(admin, this.name);
      await ensureOwnerRole(admin, this.ownerRole);
      // Owned by the admin login: the template owner role owns no database, so REASSIGN OWNED in a clone moves nothing else.
      await admin.query(`CREATE DATABASE ${ident(this.name, 'template database')}`);
      try {
        const db = ident(this.name, 'template database');
        const owner = ident(this.ownerRole);
        await admin.query(`REVOKE ALL ON DATABASE ${db} FROM PUBLIC`);
        // The owner role creates schemas and (trusted) extensions while it migrates.
        await admin.query(`GRANT CREATE ON DATABASE ${db} TO ${owner}`);
        await this.withAdminInto(server, this.name, (client) => client.query(`ALTER SCHEMA public OWNER TO ${owner}`));
        const outcome = await this.withAdminInto(server, this.name, async (client) => {
          await client.query(`SET ROLE ${owner}`);
          return migrateDatabase(client, files, { storageTable: TENANT_STORAGE_TABLE });
        });
        if (outcome.error) {
          throw new ProvisionError(`building the template database failed: ${outcome.error.message}`, { cause: outcome.error });
        }
        await admin.query(`REVOKE ALL ON DATABASE ${db} FROM ${owner}`);
        const objects = await this.withAdminInto(server, this.name, (client) => databaseObjectFingerprint(client));
        await setDatabaseComment(admin, this.name, formatTemplateStamp({ files: expectedFiles, objects }));
        await admin.query(`ALTER DATABASE ${db} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`);
      } catch (err) {
        await dropDatabase(admin, this.name).catch(() => undefined);
        throw err;
      }
      return true;
    });
  }

  /** The template is not used again until rebuilt (only if its comment is still the one we read). */
  private async markStale(admin: pg.ClientBase, readComment: string, why: string): Promise<void> {
    await withAdminLock(admin, this.lockKey(), async () => {
      if ((await getDatabaseComment(admin, this.name)) !== readComment) return;
      await setDatabaseComment(admin, this.name, `metapus-tenant template stale: ${why} (${new Date().toISOString()})`);
    });
  }

  async drop(admin: pg.ClientBase): Promise<void> {
    await withAdminLock(admin, this.lockKey(), () => dropDatabase(admin, this.name));
  }

  private withAdminInto<T>(server: TemplateServer, database: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
    return withConnection({ application_name: 'metapus-tenant-admin', connectionString: adminUrlFor(this.adminUrl, server, database) }, fn);
  }
}
