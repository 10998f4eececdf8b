/**
 * Before a server is registered, `tenant server add` proves that creating a
 * tenant there would work: with the server's own admin login it creates and
 * drops a database (owned by a NOLOGIN role it also creates and drops, as
 * every create does), and in shared mode it checks that the shared login
 * (TENANT_DB_USER) exists there. The probe names carry the tenant prefix, so
 * a proof killed midway leaves what `tenant repair` finds as orphans.
 */
import crypto from 'node:crypto';
import { InvalidStateError } from '../errors.js';
import { withConnection } from '../pg/with-helpers.js';
import type { ServerVerifier } from '../servers/server-registry.js';
import { createDatabase, dropDatabase } from './database-admin.js';
import { createOwnerRole, dropRoles, roleExists } from './tenant-roles.js';

export interface ServerProofOptions {
  /** TENANT_DB_PREFIX: the probe's database and role are named with it. */
  namePrefix: string;
  /** The shared login in shared mode (TENANT_DB_USER); absent in isolated mode. */
  sharedRole?: string;
}

export function serverProof(options: ServerProofOptions): ServerVerifier {
  return (admin) =>
    withConnection({ connectionString: admin.url, application_name: 'metapus-tenant-admin' }, async (client) => {
      if (options.sharedRole !== undefined && !(await roleExists(client, options.sharedRole))) {
        throw new InvalidStateError(`the shared tenant login "${options.sharedRole}" (TENANT_DB_USER) does not exist on this server`, {
          hint: `create it there first (CREATE ROLE "${options.sharedRole}" LOGIN PASSWORD '...', the same password as TENANT_DB_PASSWORD), or use isolated mode (no TENANT_DB_USER: every tenant gets its own login)`,
          details: { role: options.sharedRole },
        });
      }
      const probe = `${options.namePrefix}probe_${crypto.randomBytes(4).toString('hex')}`;
      const owner = `${probe}_owner`;
      try {
        await createOwnerRole(client, owner);
        await createDatabase(client, probe, { owner });
      } finally {
        await dropDatabase(client, probe);
        await dropRoles(client, [owner], []);
      }
    });
}
