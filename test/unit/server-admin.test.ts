import { describe, expect, it } from 'vitest';
import { SecretKeyError, UsageError } from '../../src/errors.js';
import { sealSecret } from '../../src/secrets/secret-box.js';
import { SecretKeyring } from '../../src/secrets/secret-keyring.js';
import { generateSecretKey } from '../../src/secrets/secret-key.js';
import { buildAdminUrl, resolveServerAdmin } from '../../src/servers/server-admin.js';
import { adminSecretContext, adminUrlVariable, validateServerName, type Server } from '../../src/servers/server.js';
import { describeAdmin, validateSettings } from '../../src/servers/server-registry.js';

const CONFIGURED = 'postgres://root:configured-pw@10.0.0.1:5432/postgres';

function server(overrides: Partial<Server> = {}): Server {
  return {
    name: 'eu-2',
    host: 'db-eu-2',
    port: 6432,
    status: 'active',
    capacity: null,
    connections: null,
    adminUser: null,
    adminSecret: null,
    adminOptions: '',
    createdAt: new Date(0),
    updatedAt: new Date(0),
    ...overrides,
  };
}

describe('server names', () => {
  it('accepts lower-case names with single dashes and refuses the rest as usage errors', () => {
    expect(validateServerName(' eu-2 ')).toBe('eu-2');
    expect(validateServerName('default')).toBe('default');
    for (const bad of ['a', '2eu', 'eu--2', 'eu-', 'EU-2', 'eu_2', 'eu 2', 'x'.repeat(41), 'a;drop']) {
      expect(() => validateServerName(bad), bad).toThrow(UsageError);
    }
  });

  it('names the admin URL variable after the server', () => {
    expect(adminUrlVariable('eu-2')).toBe('TENANT_SERVER_EU_2_ADMIN_URL');
    expect(adminUrlVariable('default')).toBe('TENANT_SERVER_DEFAULT_ADMIN_URL');
  });
});

describe('where a server admin login comes from', () => {
  const keyring = new SecretKeyring(generateSecretKey());

  it('takes TENANT_SERVER_<NAME>_ADMIN_URL first, whatever the registry holds', () => {
    const sealed = sealSecret(keyring, 'sealed-pw', adminSecretContext('eu-2'));
    const admin = resolveServerAdmin(server({ adminUser: 'admin', adminSecret: sealed }), {
      env: { TENANT_SERVER_EU_2_ADMIN_URL: 'postgres://envuser:env-pw@db-eu-2:6432/postgres' },
      defaultAdminUrl: CONFIGURED,
      keyring,
    });
    expect(admin).toEqual({
      url: 'postgres://envuser:env-pw@db-eu-2:6432/postgres',
      source: 'environment',
      variable: 'TENANT_SERVER_EU_2_ADMIN_URL',
    });
  });

  it('gives the default server the configured admin URL', () => {
    const admin = resolveServerAdmin(server({ name: 'default', host: '10.0.0.1', port: 5432, adminUser: 'x' }), {
      env: {},
      defaultAdminUrl: CONFIGURED,
    });
    expect(admin).toEqual({ url: CONFIGURED, source: 'configured' });
  });

  it('opens a sealed password, and only under its own server name', () => {
    const sealed = sealSecret(keyring, 'p@ss:w/rd', adminSecretContext('eu-2'));
    const admin = resolveServerAdmin(server({ adminUser: 'admin', adminSecret: sealed }), { env: {}, defaultAdminUrl: CONFIGURED, keyring });
    expect(admin.source).toBe('sealed');
    expect(new URL(admin.url).password).toBe(encodeURIComponent('p@ss:w/rd'));
    expect(new URL(admin.url).host).toBe('db-eu-2:6432');
    // The same sealed value on another server's row does not open.
    expect(() =>
      resolveServerAdmin(server({ name: 'eu-3', adminUser: 'admin', adminSecret: sealed }), { env: {}, defaultAdminUrl: CONFIGURED, keyring }),
    ).toThrow(SecretKeyError);
    // Without the key: a SecretKeyError that names the variables.
    expect(() => resolveServerAdmin(server({ adminUser: 'admin', adminSecret: sealed }), { env: {}, defaultAdminUrl: CONFIGURED })).toThrow(
      /TENANT_SECRET_KEY/,
    );
  });

  it('leaves the password to ~/.pgpass when only a user is registered', () => {
    const admin = resolveServerAdmin(server({ adminUser: 'admin' }), { env: {}, defaultAdminUrl: CONFIGURED });
    expect(admin).toEqual({ url: 'postgres://admin@db-eu-2:6432/postgres', source: 'pgpass' });
  });

  it('falls back to the configured credentials on the server address when nothing is registered', () => {
    const admin = resolveServerAdmin(server(), { env: {}, defaultAdminUrl: CONFIGURED });
    expect(admin.source).toBe('configured');
    expect(new URL(admin.url).host).toBe('db-eu-2:6432');
  });

  it('builds socket-folder and IPv6 URLs', () => {
    expect(buildAdminUrl(server({ host: '/var/run/postgresql', port: 5433 }), 'postgres', undefined)).toBe(
      'postgres://postgres@/postgres?host=%2Fvar%2Frun%2Fpostgresql&port=5433',
    );
    expect(buildAdminUrl(server({ host: '::1' }), 'a', 'b')).toBe('postgres://a:b@[::1]:6432/postgres');
  });

  it('describes a login without its password', () => {
    const sealed = sealSecret(keyring, 'top-secret-pw', adminSecretContext('eu-2'));
    const info = describeAdmin(
      resolveServerAdmin(server({ adminUser: 'admin', adminSecret: sealed }), { env: {}, defaultAdminUrl: CONFIGURED, keyring }),
    );
    expect(info).toEqual({ source: 'sealed', user: 'admin' });
    expect(JSON.stringify(info)).not.toContain('top-secret-pw');
  });
});

describe('server settings', () => {
  it('accepts whole numbers in range, null to reset, and refuses the rest', () => {
    expect(validateSettings({ capacity: 0, connections: 1 })).toEqual({ capacity: 0, connections: 1 });
    expect(validateSettings({ capacity: null })).toEqual({ capacity: null });
    for (const bad of [{ capacity: -1 }, { capacity: 1.5 }, { connections: 0 }, { connections: 2_000_000 }]) {
      expect(() => validateSettings(bad)).toThrow(UsageError);
    }
  });
});
