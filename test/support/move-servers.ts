/**
 * Three PostgreSQL servers for move and clone tests: the suite's own server
 * (registered as `default` by the meta migration), a private embedded
 * cluster (`pg-embedded`) and a private cluster of the system PostgreSQL
 * (`pg-system`, 15 on the dev machine; a second embedded one where there is
 * none). Their admin URLs reach the runtime through
 * TENANT_SERVER_<NAME>_ADMIN_URL (process.env: the runtime's ServerDirectory
 * reads it), and the servers are registered by inserting rows.
 */
import pg from 'pg';
import { moveDepsFor } from '../../src/cli/commands/move.js';
import { parseConfig } from '../../src/config.js';
import type { MoveDeps } from '../../src/provision/move-context.js';
import { openRuntime, type Runtime } from '../../src/runtime/runtime.js';
import { withOwnerConnection } from '../../src/pg/admin-connection.js';
import { adminAccess } from '../../src/pg/connection-settings.js';
import type { Tenant } from '../../src/tenants/tenant.js';
import { canonicalHost } from '../../src/pg/server-key.js';
import { adminUrlVariable } from '../../src/servers/server.js';
import { startPrivateCluster, systemPostgresBinDir, type PrivateCluster } from './private-cluster.js';

export interface MoveServers {
  clusters: Record<'pg-embedded' | 'pg-system', PrivateCluster>;
  /** TENANT_SERVER_*_ADMIN_URL for a CLI or server subprocess (also set in process.env). */
  env: Record<string, string>;
  /** Major version of each private cluster. */
  majors: Record<string, number>;
  register(metaUrl: string): Promise<void>;
  /** The admin URL of a server by name (`default`: the suite's own, given). */
  urlOf(server: string, defaultUrl: string): string;
  dispose(): Promise<void>;
}

export async function startMoveServers(): Promise<MoveServers> {
  const systemBin = await systemPostgresBinDir();
  const [embedded, system] = await Promise.all([
    startPrivateCluster({ binDir: 'embedded' }),
    startPrivateCluster({ binDir: systemBin ?? 'embedded' }),
  ]);
  const clusters = { 'pg-embedded': embedded, 'pg-system': system };
  const env: Record<string, string> = {};
  const majors: Record<string, number> = {};
  for (const [name, cluster] of Object.entries(clusters)) {
    env[adminUrlVariable(name)] = cluster.adminUrl;
    process.env[adminUrlVariable(name)] = cluster.adminUrl;
    const client = new pg.Client({ connectionString: cluster.adminUrl });
    await client.connect();
    const { rows } = await client.query<{ v: string }>("SELECT current_setting('server_version_num') AS v");
    await client.end();
    majors[name] = Math.floor(Number(rows[0]?.v) / 10000);
  }
  return {
    clusters,
    env,
    majors,
    async register(metaUrl) {
      const client = new pg.Client({ connectionString: metaUrl });
      await client.connect();
      try {
        for (const [name, cluster] of Object.entries(clusters)) {
          await client.query('INSERT INTO servers (name, host, port) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [
            name,
            canonicalHost('127.0.0.1'),
            cluster.credentials.port,
          ]);
        }
      } finally {
        await client.end();
      }
    },
    urlOf(server, defaultUrl) {
      return server === 'default' ? defaultUrl : clusters[server as keyof typeof clusters].adminUrl;
    },
    async dispose() {
      for (const name of Object.keys(env)) delete process.env[name];
      await Promise.all([embedded.dispose(), system.dispose()]);
    },
  };
}

/** Runs fn on an admin connection to a server (a private cluster, or the suite's server by URL). */
export async function withAdmin<T>(url: string, fn: (client: pg.Client) => Promise<T>, database?: string): Promise<T> {
  const u = new URL(url);
  if (database) u.pathname = `/${database}`;
  const client = new pg.Client({ connectionString: u.toString() });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** The three servers, a runtime on the suite's server that knows all of them, and what moves need. */
export async function openMoveRuntime(baseEnv: Record<string, string>): Promise<{ servers: MoveServers; rt: Runtime; deps: MoveDeps }> {
  const servers = await startMoveServers();
  const rt = await openRuntime(parseConfig({ ...baseEnv, ...servers.env }));
  await servers.register(rt.connections.metaUrl);
  await rt.servers.refresh();
  return { servers, rt, deps: await moveDepsFor(rt) };
}

/** Runs fn in the tenant's database (wherever its row says it is) as its owner role. */
export function asTenantOwner<T>(rt: Runtime, tenant: Tenant, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  return withOwnerConnection(adminAccess(rt.connections), tenant, tenant.ownerRole as string, fn);
}
