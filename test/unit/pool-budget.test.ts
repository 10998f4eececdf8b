import { describe, expect, it } from 'vitest';
import { fitPoolLimits, overCommitWarning, type ServerConnections } from '../../src/pools/pool-budget.js';

const DEFAULTS = { maxPools: 100, maxConnsPerPool: 10 };
const NONE = { maxPools: false, maxConnsPerPool: false };
// A stock PostgreSQL: max_connections 100, 3 superuser slots, a few connections open (ours).
const STOCK: ServerConnections = { maxConnections: 100, reserved: 3, inUse: 5 };

describe('fitPoolLimits', () => {
  it('fits unset limits into the free connections, keeping a quarter for other clients', () => {
    const fitted = fitPoolLimits(STOCK, DEFAULTS, NONE);
    const free = 100 - 3 - 5;
    expect(fitted.budget).toBe(Math.floor(free * 0.75));
    expect(fitted.maxConnsPerPool).toBe(10);
    expect(fitted.maxPools * fitted.maxConnsPerPool).toBeLessThanOrEqual(fitted.budget as number);
    expect(overCommitWarning(fitted, STOCK)).toBeUndefined();
  });

  it('never goes above the configured defaults on a large server', () => {
    const big = { maxConnections: 5_000, reserved: 3, inUse: 10 };
    expect(fitPoolLimits(big, DEFAULTS, NONE)).toMatchObject({ maxPools: 100, maxConnsPerPool: 10 });
  });

  it('shrinks the pool size too when even one pool of the default size does not fit', () => {
    const tiny = { maxConnections: 12, reserved: 3, inUse: 2 };
    const fitted = fitPoolLimits(tiny, DEFAULTS, NONE);
    expect(fitted).toMatchObject({ maxPools: 1, maxConnsPerPool: 5, budget: 5 });
    const full = { maxConnections: 10, reserved: 3, inUse: 9 };
    expect(fitPoolLimits(full, DEFAULTS, NONE)).toMatchObject({ maxPools: 1, maxConnsPerPool: 1 });
  });

  it('keeps an explicit limit and fits only the other one', () => {
    const pools = fitPoolLimits(STOCK, { maxPools: 20, maxConnsPerPool: 10 }, { maxPools: true, maxConnsPerPool: false });
    expect(pools).toMatchObject({ maxPools: 20, maxConnsPerPool: Math.floor(69 / 20) });
    const conns = fitPoolLimits(STOCK, { maxPools: 100, maxConnsPerPool: 4 }, { maxPools: false, maxConnsPerPool: true });
    expect(conns).toMatchObject({ maxPools: Math.floor(69 / 4), maxConnsPerPool: 4 });
  });

  it('keeps both limits when both are explicit, and the warning says they do not fit', () => {
    const fitted = fitPoolLimits(STOCK, DEFAULTS, { maxPools: true, maxConnsPerPool: true });
    expect(fitted).toEqual({ maxPools: 100, maxConnsPerPool: 10, budget: undefined });
    expect(overCommitWarning(fitted, STOCK)).toMatch(/= 1000 is not below the server's max_connections \(100\)/);
    expect(overCommitWarning({ maxPools: 9, maxConnsPerPool: 10 }, STOCK)).toBeUndefined();
  });
});
