import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Provisioner } from '../../src/provision/provisioner.js';
import type { Runtime } from '../../src/runtime.js';
import { createTestEnvironment } from '../support/test-environment.js';

const env = createTestEnvironment();
let rt: Runtime;
let provisioner: Provisioner;

beforeAll(async () => {
  rt = await env.runtime();
  provisioner = new Provisioner({
    registry: rt.registry,
    connections: rt.connections,
    migrationsDir: rt.config.migrationsDir,
    namePrefix: rt.config.tenantDb.namePrefix,
  });
});
afterAll(() => env.cleanup());

describe('Provisioner.create', () => {
  it('creates an active tenant by migrations, then by template clone', async () => {
    const first = await provisioner.create({ slug: 'acme-corp', name: 'ACME Corp' }, { actor: 'test' });
    expect(first.via).toBe('migrations');
    expect(first.tenant.status).toBe('active');
    expect(first.tenant.dbName).toBe(`${env.prefix}acme_corp`);
    const files = await provisioner.migrationFiles();
    expect(first.tenant.schemaVersion).toBe(files.at(-1)?.name);

    const second = await provisioner.create({ slug: 'globex', name: 'Globex' }, { actor: 'test' });
    expect(second.via).toBe('template');
    expect(second.tenant.schemaVersion).toBe(files.at(-1)?.name);
    const recorded = await rt.registry.recordedMigrations(second.tenant.id);
    expect(recorded.map((m) => m.name)).toEqual(files.map((f) => f.name));
    expect(await env.databases()).toEqual(
      expect.arrayContaining([`${env.prefix}acme_corp`, `${env.prefix}globex`, `${env.prefix}template`]),
    );
  });
});
