import { describe, expect, it } from 'vitest';
import { connectionBudget, type ServerConnections } from '../../src/pools/pool-budget.js';

// A stock PostgreSQL: max_connections 100, 3 superuser slots, a few connections open (ours).
const STOCK: ServerConnections = { maxConnections: 100, reserved: 3, inUse: 5 };

describe('connectionBudget', () => {
  it('takes three quarters of the free connections, keeping a quarter for other clients', () => {
    expect(connectionBudget(STOCK)).toBe(Math.floor((100 - 3 - 5) * 0.75));
    expect(connectionBudget({ maxConnections: 300, reserved: 3, inUse: 1 })).toBe(222);
  });

  it('counts the reserved slots and the connections open now as not free', () => {
    const busy = connectionBudget({ maxConnections: 100, reserved: 13, inUse: 47 });
    expect(busy).toBe(30);
    expect(busy).toBeLessThan(connectionBudget(STOCK));
  });

  it('gives a full or overfull server one connection, never zero or less', () => {
    expect(connectionBudget({ maxConnections: 10, reserved: 3, inUse: 7 })).toBe(1);
    expect(connectionBudget({ maxConnections: 10, reserved: 3, inUse: 40 })).toBe(1);
  });
});
