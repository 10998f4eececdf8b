import type { Tenant } from '../../src/tenants/tenant.js';

/** A tenant record for unit tests that never reach a database. */
export function fakeTenant(overrides: Partial<Tenant> = {}): Tenant {
  const now = new Date();
  return {
    id: '6f1c1f0e-8d2a-4a59-9f3e-2b1f0c9d8e7a',
    slug: 'acme',
    name: 'Acme',
    dbName: 'mt_acme',
    dbHost: '127.0.0.1',
    dbPort: 5432,
    serverName: 'default',
    status: 'active',
    plan: 'standard',
    schemaVersion: null,
    settings: {},
    ownerRole: 'mt_acme_owner',
    appRole: 'mt_acme_app',
    createdAt: now,
    updatedAt: now,
    ...overrides,
  };
}
