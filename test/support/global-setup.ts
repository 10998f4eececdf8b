/**
 * Starts one real PostgreSQL for the integration suite: the server named by
 * TEST_DATABASE_URL (a superuser URL), or else a throwaway embedded cluster
 * in a temporary folder, on a free port, with durability off for speed.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { parseConnectionUrl } from '../../src/connection-url.js';
import { LocalCluster, type ClusterLease } from '../../src/local/local-cluster.js';

export interface TestServer {
  adminUrl: string;
  appUser: string;
  appPassword: string;
  host: string;
  port: number;
  /** Folder of the server's Unix socket, when the tests can reach one. */
  socketDir: string | null;
  embeddedHome: string | null;
}

declare module 'vitest' {
  export interface ProvidedContext {
    testServer: TestServer;
  }
}

const TEST_APP_ROLE = 'metapus_test_app';

/**
 * Each project that lists this file (integration, faults) gets its own
 * server and tears down its own: the returned function is its teardown.
 */
export async function setup(project: TestProject): Promise<() => Promise<void>> {
  let lease: ClusterLease | undefined;
  let home: string | undefined;
  let server: TestServer;
  if (process.env.TEST_DATABASE_URL) {
    const adminUrl = process.env.TEST_DATABASE_URL;
    const url = parseConnectionUrl(adminUrl);
    const appPassword = 'test-app-password';
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      const exists = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [TEST_APP_ROLE]);
      const verb = exists.rowCount ? 'ALTER' : 'CREATE';
      await client.query(`${verb} ROLE ${TEST_APP_ROLE} LOGIN PASSWORD ${client.escapeLiteral(appPassword)}`);
    } finally {
      await client.end();
    }
    server = {
      adminUrl,
      appUser: TEST_APP_ROLE,
      appPassword,
      host: url.host,
      port: url.port,
      socketDir: url.host.startsWith('/') ? url.host : (process.env.TEST_DATABASE_SOCKET_DIR ?? null),
      embeddedHome: null,
    };
  } else {
    // /tmp is reachable by the `postgres` OS user the server runs as under root.
    home = await fs.mkdtemp(path.join(os.tmpdir(), 'metapus-test-'));
    await fs.chmod(home, 0o755);
    const cluster = new LocalCluster({
      home,
      port: 0,
      settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', max_connections: '400' },
    });
    lease = await cluster.acquire();
    const c = lease.credentials;
    server = {
      adminUrl: lease.adminUrl,
      appUser: c.appUser,
      appPassword: c.appPassword,
      host: '127.0.0.1',
      port: c.port,
      // The embedded cluster also listens on a socket in its run/ folder.
      socketDir: path.join(home, 'run'),
      embeddedHome: home,
    };
  }
  project.provide('testServer', server);
  return async () => {
    await lease?.release();
    if (home) await fs.rm(home, { recursive: true, force: true });
  };
}
