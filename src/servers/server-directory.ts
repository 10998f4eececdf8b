/**
 * The registered servers as this process last read them, and the admin
 * login for each (server-admin.ts). Admin work on a tenant's database looks
 * its server up by address here (`urlFor`), so every provisioning, migration
 * and credential step uses that server's own admin login.
 *
 * A snapshot: `refresh()` re-reads it (after `tenant server add`, or when an
 * address is not found). On first use, when no server is registered at all
 * (a meta database set up before the registry, by hand), the configured
 * server is registered as `default`.
 */
import type pg from 'pg';
import { ServerNotFoundError } from '../errors.js';
import { sameCredentialsOn, type AdminUrls } from '../pg/admin-connection.js';
import { canonicalHost, serverKey } from '../pg/server-key.js';
import { DEFAULT_SERVER, serverFromRow, type Server, type ServerRow } from './server.js';
import { resolveServerAdmin, type AdminSources, type ServerAdmin } from './server-admin.js';

export class ServerDirectory implements AdminUrls {
  private byName = new Map<string, Server>();
  private byKey = new Map<string, Server>();
  private readonly admins = new Map<string, ServerAdmin>();

  constructor(
    private readonly pool: Pick<pg.Pool, 'query'>,
    private readonly sources: AdminSources,
    /** The configured server (registered as `default` when the registry is empty). */
    private readonly configured: { host: string; port: number },
  ) {}

  /** Reads the registry again; registers the configured server as `default` if none is registered. */
  async refresh(): Promise<this> {
    let { rows } = await this.pool.query<ServerRow>('SELECT * FROM servers ORDER BY name');
    if (rows.length === 0) {
      await this.pool.query(`INSERT INTO servers (name, host, port) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, [
        DEFAULT_SERVER,
        canonicalHost(this.configured.host),
        this.configured.port,
      ]);
      ({ rows } = await this.pool.query<ServerRow>('SELECT * FROM servers ORDER BY name'));
    }
    this.byName = new Map();
    this.byKey = new Map();
    this.admins.clear();
    for (const row of rows) {
      const server = serverFromRow(row);
      this.byName.set(server.name, server);
      this.byKey.set(serverKey(server.host, server.port), server);
    }
    return this;
  }

  /** Where admin logins are resolved from (for a ServerRegistry over the same meta database). */
  get adminSources(): AdminSources {
    return this.sources;
  }

  list(): Server[] {
    return [...this.byName.values()];
  }

  find(name: string): Server | undefined {
    return this.byName.get(name);
  }

  /** The server by name; throws ServerNotFoundError. */
  get(name: string): Server {
    const server = this.byName.get(name);
    if (!server) throw new ServerNotFoundError(name);
    return server;
  }

  /** The registered server at this address (any spelling of it: pg/server-key.ts). */
  at(address: { host: string; port: number }): Server | undefined {
    return this.byKey.get(serverKey(address.host, address.port));
  }

  /** The admin login for a registered server, resolved once per snapshot. */
  admin(server: Server): ServerAdmin {
    let admin = this.admins.get(server.name);
    if (!admin) {
      admin = resolveServerAdmin(server, this.sources);
      this.admins.set(server.name, admin);
    }
    return admin;
  }

  /**
   * AdminUrls: the admin URL for the server at an address. An address no
   * server is registered at keeps the configured admin credentials on it
   * (as before the registry; `tenant server add` registers it properly).
   */
  urlFor(address: { host: string; port: number }): string {
    const server = this.at(address);
    return server ? this.admin(server).url : sameCredentialsOn(this.sources.defaultAdminUrl, address);
  }
}
