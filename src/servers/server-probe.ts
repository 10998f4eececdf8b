/**
 * What a server says about itself through its admin login: reachable or
 * not, its PostgreSQL version, max_connections and what the login may do.
 * `tenant server list` probes every server (a failure is a result, not an
 * error); `tenant server add` probes first and refuses what would not work.
 */
import { toToolkitError } from '../errors.js';
import { withConnection } from '../pg/with-helpers.js';
import { redact } from '../redact.js';

export interface ServerProbe {
  reachable: boolean;
  /** `18.1`, as the server reports server_version (first word). */
  version?: string;
  /** server_version_num / 10000. */
  major?: number;
  maxConnections?: number;
  /** What the admin login may do: create databases, create roles (isolated and shared mode both make owner roles). */
  superuser?: boolean;
  createDatabase?: boolean;
  createRole?: boolean;
  /** Why it is not reachable (code and redacted message). */
  error?: { code: string; message: string };
}

/** The admin login connects with this bound so one dead server does not hold up a whole `server list`. */
export const PROBE_TIMEOUT_MS = 5000;

interface ProbeRow {
  version: string;
  version_num: string;
  max_connections: string;
  rolsuper: boolean;
  rolcreatedb: boolean;
  rolcreaterole: boolean;
}

/** Connects with the admin login and reads what the server says; connection and login failures are thrown (typed by the caller's error report). */
export async function inspectServer(adminUrl: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<ServerProbe> {
  return withConnection(
    { connectionString: adminUrl, application_name: 'metapus-tenant-admin', connectionTimeoutMillis: timeoutMs },
    async (client) => {
      const { rows } = await client.query<ProbeRow>(
        `SELECT current_setting('server_version') AS version, current_setting('server_version_num') AS version_num,
                current_setting('max_connections') AS max_connections, rolsuper, rolcreatedb, rolcreaterole
           FROM pg_roles WHERE rolname = current_user`,
      );
      const row = rows[0] as ProbeRow;
      return {
        reachable: true,
        version: row.version.split(' ')[0] as string,
        major: Math.floor(Number(row.version_num) / 10000),
        maxConnections: Number(row.max_connections),
        superuser: row.rolsuper,
        createDatabase: row.rolsuper || row.rolcreatedb,
        createRole: row.rolsuper || row.rolcreaterole,
      };
    },
  );
}

/** Probes the server behind an admin URL; an unreachable server is a result, not an error. */
export async function probeServer(adminUrl: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<ServerProbe> {
  try {
    return await inspectServer(adminUrl, timeoutMs);
  } catch (err) {
    const error = toToolkitError(err);
    return { reachable: false, error: { code: error.code, message: redact(error.message) } };
  }
}
