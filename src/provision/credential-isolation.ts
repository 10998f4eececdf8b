/**
 * `tenant credentials isolate`: converts tenants served by the shared role
 * to their own roles, online. Two kinds are converted:
 *   - shared-mode tenants (owner role already, app role null): the shared
 *     role has DML grants on a database owned by the tenant's owner;
 *   - legacy tenants (owner role null): the database and everything in it
 *     belong to the shared role.
 *
 * Per tenant, resumable at every step (a rerun picks up where a killed one
 * stopped, and a converted tenant is reported `already-isolated`):
 *   1. the owner role (NOLOGIN) and the app role, the app role's password
 *      sealed in the meta database before the role gets it;
 *   2. in the tenant database, in one transaction under its migration lock:
 *      every object of the old owner re-owned one by one (never REASSIGN
 *      OWNED: the shared role owns other tenants' databases, which it would
 *      move too), the database re-owned, the app role AND the roles still
 *      serving the tenant granted DML, so nothing fails meanwhile;
 *   3. the roles recorded in the tenant row, audited and NOTIFYed: servers
 *      re-read the row and move the tenant to a pool of the new login;
 *   4. a grace period for in-flight work on the old pools;
 *   5. the former roles lose every privilege and CONNECT on that database;
 *      their sessions there are ended.
 * Returns one result per tenant; nothing throws for one tenant's failure.
 */
import type pg from 'pg';
import { runWorkQueue } from '../migrate/work-queue.js';
import { serverKey } from '../pg/server-key.js';
import { adminAccess, type ConnectionSettings } from '../pg/connection-settings.js';
import { adminUrlFor, withAdminConnection } from '../pg/admin-connection.js';
import { withConnection, withTransaction } from '../pg/with-helpers.js';
import { advisoryKey, ident } from '../pg/identifiers.js';
import { InvalidStateError, ProvisionError, toToolkitError, type TenantToolkitError } from '../errors.js';
import { DEFAULT_LOCK_LABEL } from '../schema/database-migrator.js';
import { TENANT_STORAGE_TABLE } from '../migrate/tenant-migrator.js';
import { randomPassword } from '../secrets/random-password.js';
import { scramSha256Verifier } from '../secrets/scram-verifier.js';
import type { TenantSecretStore } from '../secrets/tenant-secret-store.js';
import type { Tenant, TenantStatus } from '../tenants/tenant.js';
import type { TenantRegistry } from '../tenants/tenant-registry.js';
import { withTryLock } from './database-admin.js';
import { grantTenantAccessStatements, revokeTenantAccess } from './tenant-grants.js';
import { tenantRoleNames } from './tenant-naming.js';
import { ensureOwnerRole, roleExists } from './tenant-roles.js';

/** What conversion needs; a Runtime has all of it. */
export interface IsolationDeps {
  registry: TenantRegistry;
  connections: ConnectionSettings;
  secrets: TenantSecretStore;
}

export interface IsolateOptions {
  actor: string;
  /** How long servers get to finish in-flight work on the old login before it loses access (default 10 s). */
  graceMs?: number;
  /** Tenants converted at once (default 4). */
  concurrency?: number;
  /** Called with each tenant's result as it is known. */
  onTenant?: (result: TenantIsolationResult) => void;
}

export type IsolationOutcome = 'isolated' | 'already-isolated' | 'failed';

export interface TenantIsolationResult {
  tenant: Tenant;
  outcome: IsolationOutcome;
  ownerRole?: string;
  appRole?: string;
  /** Objects whose owner was changed (legacy tenants). */
  reowned: number;
  /** Roles that served the tenant before and lost their access to its database. */
  revokedFrom: string[];
  durationMs: number;
  error?: TenantToolkitError;
}

export const DEFAULT_ISOLATION_GRACE_MS = 10_000;
const DEFAULT_CONCURRENCY = 4;
/** Statuses credentials commands act on (`--all`): tenants that exist and are not being created. */
export const CONVERTIBLE: readonly TenantStatus[] = ['active', 'suspended', 'migration_failed'];
export const ISOLATED_ACTION = 'credentials.isolated';

export async function isolateTenants(
  deps: IsolationDeps,
  refs: readonly string[] | 'all',
  options: IsolateOptions,
): Promise<TenantIsolationResult[]> {
  // Without the key no password could be kept: refused (exit 2) before anything is made.
  deps.secrets.keyring.current();
  const targets: (Tenant | { ref: string; error: TenantToolkitError })[] =
    refs === 'all'
      ? await deps.registry.list({ status: [...CONVERTIBLE] })
      : await Promise.all(refs.map((ref) => deps.registry.resolve(ref).catch((err: unknown) => ({ ref, error: toToolkitError(err) }))));
  // An unknown tenant is refused before anything is started for anyone.
  const unknown = targets.find((t): t is { ref: string; error: TenantToolkitError } => 'error' in t);
  if (unknown) throw unknown.error;
  const tenants = targets as Tenant[];
  const results: TenantIsolationResult[] = new Array<TenantIsolationResult>(tenants.length);
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  // The same bounded queue as fleet runs and rotation: in order, at most `concurrency` at once, per server too.
  await runWorkQueue(
    tenants.map((tenant, index) => ({ tenant, index })),
    { concurrency, perKey: concurrency, keyOf: ({ tenant }) => serverKey(tenant.dbHost, tenant.dbPort) },
    async ({ tenant, index }) => {
      const result = await isolateOne(deps, tenant, options);
      results[index] = result;
      try {
        options.onTenant?.(result);
      } catch {
        // A faulty listener must not stop the conversion.
      }
    },
  );
  return results;
}

async function isolateOne(deps: IsolationDeps, tenant: Tenant, options: IsolateOptions): Promise<TenantIsolationResult> {
  const started = performance.now();
  const base = { tenant, reowned: 0, revokedFrom: [] as string[] };
  try {
    if (!CONVERTIBLE.includes(tenant.status)) {
      throw new InvalidStateError(`tenant "${tenant.slug}" is ${tenant.status}; only ${CONVERTIBLE.join(', ')} tenants are converted`);
    }
    const server = { host: tenant.dbHost, port: tenant.dbPort };
    const done = await withAdminConnection(adminAccess(deps.connections), server, async (admin) => {
      const locked = await withTryLock(admin, advisoryKey(`metapus-tenant:isolate:${tenant.id}`), () => convert(deps, admin, tenant, options));
      if (!locked.locked) throw new ProvisionError(`tenant "${tenant.slug}" is being converted by another run`);
      return locked.value;
    });
    return { ...base, ...done, durationMs: performance.now() - started };
  } catch (err) {
    return { ...base, outcome: 'failed', error: toToolkitError(err), durationMs: performance.now() - started };
  }
}

type Converted = Pick<TenantIsolationResult, 'tenant' | 'outcome' | 'ownerRole' | 'appRole' | 'reowned' | 'revokedFrom'>;

async function convert(deps: IsolationDeps, admin: pg.ClientBase, before: Tenant, options: IsolateOptions): Promise<Converted> {
  // Re-read under the lock: another run may have finished it meanwhile.
  const tenant = await deps.registry.resolve(before.id);
  const names = tenantRoleNames(tenant.dbName);
  const owner = tenant.ownerRole ?? names.owner;
  const app = tenant.appRole ?? names.app;
  const state = await databaseState(admin, tenant.dbName, owner, app);
  if (tenant.ownerRole && tenant.appRole && state.dbOwner === owner && state.formerRoles.length === 0) {
    return { tenant, outcome: 'already-isolated', ownerRole: owner, appRole: app, reowned: 0, revokedFrom: [] };
  }

  // 1. The roles (an earlier, killed run may have made them).
  await ensureOwnerRole(admin, owner);
  await ensureAppRole(deps.secrets, admin, tenant, app);

  // 2. Inside the tenant database: re-own, grant the new app role and keep the old login working.
  const inDb = {
    application_name: 'metapus-tenant-admin',
    connectionString: adminUrlFor(adminAccess(deps.connections), { host: tenant.dbHost, port: tenant.dbPort }, tenant.dbName),
  };
  let reowned = 0;
  if (!tenant.ownerRole || !tenant.appRole || state.dbOwner !== owner) {
    reowned = await withConnection(inDb, (client) => reownAndGrant(client, tenant.dbName, state.dbOwner, owner, [app, ...state.formerRoles]));
  }

  // 3. Recorded, audited, NOTIFYed: servers move the tenant to its own login.
  const recorded =
    tenant.ownerRole === owner && tenant.appRole === app
      ? tenant
      : await deps.registry.recordRoles(tenant.id, { ownerRole: owner, appRole: app }, options.actor, ISOLATED_ACTION, {
          formerRoles: state.formerRoles,
          reowned,
        });

  // 4. In-flight work on the old pools ends.
  const grace = options.graceMs ?? DEFAULT_ISOLATION_GRACE_MS;
  if (grace > 0 && state.formerRoles.length > 0) await new Promise((resolve) => setTimeout(resolve, grace));

  // 5. The former logins lose the database.
  const revokeFrom = state.formerRoles;
  if (revokeFrom.length > 0) {
    await withConnection(inDb, async (client) => {
      await client.query(`SET ROLE ${ident(owner, 'owner role name')}`);
      for (const role of revokeFrom) await revokeTenantAccess(client, { dbName: tenant.dbName, owner, role });
    });
    await admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND usename = ANY($2) AND pid <> pg_backend_pid()`,
      [tenant.dbName, revokeFrom],
    );
  }
  return { tenant: recorded, outcome: 'isolated', ownerRole: owner, appRole: app, reowned, revokedFrom: revokeFrom };
}

interface DatabaseState {
  dbOwner: string;
  /** Roles other than the new owner and app role, the admin and superusers that may connect, plus a legacy owner: the logins that served it. */
  formerRoles: string[];
}

async function databaseState(admin: pg.ClientBase, dbName: string, owner: string, app: string): Promise<DatabaseState> {
  const { rows } = await admin.query<{ owner: string; grantees: string[] | null }>(
    `SELECT pg_get_userbyid(d.datdba)::text AS owner,
            (SELECT array_agg(DISTINCT pg_get_userbyid(a.grantee)::text) FROM aclexplode(d.datacl) a
              WHERE a.privilege_type = 'CONNECT' AND a.grantee <> 0) AS grantees
     FROM pg_database d WHERE d.datname = $1`,
    [dbName],
  );
  const row = rows[0];
  if (!row) throw new ProvisionError(`the database "${dbName}" of this tenant does not exist`);
  const me = (await admin.query<{ u: string }>('SELECT current_user AS u')).rows[0]?.u;
  const candidates = [...new Set([...(row.grantees ?? []), row.owner])].filter((r) => r !== owner && r !== app && r !== me);
  const { rows: supers } = await admin.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE rolsuper AND rolname = ANY($1)', [
    candidates,
  ]);
  const superusers = new Set(supers.map((r) => r.rolname));
  return { dbOwner: row.owner, formerRoles: candidates.filter((r) => !superusers.has(r)).sort() };
}

/**
 * The app login with the password on record: a secret saved by an earlier
 * run for this role is reused (and set again: the run may have died before
 * the role got it); otherwise a new one is sealed first, then set.
 */
async function ensureAppRole(secrets: TenantSecretStore, admin: pg.ClientBase, tenant: Tenant, app: string): Promise<void> {
  const saved = await secrets.read(tenant.id);
  let password = saved?.role === app ? saved.current : undefined;
  if (!password) {
    password = randomPassword();
    await secrets.save(tenant.id, app, password);
  }
  const verifier = admin.escapeLiteral(scramSha256Verifier(password));
  if (await roleExists(admin, app)) await admin.query(`ALTER ROLE ${ident(app, 'app role name')} LOGIN PASSWORD ${verifier}`);
  else
    await admin.query(
      `CREATE ROLE ${ident(app, 'app role name')} LOGIN NOINHERIT NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD ${verifier}`,
    );
}

/** An object of the old owner: what pg_identify_object says it is, and whether it moves with something else. */
interface OwnedObject {
  type: string;
  identity: string;
}

/** Object kinds re-owned with `ALTER <kind> <identity> OWNER TO`; any other kind of the old owner's is left (e.g. an extension, which has no OWNER TO). */
const ALTERABLE = new Map<string, string>([
  ['schema', 'SCHEMA'],
  ['table', 'TABLE'],
  ['view', 'VIEW'],
  ['materialized view', 'MATERIALIZED VIEW'],
  ['foreign table', 'FOREIGN TABLE'],
  ['sequence', 'SEQUENCE'],
  ['type', 'TYPE'],
  ['composite type', 'TYPE'],
  ['domain', 'DOMAIN'],
  ['function', 'FUNCTION'],
  ['procedure', 'PROCEDURE'],
  ['aggregate', 'AGGREGATE'],
  ['collation', 'COLLATION'],
  ['conversion', 'CONVERSION'],
  ['operator', 'OPERATOR'],
  ['operator class', 'OPERATOR CLASS'],
  ['operator family', 'OPERATOR FAMILY'],
  ['text search configuration', 'TEXT SEARCH CONFIGURATION'],
  ['text search dictionary', 'TEXT SEARCH DICTIONARY'],
  ['statistics object', 'STATISTICS'],
  ['large object', 'LARGE OBJECT'],
  ['server', 'SERVER'],
  ['foreign-data wrapper', 'FOREIGN DATA WRAPPER'],
  ['publication', 'PUBLICATION'],
]);

/**
 * The old owner's objects in this database (pg_shdepend), minus extension
 * members (they belong to the extension) and objects that move with their
 * table (identity/serial sequences; indexes, row types and array types have
 * no owner entry of their own).
 */
async function ownedObjects(client: pg.ClientBase, oldOwner: string): Promise<OwnedObject[]> {
  const { rows } = await client.query<OwnedObject>(
    `SELECT o.type, o.identity FROM pg_shdepend s
       CROSS JOIN LATERAL pg_identify_object(s.classid, s.objid, 0) o
     WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
       AND s.refclassid = 'pg_authid'::regclass AND s.refobjid = (SELECT oid FROM pg_roles WHERE rolname = $1) AND s.deptype = 'o'
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = s.classid AND d.objid = s.objid AND d.deptype = 'e')
       AND NOT (s.classid = 'pg_class'::regclass AND EXISTS (
             SELECT 1 FROM pg_depend d WHERE d.classid = s.classid AND d.objid = s.objid AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')))
       AND NOT (s.classid = 'pg_type'::regclass AND EXISTS (SELECT 1 FROM pg_type t WHERE t.oid = s.objid AND t.typtype = 'm'))
     ORDER BY CASE o.type WHEN 'schema' THEN 0 ELSE 1 END, o.type, o.identity`,
    [oldOwner],
  );
  return rows;
}

/**
 * In one transaction, under the database's migration lock (so no migration
 * runs as the old owner meanwhile): every object of the old owner and the
 * database itself to the new owner, then the grants for the new app role and
 * for the roles still serving the tenant until the switch is done.
 */
async function reownAndGrant(
  client: pg.ClientBase,
  dbName: string,
  oldOwner: string,
  owner: string,
  grantees: readonly string[],
): Promise<number> {
  const lock = advisoryKey(DEFAULT_LOCK_LABEL);
  const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [lock]);
  if (!rows[0]?.ok) throw new ProvisionError(`a migration of database "${dbName}" is running; convert it once it is done`);
  try {
    const to = ident(owner, 'owner role name');
    return await withTransaction(client, async () => {
      let count = 0;
      if (oldOwner !== owner) {
        for (const object of await ownedObjects(client, oldOwner)) {
          const kind = ALTERABLE.get(object.type);
          if (!kind) continue;
          await client.query(`ALTER ${kind} ${object.identity} OWNER TO ${to}`);
          count++;
        }
        await client.query(`ALTER DATABASE ${ident(dbName, 'database name')} OWNER TO ${to}`);
      }
      // `public` belongs to pg_database_owner (15+) or the bootstrap superuser (14): the owner takes it, as in new tenants.
      if ((await client.query("SELECT 1 FROM pg_namespace WHERE nspname = 'public'")).rowCount) {
        await client.query(`ALTER SCHEMA public OWNER TO ${to}`);
      }
      // The grants as the owner (its default privileges included), in the same transaction: all of it or none.
      await client.query(`SET LOCAL ROLE ${to}`);
      for (const app of grantees) await grantTenantAccessStatements(client, { dbName, owner, app, storageTable: TENANT_STORAGE_TABLE });
      return count;
    });
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [lock]).catch(() => undefined);
  }
}
