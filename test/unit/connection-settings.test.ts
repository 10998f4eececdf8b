import { describe, expect, it } from 'vitest';
import { sslFor, tenantClientConfig } from '../../src/pg/connection-settings.js';

describe('sslFor', () => {
  it('defaults to no TLS on loopback hosts and socket folders', () => {
    for (const host of ['localhost', '127.0.0.1', '::1', '[::1]', '/var/run/postgresql']) {
      expect(sslFor(undefined, host)).toBe(false);
    }
  });

  it('defaults to TLS without certificate checks on other hosts', () => {
    expect(sslFor(undefined, 'db.example.com')).toEqual({ rejectUnauthorized: false });
  });

  it('follows an explicit mode on any host', () => {
    expect(sslFor('disable', 'db.example.com')).toBe(false);
    expect(sslFor('prefer', 'localhost')).toEqual({ rejectUnauthorized: false });
    expect(sslFor('require', 'localhost')).toEqual({ rejectUnauthorized: false });
    expect(sslFor('verify-full', 'db.example.com')).toEqual({ rejectUnauthorized: true });
  });
});

describe('tenantClientConfig', () => {
  it('addresses the tenant database with the tenant credentials, password as a field', () => {
    const config = tenantClientConfig(
      { dbName: 'mt_acme', dbHost: 'db.example.com', dbPort: 6432 },
      { user: 'app', password: 's3cret', host: 'ignored', port: 1, sslMode: 'verify-full' },
      { max: 3 },
    );
    expect(config).toEqual({
      host: 'db.example.com',
      port: 6432,
      database: 'mt_acme',
      user: 'app',
      password: 's3cret',
      ssl: { rejectUnauthorized: true },
      application_name: 'metapus-tenant',
      max: 3,
    });
  });

  it('leaves the password out when there is none', () => {
    const config = tenantClientConfig(
      { dbName: 'mt_acme', dbHost: 'localhost', dbPort: 5432 },
      { user: 'app', password: undefined, host: 'localhost', port: 5432, sslMode: undefined },
    );
    expect(config).not.toHaveProperty('password');
    expect(config.ssl).toBe(false);
  });
});
