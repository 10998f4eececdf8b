/**
 * The tenant's side on the target server of a move or clone: its roles (the
 * NOLOGIN owner; in isolated mode its app login with the password it already
 * has, as a SCRAM verifier) and an empty-of-data database at the tenant's
 * exact schema version, granted as a created tenant is. The database comes
 * from the target's template when the tenant is at the latest schema and
 * the template is current, else by the migrations up to that version.
 */
import type pg from 'pg';
import { MoveError, ProvisionError } from '../errors.js';
import { adminUrlFor, withOwnerConnection, type AdminAccess } from '../pg/admin-connection.js';
import { ident } from '../pg/identifiers.js';
import { withConnection } from '../pg/with-helpers.js';
import { migrateDatabase } from '../schema/database-migrator.js';
import { latestVersion, type MigrationFile } from '../schema/migration-files.js';
import { TENANT_STORAGE_TABLE } from '../migrate/tenant-migrator.js';
import { scramSha256Verifier } from '../secrets/scram-verifier.js';
import { createDatabase, databaseExists, revokePublic } from './database-admin.js';
import type { TemplateDatabase } from './template-database.js';
import { grantTenantAccess } from './tenant-grants.js';
import { createAppRole, ensureOwnerRole, roleExists } from './tenant-roles.js';

export interface TargetServer {
  name: string;
  host: string;
  port: number;
}

export interface TargetContext {
  admin: AdminAccess;
  template: TemplateDatabase;
  files: readonly MigrationFile[];
  /** The shared login (shared mode): it must exist on the target. */
  sharedRole: string;
}

export interface TargetRoles {
  owner: string;
  /** The tenant's own login (isolated mode) and its password; null: the shared role serves it. */
  app: { role: string; password: string } | null;
}

/**
 * Owner role (made unless there: a database this tenant left behind on that
 * server may still be owned by it) and the app login with the tenant's
 * current password; in shared mode the shared login must already exist.
 */
export async function prepareTargetRoles(ctx: TargetContext, admin: pg.ClientBase, roles: TargetRoles): Promise<void> {
  await ensureOwnerRole(admin, roles.owner);
  if (!roles.app) {
    if (!(await roleExists(admin, ctx.sharedRole))) {
      throw new MoveError(`the shared tenant login "${ctx.sharedRole}" does not exist on the target server`, {
        hint: 'create it there first (as on the first server), or give the tenant its own login with `tenant credentials isolate`',
      });
    }
    return;
  }
  const verifier = scramSha256Verifier(roles.app.password);
  if (await roleExists(admin, roles.app.role)) {
    await admin.query(`ALTER ROLE ${ident(roles.app.role, 'app role name')} LOGIN PASSWORD ${admin.escapeLiteral(verifier)}`);
  } else {
    await createAppRole(admin, roles.app.role, verifier);
  }
}

export interface TargetDatabase {
  dbName: string;
  owner: string;
  /** The login granted CONNECT and DML (the app role, or the shared role). */
  app: string;
  schemaVersion: string | null;
}

/** Refuses a database already there under the tenant's name: it belongs to no move of ours, and a rollback must not drop it. */
export async function assertTargetFree(admin: pg.ClientBase, server: TargetServer, dbName: string): Promise<void> {
  if (await databaseExists(admin, dbName)) {
    throw new MoveError(`database "${dbName}" already exists on server "${server.name}"`, {
      hint: 'inspect it, then drop it or run `tenant repair --drop-orphans`',
    });
  }
}

/** Creates and grants the target database (assertTargetFree first). */
export async function buildTargetDatabase(
  ctx: TargetContext,
  admin: pg.ClientBase,
  server: TargetServer,
  db: TargetDatabase,
): Promise<'template' | 'migrations'> {
  const via = await createTargetDatabase(ctx, admin, server, db);
  const address = { dbName: db.dbName, dbHost: server.host, dbPort: server.port };
  await withOwnerConnection(ctx.admin, address, db.owner, (client) =>
    grantTenantAccess(client, { dbName: db.dbName, owner: db.owner, app: db.app, storageTable: TENANT_STORAGE_TABLE }),
  );
  return via;
}

async function createTargetDatabase(
  ctx: TargetContext,
  admin: pg.ClientBase,
  server: TargetServer,
  db: TargetDatabase,
): Promise<'template' | 'migrations'> {
  if (db.schemaVersion !== null && db.schemaVersion === latestVersion(ctx.files)) {
    const cloned = await ctx.template.cloneInto(admin, server, db.dbName, db.owner, ctx.files);
    if (cloned.cloned) {
      await revokePublic(admin, db.dbName);
      return 'template';
    }
  }
  await createDatabase(admin, db.dbName, { owner: db.owner });
  await revokePublic(admin, db.dbName);
  // PostgreSQL 14 gives `public` to the bootstrap superuser; 15+ to the database owner: make it the owner's either way.
  await withConnection({ application_name: 'metapus-tenant-admin', connectionString: adminUrlFor(ctx.admin, server, db.dbName) }, (client) =>
    client.query(`ALTER SCHEMA public OWNER TO ${ident(db.owner, 'owner role name')}`),
  );
  if (db.schemaVersion === null) return 'migrations';
  const address = { dbName: db.dbName, dbHost: server.host, dbPort: server.port };
  const outcome = await withOwnerConnection(ctx.admin, address, db.owner, (client) =>
    migrateDatabase(client, ctx.files, { storageTable: TENANT_STORAGE_TABLE, to: db.schemaVersion as string }),
  );
  if (outcome.error) throw new ProvisionError(`migrating the target database failed: ${outcome.error.message}`, { cause: outcome.error });
  if (outcome.to !== db.schemaVersion) {
    throw new MoveError(`the target database reached ${outcome.to ?? '(none)'}, not the tenant's schema ${db.schemaVersion}`);
  }
  return 'migrations';
}
