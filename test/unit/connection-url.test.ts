import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { tenantClientConfig } from '../../src/pg/connection-settings.js';
import { connectionUrlProblem, databaseOf, parseConnectionUrl, withDatabase, withServer } from '../../src/connection-url.js';
import { redactUrl } from '../../src/redact.js';
import { resolveConnections } from '../../src/runtime/runtime.js';

const SOCKET = 'postgres://app:s3cret@/metapus_meta?host=/var/run/postgresql';
const SOCKET_NO_AUTHORITY = 'postgres:///metapus_meta?host=/var/run/postgresql&port=5433';

describe('connection URLs', () => {
  it('reads Unix-socket URLs the way pg does', () => {
    expect(parseConnectionUrl(SOCKET)).toEqual({
      user: 'app',
      password: 's3cret',
      host: '/var/run/postgresql',
      port: 5432,
      database: 'metapus_meta',
      sslMode: undefined,
    });
    expect(parseConnectionUrl(SOCKET_NO_AUTHORITY)).toMatchObject({
      user: undefined,
      host: '/var/run/postgresql',
      port: 5433,
      database: 'metapus_meta',
    });
    expect(parseConnectionUrl('postgres://%2Ftmp%2Fpg/x').host).toBe('/tmp/pg');
  });

  it('decodes credentials and database names and maps sslmode', () => {
    expect(parseConnectionUrl('postgresql://u:p%40ss@db.internal:6432/d%20b?sslmode=verify-ca')).toEqual({
      user: 'u',
      password: 'p@ss',
      host: 'db.internal',
      port: 6432,
      database: 'd b',
      sslMode: 'verify-full',
    });
    expect(parseConnectionUrl('postgres://[::1]:5432/x').host).toBe('::1');
  });

  it.each([
    ['mysql://root@db/x', 'not a postgres:// URL'],
    ['db.internal:5432', 'not a postgres:// URL'],
    ['postgres:///x', 'no host'],
    ['postgres://db/x?sslmode=sometimes', 'unknown sslmode'],
    ['postgres://db:99999/x', 'not a valid connection URL'],
  ])('refuses %s', (url, reason) => expect(connectionUrlProblem(url)).toContain(reason));

  it('switches the database and keeps the socket folder and parameters', () => {
    expect(withDatabase(SOCKET, 'postgres')).toBe('postgres://app:s3cret@/postgres?host=/var/run/postgresql');
    expect(withDatabase(SOCKET_NO_AUTHORITY, 'a b')).toBe('postgres:///a%20b?host=/var/run/postgresql&port=5433');
    expect(withDatabase('postgres://u@h:1/old?sslmode=require', 'new')).toBe('postgres://u@h:1/new?sslmode=require');
    expect(databaseOf(withDatabase(SOCKET, 'x_meta'))).toBe('x_meta');
    expect(databaseOf('postgres://h')).toBe('postgres');
  });

  it('points a URL at another server, by address or socket folder', () => {
    expect(parseConnectionUrl(withServer(SOCKET, 'db2.internal', 6543))).toMatchObject({
      host: 'db2.internal',
      port: 6543,
      user: 'app',
      password: 's3cret',
      database: 'metapus_meta',
    });
    expect(parseConnectionUrl(withServer('postgres://u:p@db1:5432/postgres?sslmode=require', '/tmp/s', 5439))).toMatchObject({
      host: '/tmp/s',
      port: 5439,
      user: 'u',
      sslMode: 'require',
    });
  });

  it('redacts passwords in socket URLs, in the user part and in parameters', () => {
    expect(redactUrl(SOCKET)).toBe('postgres://app:***@/metapus_meta?host=/var/run/postgresql');
    expect(redactUrl('postgres:///m?host=/s&password=hunter2&user=u')).toBe('postgres:///m?host=/s&password=***&user=u');
  });

  it('accepts socket URLs in the configuration', () => {
    const config = parseConfig({ META_DATABASE_URL: SOCKET, POSTGRES_ADMIN_URL: SOCKET_NO_AUTHORITY });
    expect(config.metaDatabaseUrl).toBe(SOCKET);
    expect(config.adminDatabaseUrl).toBe(SOCKET_NO_AUTHORITY);
  });

  it('gives tenant connections the socket folder and the sslmode of the URL', async () => {
    const { connections } = await resolveConnections(parseConfig({ META_DATABASE_URL: SOCKET }));
    expect(connections.adminUrl).toBe('postgres://app:s3cret@/postgres?host=/var/run/postgresql');
    expect(connections.tenant).toMatchObject({ user: 'app', password: 's3cret', host: '/var/run/postgresql', port: 5432 });

    const tls = await resolveConnections(parseConfig({ META_DATABASE_URL: 'postgres://app:pw@localhost/meta?sslmode=require' }));
    expect(tls.connections.tenant.sslMode).toBe('require');
    const tenant = { dbName: 'mt_x', dbHost: 'localhost', dbPort: 5432 };
    expect(tenantClientConfig(tenant, tls.connections.tenant).ssl).toEqual({ rejectUnauthorized: false });

    const explicit = await resolveConnections(
      parseConfig({ META_DATABASE_URL: 'postgres://app:pw@db/meta?sslmode=require', TENANT_DB_SSLMODE: 'verify-full' }),
    );
    expect(explicit.connections.tenant.sslMode).toBe('verify-full');
  });
});
