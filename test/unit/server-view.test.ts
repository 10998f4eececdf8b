import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import { sealSecret } from '../../src/secrets/secret-box.js';
import { SecretKeyring } from '../../src/secrets/secret-keyring.js';
import { generateSecretKey } from '../../src/secrets/secret-key.js';
import { resolveServerAdmin } from '../../src/servers/server-admin.js';
import { describeAdmin, type ServerReport } from '../../src/servers/server-registry.js';
import { adminSecretContext, type Server } from '../../src/servers/server.js';
import { adminText, serverReportJson, serverTable } from '../../src/cli/server-view.js';

const PASSWORD = 'n0t-to-be-shown';

describe('server list output', () => {
  const keyring = new SecretKeyring(generateSecretKey());
  const sealed: Server = {
    name: 'eu-2',
    host: 'db-eu-2',
    port: 5432,
    status: 'draining',
    capacity: 10,
    connections: null,
    adminUser: 'admin',
    adminSecret: sealSecret(keyring, PASSWORD, adminSecretContext('eu-2')),
    adminOptions: '',
    createdAt: new Date(0),
    updatedAt: new Date(0),
  };
  const fromEnv: Server = { ...sealed, name: 'eu-3', status: 'active', capacity: null, connections: 40, adminUser: null, adminSecret: null };
  const env = { TENANT_SERVER_EU_3_ADMIN_URL: `postgres://envadmin:${PASSWORD}@db-eu-3:5432/postgres` };
  const reports: ServerReport[] = [sealed, fromEnv].map((server) => ({
    server,
    tenants: 3,
    admin: describeAdmin(resolveServerAdmin(server, { env, defaultAdminUrl: `postgres://root:${PASSWORD}@x:1/postgres`, keyring })),
    probe: { reachable: true, version: '18.1', major: 18, maxConnections: 100 },
  }));

  it('never holds a password, sealed or plain, in --json or the table', () => {
    const json = JSON.stringify(reports.map(serverReportJson));
    const table = serverTable(new Chalk({ level: 0 }), reports, true);
    for (const text of [json, table]) {
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain(sealed.adminSecret as string);
    }
    expect(JSON.parse(json)).toMatchObject([
      {
        name: 'eu-2',
        tenants: 3,
        capacity: 10,
        admin: { source: 'sealed', user: 'admin' },
        adminPasswordSealed: true,
        reachable: true,
        version: '18.1',
      },
      { name: 'eu-3', connections: 40, admin: { source: 'environment', variable: 'TENANT_SERVER_EU_3_ADMIN_URL', user: 'envadmin' } },
    ]);
    expect(table).toContain('3/10');
    expect(table).toContain('3/∞');
    expect(table).toContain('env TENANT_SERVER_EU_3_ADMIN_URL (envadmin)');
  });

  it('says why a login cannot be used', () => {
    expect(adminText(undefined, 'no key')).toBe('unusable: no key');
    expect(adminText({ source: 'pgpass', user: 'admin' })).toBe('~/.pgpass (admin)');
  });
});
