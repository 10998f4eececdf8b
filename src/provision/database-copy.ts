/**
 * One database's rows into another's, as table-copy.ts does it, on the two
 * connections a move or clone needs: the source read as its owner in one
 * snapshot, the target written by the admin login acting as the target's
 * owner (triggers off for the session when the admin may).
 */
import type pg from 'pg';
import { adminUrlFor, withOwnerConnection, type AdminAccess } from '../pg/admin-connection.js';
import type { DatabaseAddress } from '../pg/connection-settings.js';
import { roleIdent } from '../pg/identifiers.js';
import { withConnection } from '../pg/with-helpers.js';
import { TENANT_STORAGE_TABLE } from '../migrate/tenant-migrator.js';
import { beginSnapshot, copyTables, tryReplicaRole, type CopyEvent, type CopyResult } from './table-copy.js';

export interface CopyEnd {
  address: DatabaseAddress;
  owner: string;
}

/** Copies on a source connection the caller already holds (a move keeps its migration lock on it). */
export async function copyFromSession(
  admin: AdminAccess,
  source: pg.ClientBase,
  target: CopyEnd,
  onEvent?: (event: CopyEvent) => void,
): Promise<CopyResult> {
  await beginSnapshot(source);
  try {
    const url = adminUrlFor(admin, { host: target.address.dbHost, port: target.address.dbPort }, target.address.dbName);
    return await withConnection({ application_name: 'metapus-tenant-admin', connectionString: url }, async (client) => {
      await tryReplicaRole(client);
      await client.query(`SET ROLE ${roleIdent(target.owner)}`);
      return copyTables(source, client, { skip: [TENANT_STORAGE_TABLE], ...(onEvent ? { onEvent } : {}) });
    });
  } finally {
    await source.query('ROLLBACK').catch(() => undefined);
  }
}

/** Opens the source as its owner and copies (a clone: the source keeps serving). */
export function copyDatabase(admin: AdminAccess, source: CopyEnd, target: CopyEnd, onEvent?: (event: CopyEvent) => void): Promise<CopyResult> {
  return withOwnerConnection(admin, source.address, source.owner, (client) => copyFromSession(admin, client, target, onEvent));
}
