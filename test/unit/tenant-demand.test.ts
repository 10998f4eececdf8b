import { describe, expect, it } from 'vitest';
import { TenantDemand } from '../../src/pools/tenant-demand.js';

describe('TenantDemand', () => {
  it('counts requests per tenant', () => {
    const d = new TenantDemand(1_000);
    for (let i = 0; i < 5; i++) d.hit('a');
    d.hit('b');
    expect([d.of('a'), d.of('b'), d.of('c')]).toEqual([5, 1, 0]);
  });

  it('halves every count each window, forgetting tenants that fade to zero', () => {
    const d = new TenantDemand(10);
    for (let i = 0; i < 9; i++) d.hit('steady');
    d.hit('once'); // the tenth request: the window ends
    expect([d.of('steady'), d.of('once'), d.tracked]).toEqual([4, 0, 1]);
    // A tenant that used to be popular loses its lead to one that is popular now.
    for (let i = 0; i < 10; i++) d.hit('new');
    expect(d.of('new')).toBeGreaterThan(d.of('steady'));
  });
});
