/**
 * The server registry over the meta database: add (after proving the
 * server usable), list with tenant counts, drain / activate, set capacity
 * and connection budget, remove. Every change is audited in tenant_audit
 * (tenant NULL, action `server.*`, details naming the server). Admin
 * passwords are only ever stored sealed (server-admin.ts); nothing here
 * returns one.
 */
import type pg from 'pg';
import { ConflictError, InvalidStateError, ServerNotFoundError, UsageError, isUniqueViolation, toToolkitError } from '../errors.js';
import { canonicalHost } from '../pg/server-key.js';
import { withClient, withTransaction } from '../pg/with-helpers.js';
import { parseConnectionUrl } from '../connection-url.js';
import { sealSecret } from '../secrets/secret-box.js';
import { SecretKeyring } from '../secrets/secret-keyring.js';
import { isRoleName, isServerHost, isPort, PORT_RANGE } from '../validators.js';
import { TENANTS_ON_SERVER_SQL } from './server-placement.js';
import { inspectServer, probeServer, type ServerProbe } from './server-probe.js';
import { redact } from '../redact.js';
import { resolveServerAdmin, type AdminSources, type ServerAdmin } from './server-admin.js';
import { adminSecretContext, serverFromRow, validateServerName, type Server, type ServerRow, type ServerStatus } from './server.js';

type Queryable = Pick<pg.ClientBase, 'query'>;

export interface NewServer {
  name: string;
  host: string;
  port: number;
  /** The admin login's user (its password sealed, or from ~/.pgpass); omit when TENANT_SERVER_<NAME>_ADMIN_URL gives it. */
  adminUser?: string;
  /** Sealed with the tenant secret key before it is stored; never stored or returned in plaintext. */
  adminPassword?: string;
  capacity?: number | null;
  connections?: number | null;
}

/** A server with what lives on it. */
export interface ServerUsage {
  server: Server;
  /** Tenants that are not deleted, plus moves and clones under way to it. */
  tenants: number;
}

/** Where a server's admin login comes from, for people: never the password. */
export interface AdminLoginInfo {
  source: ServerAdmin['source'];
  variable?: string;
  user?: string;
}

/** A server's new capacity / connection budget; null: unlimited / derived from max_connections; absent: unchanged. */
export interface ServerSettings {
  capacity?: number | null;
  connections?: number | null;
}

/**
 * Proves a server usable before it is registered (the provisioner's
 * proof: it can create and drop a database and a role there; in shared
 * mode the shared login exists). Throws a typed error when it is not.
 */
export type ServerVerifier = (admin: ServerAdmin, probe: ServerProbe) => Promise<void>;

/** A server as `tenant server list` shows it: what it holds, where its admin login comes from, what it answered. */
export interface ServerReport extends ServerUsage {
  /** Undefined when the login cannot be resolved (e.g. a sealed password without its key: see adminError). */
  admin: AdminLoginInfo | undefined;
  adminError?: string;
  probe: ServerProbe;
}

export interface AddServerResult {
  server: Server;
  probe: ServerProbe;
  admin: AdminLoginInfo;
}

export class ServerRegistry {
  constructor(
    private readonly pool: pg.Pool,
    private readonly sources: AdminSources,
  ) {}

  /** Every server with its tenant count, by name. */
  async list(): Promise<ServerUsage[]> {
    const { rows } = await this.pool.query<ServerRow & { tenants: number }>(
      `SELECT s.*, ${TENANTS_ON_SERVER_SQL} AS tenants FROM servers s ORDER BY s.name`,
    );
    return rows.map((row) => ({ server: serverFromRow(row), tenants: row.tenants }));
  }

  /** Every server with its tenant count, admin login source and what a probe with that login answered (probed at once). */
  async report(): Promise<ServerReport[]> {
    return Promise.all(
      (await this.list()).map(async (usage): Promise<ServerReport> => {
        let admin: ServerAdmin;
        try {
          admin = this.admin(usage.server);
        } catch (err) {
          const error = toToolkitError(err);
          return {
            ...usage,
            admin: undefined,
            adminError: redact(error.message),
            probe: { reachable: false, error: { code: error.code, message: redact(error.message) } },
          };
        }
        return { ...usage, admin: describeAdmin(admin), probe: await probeServer(admin.url) };
      }),
    );
  }

  /** One server by name; throws ServerNotFoundError. */
  async get(name: string): Promise<Server> {
    const { rows } = await this.pool.query<ServerRow>('SELECT * FROM servers WHERE name = $1', [validateServerName(name)]);
    if (!rows[0]) throw new ServerNotFoundError(name);
    return serverFromRow(rows[0]);
  }

  /** The server's admin login (URL with its password: never print it unredacted). */
  admin(server: Server): ServerAdmin {
    return resolveServerAdmin(server, this.sources);
  }

  /**
   * Registers a server after connecting with its admin login and proving
   * it usable (`verify`); nothing is registered when any of that fails.
   */
  async add(input: NewServer, actor: string, verify?: ServerVerifier): Promise<AddServerResult> {
    const candidate = this.validateNew(input);
    await this.refuseTaken(candidate);
    const admin = resolveServerAdmin(candidate, this.sources);
    const probe = await inspectServer(admin.url);
    if (!probe.createDatabase || !probe.createRole) {
      throw new InvalidStateError(`the admin login on server "${candidate.name}" may not create databases and roles there`, {
        hint: `give it the right (as a superuser there: ALTER ROLE <admin> CREATEDB CREATEROLE), or use another login`,
        details: { server: candidate.name, createDatabase: probe.createDatabase, createRole: probe.createRole },
      });
    }
    await verify?.(admin, probe);
    const server = await this.transaction(async (client) => {
      let row: ServerRow | undefined;
      try {
        ({
          rows: [row],
        } = await client.query<ServerRow>(
          `INSERT INTO servers (name, host, port, capacity, connections, admin_user, admin_secret)
           VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
          [
            candidate.name,
            candidate.host,
            candidate.port,
            candidate.capacity,
            candidate.connections,
            candidate.adminUser,
            candidate.adminSecret,
          ],
        ));
      } catch (err) {
        if (isUniqueViolation(err)) throw this.takenError(candidate, err);
        throw err;
      }
      const added = serverFromRow(row as ServerRow);
      await auditServer(client, added.name, 'server.add', actor, {
        host: added.host,
        port: added.port,
        capacity: added.capacity,
        connections: added.connections,
        admin: describeAdmin(admin),
        version: probe.version,
      });
      return added;
    });
    return { server, probe, admin: describeAdmin(admin) };
  }

  /** No new tenants are placed on a draining server; those there stay. */
  drain(name: string, actor: string): Promise<{ server: Server; changed: boolean }> {
    return this.setStatus(name, 'draining', actor);
  }

  activate(name: string, actor: string): Promise<{ server: Server; changed: boolean }> {
    return this.setStatus(name, 'active', actor);
  }

  /** Changes capacity and/or the connection budget. A capacity under today's tenant count only stops placement there. */
  async set(name: string, settings: ServerSettings, actor: string): Promise<{ server: Server; tenants: number }> {
    const valid = validateSettings(settings);
    if (valid.capacity === undefined && valid.connections === undefined) {
      throw new UsageError('nothing to set: give --capacity and/or --connections');
    }
    return this.transaction(async (client) => {
      const before = await lockServer(client, name);
      const { rows } = await client.query<ServerRow & { tenants: number }>(
        `UPDATE servers s SET capacity = CASE WHEN $2 THEN $3::int ELSE capacity END,
                              connections = CASE WHEN $4 THEN $5::int ELSE connections END, updated_at = now()
          WHERE name = $1 RETURNING s.*, ${TENANTS_ON_SERVER_SQL} AS tenants`,
        [before.name, valid.capacity !== undefined, valid.capacity ?? null, valid.connections !== undefined, valid.connections ?? null],
      );
      const row = rows[0] as ServerRow & { tenants: number };
      const server = serverFromRow(row);
      await auditServer(client, server.name, 'server.set', actor, {
        ...(valid.capacity !== undefined ? { capacity: { from: before.capacity, to: server.capacity } } : {}),
        ...(valid.connections !== undefined ? { connections: { from: before.connections, to: server.connections } } : {}),
      });
      return { server, tenants: row.tenants };
    });
  }

  /**
   * Unregisters a server. Refused (InvalidStateError) while a tenant that is
   * not deleted lives there, a move or clone runs to or from it, or a moved
   * tenant's kept database is recorded there. Deleted tenants' rows and
   * finished move journal rows stay (history) with no server name
   * (meta migration 00004); records of moved databases already dropped
   * there go with it.
   */
  async remove(name: string, actor: string): Promise<{ server: Server; deletedTenants: number }> {
    return this.transaction(async (client) => {
      const server = await lockServer(client, name);
      const { rows } = await client.query<{ live: number; moves: number; kept: number; deleted: number }>(
        `SELECT (SELECT count(*) FROM tenants WHERE server_name = $1 AND status <> 'deleted')::int AS live,
                (SELECT count(*) FROM tenant_moves WHERE status = 'running' AND $1 IN (source_server, target_server))::int AS moves,
                (SELECT count(*) FROM moved_databases WHERE server_name = $1 AND dropped_at IS NULL)::int AS kept,
                (SELECT count(*) FROM tenants WHERE server_name = $1 AND status = 'deleted')::int AS deleted`,
        [server.name],
      );
      const held = rows[0] as { live: number; moves: number; kept: number; deleted: number };
      if (held.live > 0 || held.moves > 0 || held.kept > 0) {
        const what = [
          held.live > 0 ? `${held.live} tenant${held.live === 1 ? '' : 's'}` : '',
          held.moves > 0 ? `${held.moves} running move${held.moves === 1 ? '' : 's'} or clone${held.moves === 1 ? '' : 's'}` : '',
          held.kept > 0 ? `${held.kept} kept source database${held.kept === 1 ? '' : 's'} of moved tenants` : '',
        ].filter(Boolean);
        throw new InvalidStateError(`server "${server.name}" still holds ${what.join(', ')}`, {
          hint: `drain it (\`tenant server drain ${server.name}\`), move its tenants away (\`tenant move <tenant> --to <server>\`) or delete them, drop kept databases (\`tenant repair --drop-moved\`), then remove it`,
          details: { server: server.name, ...held },
        });
      }
      await client.query('DELETE FROM moved_databases WHERE server_name = $1 AND dropped_at IS NOT NULL', [server.name]);
      await client.query('DELETE FROM servers WHERE name = $1', [server.name]);
      await auditServer(client, server.name, 'server.remove', actor, {
        host: server.host,
        port: server.port,
        deletedTenants: held.deleted,
      });
      return { server, deletedTenants: held.deleted };
    });
  }

  private async setStatus(name: string, status: ServerStatus, actor: string): Promise<{ server: Server; changed: boolean }> {
    return this.transaction(async (client) => {
      const before = await lockServer(client, name);
      if (before.status === status) return { server: before, changed: false };
      const { rows } = await client.query<ServerRow>('UPDATE servers SET status = $2, updated_at = now() WHERE name = $1 RETURNING *', [
        before.name,
        status,
      ]);
      await auditServer(client, before.name, status === 'draining' ? 'server.drain' : 'server.activate', actor, {
        from: before.status,
        to: status,
      });
      return { server: serverFromRow(rows[0] as ServerRow), changed: true };
    });
  }

  /** The new server as a row would hold it (password sealed); throws UsageError / SecretKeyError. */
  private validateNew(input: NewServer): Server {
    const name = validateServerName(input.name);
    if (!isServerHost(input.host)) throw new UsageError(`host "${input.host}" is not a valid host name or socket folder`);
    if (!isPort(input.port)) throw new UsageError(`port must be ${PORT_RANGE.min}-${PORT_RANGE.max}, got ${input.port}`);
    if (input.adminUser !== undefined && !isRoleName(input.adminUser)) {
      throw new UsageError(`admin user "${input.adminUser}" is not a valid role name`);
    }
    if (input.adminPassword !== undefined && input.adminUser === undefined) {
      throw new UsageError('an admin password needs its user (--admin-user)');
    }
    if (input.adminPassword === '') throw new UsageError('the admin password is empty');
    const settings = validateSettings({ capacity: input.capacity ?? null, connections: input.connections ?? null });
    const now = new Date();
    return {
      name,
      host: canonicalHost(input.host),
      port: input.port,
      status: 'active',
      capacity: settings.capacity ?? null,
      connections: settings.connections ?? null,
      adminUser: input.adminUser ?? null,
      adminSecret:
        input.adminPassword === undefined ? null : sealSecret(requireKeyring(this.sources), input.adminPassword, adminSecretContext(name)),
      adminOptions: '',
      createdAt: now,
      updatedAt: now,
    };
  }

  /** A name or address already registered is refused before anything connects. */
  private async refuseTaken(candidate: Server): Promise<void> {
    const { rows } = await this.pool.query<{ name: string }>('SELECT name FROM servers WHERE name = $1 OR (host = $2 AND port = $3)', [
      candidate.name,
      candidate.host,
      candidate.port,
    ]);
    if (rows[0]) throw this.takenError(candidate);
  }

  private takenError(candidate: Server, cause?: unknown): ConflictError {
    return new ConflictError(`a server named "${candidate.name}" or at ${candidate.host}:${candidate.port} is already registered`, {
      hint: 'run `tenant server list` to see the servers',
      details: { server: candidate.name, host: candidate.host, port: candidate.port },
      ...(cause ? { cause } : {}),
    });
  }

  private transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return withClient(this.pool, (client) => withTransaction(client, () => fn(client)));
  }
}

/** Capacity ≥ 0 and connections ≥ 1, whole numbers; null resets, undefined leaves alone. */
export function validateSettings(settings: ServerSettings): ServerSettings {
  const check = (value: number | null | undefined, what: string, min: number) => {
    if (value !== undefined && value !== null && (!Number.isInteger(value) || value < min || value > 1_000_000)) {
      throw new UsageError(`${what} must be a whole number from ${min} to 1000000, got ${value}`);
    }
  };
  check(settings.capacity, 'capacity', 0);
  check(settings.connections, 'connections', 1);
  return settings;
}

export function describeAdmin(admin: ServerAdmin): AdminLoginInfo {
  const user = parseConnectionUrl(admin.url).user || undefined;
  return { source: admin.source, ...(admin.variable ? { variable: admin.variable } : {}), ...(user ? { user } : {}) };
}

async function lockServer(client: Queryable, name: string): Promise<Server> {
  const { rows } = await client.query<ServerRow>('SELECT * FROM servers WHERE name = $1 FOR UPDATE', [validateServerName(name)]);
  if (!rows[0]) throw new ServerNotFoundError(name);
  return serverFromRow(rows[0]);
}

/** A server change in the audit trail: no tenant, the server named in the details. */
async function auditServer(client: Queryable, server: string, action: string, actor: string, details: Record<string, unknown>): Promise<void> {
  await client.query('INSERT INTO tenant_audit (tenant_id, tenant_slug, action, actor, details) VALUES (NULL, NULL, $1, $2, $3)', [
    action,
    actor,
    { server, ...details },
  ]);
}

/** An empty keyring makes sealSecret report the missing key in its one wording. */
function requireKeyring(sources: AdminSources): SecretKeyring {
  return sources.keyring ?? new SecretKeyring(undefined);
}
