/**
 * TenantPool's state machine without a database: pg pools connect lazily, so
 * a pool that is never queried never opens a connection. The one health
 * check below dials a closed loopback port and is refused.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TenantPool } from '../../src/pools/tenant-pool.js';
import { fakeTenant } from '../support/fake-tenant.js';

const pools: TenantPool[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const p of pools.splice(0)) if (p.state === 'open' || p.state === 'draining') await p.close(10, 'shutdown');
});

function pool(): TenantPool {
  const p = new TenantPool(
    fakeTenant({ slug: 'acme', dbPort: 1 }),
    { host: '127.0.0.1', port: 1, user: 'app', password: 'secret', database: 'mt_acme', max: 2, connectionTimeoutMillis: 1_000 },
    () => undefined,
  );
  pools.push(p);
  return p;
}

const internal = { code: 'INTERNAL' };

describe('TenantPool state machine', () => {
  it('starts open, unleased and unchecked, last used when opened', () => {
    const p = pool();
    expect(p).toMatchObject({ state: 'open', leases: 0, closeReason: undefined, checking: false, serverConnections: 0 });
    expect(p.lastUsedAt).toBe(p.openedAt);
  });

  it('counts leases; a release stamps lastUsedAt, a lease does not', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2030-01-01T00:00:00Z'));
    const p = pool();
    const opened = p.lastUsedAt;
    vi.setSystemTime(new Date('2030-01-01T00:00:05Z'));
    p.lease();
    p.lease();
    expect(p.leases).toBe(2);
    expect(p.lastUsedAt).toBe(opened);
    vi.setSystemTime(new Date('2030-01-01T00:00:09Z'));
    expect(p.release()).toBe(1);
    expect(p.lastUsedAt).toBe(Date.parse('2030-01-01T00:00:09Z'));
    expect(p.release()).toBe(0);
    expect(p.stats()).toMatchObject({ state: 'open', leases: 0, lastUsedAt: '2030-01-01T00:00:09.000Z' });
  });

  it('refuses a release without a lease and leaves the count alone', () => {
    const p = pool();
    expect(() => p.release()).toThrow(expect.objectContaining(internal));
    p.lease();
    p.release();
    expect(() => p.release()).toThrow(expect.objectContaining(internal));
    expect(p.leases).toBe(0);
  });

  it('open -> draining -> closing -> closed: a retired pool serves only the leases it has', async () => {
    const p = pool();
    p.lease();
    p.retire('status');
    expect(p).toMatchObject({ state: 'draining', closeReason: 'status', leases: 1 });
    expect(() => p.lease()).toThrow(expect.objectContaining(internal));
    expect(() => p.retire('idle')).toThrow(expect.objectContaining(internal));
    expect(p.release()).toBe(0);
    const closed = p.close(100);
    expect(p).toMatchObject({ state: 'closing', closeReason: 'status' });
    await closed;
    expect(p.state).toBe('closed');
    await expect(p.whenClosed()).resolves.toBeUndefined();
  });

  it('refuses to retire a pool without leases (it closes instead)', () => {
    const p = pool();
    expect(() => p.retire('evicted')).toThrow(expect.objectContaining(internal));
    expect(p).toMatchObject({ state: 'open', closeReason: undefined });
  });

  it('open -> closing needs a reason; a closing or closed pool takes no transition but releases', async () => {
    const p = pool();
    expect(() => p.close(100)).toThrow(expect.objectContaining(internal));
    expect(p.state).toBe('open');
    p.lease();
    const closed = p.close(100, 'shutdown');
    expect(p).toMatchObject({ state: 'closing', closeReason: 'shutdown' });
    expect(() => p.close(100, 'idle')).toThrow(expect.objectContaining(internal));
    expect(() => p.lease()).toThrow(expect.objectContaining(internal));
    expect(() => p.retire('idle')).toThrow(expect.objectContaining(internal));
    await expect(p.healthCheck(100)).rejects.toMatchObject(internal);
    // A lease held across a shutdown is still given back.
    expect(p.release()).toBe(0);
    await closed;
    expect(p.state).toBe('closed');
    expect(() => p.close(100, 'idle')).toThrow(expect.objectContaining(internal));
    expect(() => p.lease()).toThrow(expect.objectContaining(internal));
  });

  it('a shutdown replaces the reason a draining pool was retired for', async () => {
    const p = pool();
    p.lease();
    p.retire('unhealthy');
    const closed = p.close(100, 'shutdown');
    expect(p.closeReason).toBe('shutdown');
    p.release();
    await closed;
  });

  it('refuses to wait for a close that was never started', () => {
    const p = pool();
    expect(() => p.whenClosed()).toThrow(expect.objectContaining(internal));
  });

  it('runs one health check at a time and clears the flag when it ends', async () => {
    const p = pool();
    const first = p.healthCheck(1_000);
    expect(p.checking).toBe(true);
    await expect(p.healthCheck(1_000)).rejects.toMatchObject(internal);
    // Nothing listens on port 1: the database counts as unreachable.
    await expect(first).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(p.checking).toBe(false);
    expect(p.state).toBe('open');
  });
});
