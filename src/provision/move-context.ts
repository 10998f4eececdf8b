/**
 * What a move, a clone and their recovery work with: the registry and meta
 * pool, the servers and each one's admin login, the sealed secrets, the
 * migration files and the template. Built from a Runtime and its Provisioner.
 */
import type pg from 'pg';
import { withConnection } from '../pg/with-helpers.js';
import { withTryLock } from './database-admin.js';
import { moveLockKey } from './move-journal.js';
import { parseConnectionUrl } from '../connection-url.js';
import { InvalidStateError, MoveError } from '../errors.js';
import { adminAccess, type ConnectionSettings } from '../pg/connection-settings.js';
import type { AdminAccess } from '../pg/admin-connection.js';
import type { MigrationFile } from '../schema/migration-files.js';
import type { TenantSecretStore } from '../secrets/tenant-secret-store.js';
import type { ServerDirectory } from '../servers/server-directory.js';
import type { Server } from '../servers/server.js';
import type { TenantRegistry } from '../tenants/tenant-registry.js';
import type { Tenant } from '../tenants/tenant.js';
import type { TemplateDatabase } from './template-database.js';
import type { TargetContext } from './move-target.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Provisioner } from './provisioner.js';

export interface MoveDeps {
  registry: TenantRegistry;
  metaPool: pg.Pool;
  secrets: TenantSecretStore | undefined;
  servers: ServerDirectory;
  connections: ConnectionSettings;
  files: readonly MigrationFile[];
  template: TemplateDatabase;
  namePrefix: string;
}

/** MoveDeps from a runtime and its provisioner (the migration files and the template are the provisioner's). */
export async function moveDeps(runtime: Runtime, provisioner: Provisioner): Promise<MoveDeps> {
  return {
    registry: runtime.registry,
    metaPool: runtime.metaPool,
    secrets: runtime.secrets,
    servers: runtime.servers,
    connections: runtime.connections,
    files: await provisioner.migrationFiles(),
    template: provisioner.template,
    namePrefix: runtime.config.tenantDb.namePrefix,
  };
}

export function adminOf(deps: MoveDeps): AdminAccess {
  return adminAccess(deps.connections);
}

export function targetContext(deps: MoveDeps): TargetContext {
  return { admin: adminOf(deps), template: deps.template, files: deps.files, sharedRole: deps.connections.tenant.user };
}

/** Roles no cleanup may drop: the shared tenant login and the admin login. */
export function protectedRoles(deps: MoveDeps): string[] {
  const admin = parseConnectionUrl(deps.connections.adminUrl).user;
  return [deps.connections.tenant.user, ...(admin ? [admin] : [])];
}

/** The logins that connect to a tenant's database: its own app role, or the shared one. */
export function tenantLogins(deps: MoveDeps, tenant: Tenant): string[] {
  return [tenant.appRole ?? deps.connections.tenant.user];
}

/** The server a move or clone writes to: registered (fresh read), active, with room. */
export async function usableTarget(deps: MoveDeps, name: string): Promise<Server> {
  await deps.servers.refresh();
  const server = deps.servers.get(name);
  if (server.status !== 'active') {
    throw new MoveError(`server "${name}" is ${server.status}: it takes no more tenants`, {
      hint: `choose an active server (\`tenant server list\`), or \`tenant server activate ${name}\``,
    });
  }
  // Capacity is placement's rule, checked under its lock when the move starts (startMove) or the clone is registered.
  return server;
}

/** Holds the tenant's move lock on a meta connection of its own for the whole move. */
export async function withMoveLock<T>(deps: MoveDeps, tenant: Tenant, fn: () => Promise<T>): Promise<T> {
  return withConnection({ connectionString: deps.connections.metaUrl, application_name: 'metapus-tenant:move' }, async (client) => {
    const held = await withTryLock(client, moveLockKey(tenant.id), fn);
    if (!held.locked) {
      throw new InvalidStateError(`tenant "${tenant.slug}" is being moved or cloned by another command`, {
        hint: 'wait for it to finish, then run the command again',
      });
    }
    return held.value;
  });
}
