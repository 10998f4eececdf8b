import { afterEach, describe, expect, it, vi } from 'vitest';
import { TenantCache, type TenantLookup } from '../../src/pools/tenant-cache.js';
import type { Tenant, TenantStatus } from '../../src/tenants/tenant.js';
import { fakeTenant } from '../support/fake-tenant.js';

const ID = '6f1c1f0e-8d2a-4a59-9f3e-2b1f0c9d8e7a';

function tenant(status: TenantStatus = 'active'): Tenant {
  return fakeTenant({ id: ID, status });
}

/** A registry stand-in whose lookups the test answers by hand. */
function manualLookup() {
  const calls: { resolve: (t: Tenant | undefined) => void; reject: (e: unknown) => void }[] = [];
  const lookup: TenantLookup = {
    getById: () => new Promise((resolve, reject) => calls.push({ resolve, reject })),
  };
  return { lookup, calls };
}

describe('TenantCache', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('shares one lookup between concurrent misses and serves hits from memory', async () => {
    const { lookup, calls } = manualLookup();
    const cache = new TenantCache(lookup);
    const a = cache.get(ID);
    const b = cache.get(ID.toUpperCase());
    expect(calls).toHaveLength(1);
    calls[0]?.resolve(tenant());
    expect((await a)?.slug).toBe('acme');
    expect(await b).toBe(await a);
    await cache.get(ID);
    expect(calls).toHaveLength(1);
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 2, size: 1 });
  });

  it('lets one caller abort without failing the others', async () => {
    const { lookup, calls } = manualLookup();
    const cache = new TenantCache(lookup);
    const controller = new AbortController();
    const quitter = cache.get(ID, controller.signal);
    const stayer = cache.get(ID);
    controller.abort(new Error('gone'));
    await expect(quitter).rejects.toThrow('gone');
    calls[0]?.resolve(tenant());
    expect((await stayer)?.id).toBe(ID);
  });

  it('never stores a lookup that was in flight when the entry was invalidated', async () => {
    const { lookup, calls } = manualLookup();
    const cache = new TenantCache(lookup);
    const version = cache.version(ID);
    const stale = cache.get(ID);
    cache.invalidate(ID);
    expect(cache.version(ID)).not.toBe(version);
    const fresh = cache.get(ID);
    expect(calls).toHaveLength(2);
    calls[0]?.resolve(tenant('active'));
    calls[1]?.resolve(tenant('suspended'));
    expect((await stale)?.status).toBe('active');
    expect((await fresh)?.status).toBe('suspended');
    expect((await cache.get(ID))?.status).toBe('suspended');
    cache.invalidateAll();
    expect(cache.stats().size).toBe(0);
  });

  it('serves the expired entry while the meta database is unreachable, and fails typed without one', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { lookup, calls } = manualLookup();
    const cache = new TenantCache(lookup, { ttlMs: 1 });
    const first = cache.get(ID);
    calls[0]?.resolve(tenant());
    await first;
    vi.setSystemTime(Date.now() + 5); // past the 1 ms TTL without waiting for it
    const during = cache.get(ID);
    calls[1]?.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    expect((await during)?.slug).toBe('acme');
    expect(cache.stats().staleServed).toBe(1);

    const other = '00000000-0000-4000-8000-000000000001';
    const missing = cache.get(other);
    calls[2]?.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    await expect(missing).rejects.toMatchObject({ code: 'DATABASE_UNAVAILABLE' });
  });

  it('remembers unknown ids briefly and answers malformed ids without a lookup', async () => {
    const { lookup, calls } = manualLookup();
    const cache = new TenantCache(lookup);
    expect(await cache.get('not-a-uuid')).toBeUndefined();
    expect(calls).toHaveLength(0);
    const unknown = cache.get(ID);
    calls[0]?.resolve(undefined);
    expect(await unknown).toBeUndefined();
    expect(await cache.get(ID)).toBeUndefined();
    expect(calls).toHaveLength(1);
  });
});
