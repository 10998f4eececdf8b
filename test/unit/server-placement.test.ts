import { describe, expect, it } from 'vitest';
import { chooseServer, freeCapacity, type PlacementCandidate } from '../../src/servers/server-placement.js';

const server = (
  name: string,
  tenants: number,
  capacity: number | null = null,
  status: 'active' | 'draining' = 'active',
): PlacementCandidate => ({
  name,
  host: '127.0.0.1',
  port: 5432,
  status,
  capacity,
  tenants,
});

describe('placement choice', () => {
  it('takes the server with the most free places; no capacity counts as unlimited', () => {
    expect(chooseServer([server('a', 1, 10), server('b', 2, 20), server('c', 0, 5)])?.name).toBe('b');
    expect(chooseServer([server('a', 0, 1000), server('b', 500)])?.name).toBe('b');
  });

  it('breaks ties by the fewest tenants, then by name', () => {
    expect(chooseServer([server('b', 3), server('a', 4), server('c', 3)])?.name).toBe('b');
    expect(chooseServer([server('b', 1, 5), server('a', 2, 6)])?.name).toBe('b');
    expect(chooseServer([server('zeta', 2, 4), server('alpha', 2, 4)])?.name).toBe('alpha');
  });

  it('spreads one after another evenly over unlimited servers', () => {
    const servers = [server('one', 0), server('two', 0), server('three', 0)];
    for (let i = 0; i < 9; i += 1) (chooseServer(servers) as PlacementCandidate).tenants += 1;
    expect(servers.map((s) => s.tenants)).toEqual([3, 3, 3]);
  });

  it('never picks a draining or a full server, and answers undefined when none has room', () => {
    expect(chooseServer([server('a', 0, null, 'draining'), server('b', 5, 5), server('c', 9, 10)])?.name).toBe('c');
    expect(chooseServer([server('a', 0, null, 'draining'), server('b', 5, 5), server('c', 7, 3)])).toBeUndefined();
    expect(chooseServer([])).toBeUndefined();
    expect(chooseServer([server('a', 0, 0)])).toBeUndefined();
  });

  it('counts an over-full server as having no room, not negative room', () => {
    expect(freeCapacity({ capacity: 3, tenants: 7 })).toBe(0);
    expect(freeCapacity({ capacity: null, tenants: 7 })).toBe(Infinity);
  });
});
