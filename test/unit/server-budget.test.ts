/**
 * The server budget's arithmetic and victim choice with members that are
 * plain objects: which pool gets a slot, which idle connection is closed,
 * who waits. The same rules against a real server, with real pools, are in
 * test/integration/server-budget.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ServerBudget, coldestIdle, type BudgetMember } from '../../src/pools/server-budget.js';
import { ServerBudgets } from '../../src/pools/server-budgets.js';
import { PoolExhaustedError } from '../../src/errors.js';

/** A pool as the budget sees it: idle connections by when they went idle; closing one gives its slot back. */
class Member implements BudgetMember {
  idle: number[] = [];
  serverConnections = 1;
  get idleConnections(): number {
    return this.idle.length;
  }
  grants = 0;
  refusals: Error[] = [];
  closes = 0;
  budget: ServerBudget | undefined;
  constructor(readonly name: string) {}
  oldestIdleAt(): number | undefined {
    return this.idle.length ? Math.min(...this.idle) : undefined;
  }
  closeIdleConnection(): boolean {
    if (this.idle.length === 0) return false;
    this.idle.sort((a, b) => a - b).shift();
    this.closes++;
    return true;
  }
  granted(): void {
    this.grants++;
  }
  refused(err: Error): void {
    this.refusals.push(err);
  }
  /** The closed connection is gone: its slot goes back, the eviction is over. */
  closed(budget: ServerBudget): void {
    budget.give(1);
    budget.evictionDone();
  }
}

/** Every member with its budget, so a test's queued waiters (and their timers) are cleared after it. */
const joined: [ServerBudget, Member][] = [];
afterEach(() => {
  for (const [b, m] of joined.splice(0)) b.leave(m, 0);
});

function budget(limit: number | undefined, timeoutMs = 60_000): ServerBudget {
  const b = new ServerBudget('127.0.0.1:5432', limit, {
    timeoutMs,
    onTimeout: (_m, waited) => new PoolExhaustedError(`waited ${waited}ms`),
    fallback: 99,
  });
  return b;
}

function member(b: ServerBudget, name: string, idle: number[] = []): Member {
  const m = new Member(name);
  m.idle = idle;
  b.join(m);
  joined.push([b, m]);
  return m;
}

describe('coldestIdle', () => {
  const pool = (idleSince: number | undefined, serverConnections = 1, idleConnections = idleSince === undefined ? 0 : 1) => ({
    oldestIdleAt: () => idleSince,
    serverConnections,
    idleConnections,
  });

  it('without demand, picks the pool whose idle connection has been idle longest', () => {
    const a = pool(300);
    const b = pool(100);
    const c = pool(200);
    expect(coldestIdle([a, b, c])).toBe(b);
  });

  it('skips pools with no idle connection and the one asking', () => {
    const busy = pool(undefined);
    const asking = pool(1);
    const other = pool(5);
    expect(coldestIdle([busy, asking, other], asking)).toBe(other);
    expect(coldestIdle([busy, asking], asking)).toBeUndefined();
    expect(coldestIdle([])).toBeUndefined();
  });

  it("closes the connection of the tenant asked for least, before a popular tenant's older idle one", () => {
    const popular = pool(100);
    const rare = pool(500);
    const demand = new Map([
      [popular, 40],
      [rare, 2],
    ]);
    expect(coldestIdle([popular, rare], undefined, (m) => demand.get(m) ?? 0)).toBe(rare);
  });

  it("counts demand per connection: a hot tenant's fourth connection goes before a warm tenant's only one", () => {
    const hot = pool(300, 4);
    const warm = pool(100, 1);
    const demand = new Map([
      [hot, 20],
      [warm, 10],
    ]);
    expect(coldestIdle([hot, warm], undefined, (m) => demand.get(m) ?? 0)).toBe(hot);
    // Equal demand per connection: the least recently used.
    demand.set(hot, 40);
    expect(coldestIdle([hot, warm], undefined, (m) => demand.get(m) ?? 0)).toBe(warm);
  });

  it('takes a surplus idle connection first: a pool with two idle keeps one for its next request', () => {
    const surplus = pool(500, 3, 2);
    const only = pool(100, 1, 1);
    const demand = new Map([
      [surplus, 1_000],
      [only, 1],
    ]);
    expect(coldestIdle([only, surplus], undefined, (m) => demand.get(m) ?? 0)).toBe(surplus);
  });
});

describe('ServerBudget', () => {
  it('grants slots while the budget has room, then neither grants nor evicts without an idle connection', () => {
    const b = budget(3);
    const a = member(b, 'a');
    expect([b.take(a, true), b.take(a, false), b.take(a, false)]).toEqual(['granted', 'granted', 'granted']);
    expect(b.stats()).toMatchObject({ limit: 3, used: 3, waiting: 0, source: 'registry' });
    // Growing past the budget with nothing idle anywhere: the pool queues on its own connections.
    expect(b.take(a, false)).toBe('refused');
    expect(b.stats()).toMatchObject({ used: 3, evicted: 0 });
  });

  it("closes another pool's least recently used idle connection for a pool with none, and hands it the slot", () => {
    const b = budget(3);
    const old = member(b, 'old', [10]);
    const recent = member(b, 'recent', [50]);
    for (let i = 0; i < 3; i++) b.take(old, false); // the three slots in use (by whom does not matter here)
    const cold = member(b, 'cold');
    expect(b.take(cold, true)).toBe('queued');
    expect(old.closes).toBe(1);
    expect(recent.closes).toBe(0);
    expect(cold.grants).toBe(0);
    old.closed(b);
    expect(cold.grants).toBe(1);
    expect(b.stats()).toMatchObject({ used: 3, waiting: 0, evicted: 1 });
  });

  it('never closes the idle connection of the pool that asks to grow', () => {
    const b = budget(2);
    const grower = member(b, 'grower', [1]);
    const other = member(b, 'other', [100]);
    b.take(grower, true);
    b.take(other, true);
    expect(b.take(grower, false)).toBe('refused');
    expect(grower.closes).toBe(0);
    expect(other.closes).toBe(1);
    // One spare eviction at a time: a second checkout does not close another connection.
    other.idle = [200];
    expect(b.take(grower, false)).toBe('refused');
    expect(other.closes).toBe(1);
    other.closed(b);
    expect(b.take(grower, false)).toBe('granted');
  });

  it('serves waiting pools first come first served, closing one idle connection per waiter', () => {
    const b = budget(2);
    const holder = member(b, 'holder', [1, 2]);
    b.take(holder, true);
    b.take(holder, false);
    const [w1, w2, w3] = [member(b, 'w1'), member(b, 'w2'), member(b, 'w3')];
    expect([b.take(w1, true), b.take(w2, true), b.take(w3, true)]).toEqual(['queued', 'queued', 'queued']);
    // Two idle connections, three waiters: both are closed, the third waits for a slot.
    expect(holder.closes).toBe(2);
    holder.closed(b);
    expect([w1.grants, w2.grants, w3.grants]).toEqual([1, 0, 0]);
    // A pool arriving now does not jump the queue, even when a slot is free.
    b.give(1);
    expect([w2.grants, w3.grants]).toEqual([1, 0]);
    const late = member(b, 'late');
    expect(b.take(late, true)).toBe('queued');
    b.give(1);
    expect([w3.grants, late.grants]).toEqual([1, 0]);
  });

  it('closes an idle connection for a waiter as soon as one goes idle (pump)', () => {
    const b = budget(1);
    const busy = member(b, 'busy');
    b.take(busy, true);
    const cold = member(b, 'cold');
    expect(b.take(cold, true)).toBe('queued');
    expect(busy.closes).toBe(0);
    busy.idle = [5];
    b.pump();
    expect(busy.closes).toBe(1);
    busy.closed(b);
    expect(cold.grants).toBe(1);
  });

  it('fails a waiter that gets no slot within the timeout, and lets the next one in', async () => {
    const b = budget(1, 20);
    const holder = member(b, 'holder');
    b.take(holder, true);
    const waiter = member(b, 'waiter');
    expect(b.take(waiter, true)).toBe('queued');
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(waiter.refusals[0]).toBeInstanceOf(PoolExhaustedError);
    expect(b.stats().waiting).toBe(0);
    b.give(1);
    expect(waiter.grants).toBe(0);
    expect(b.take(member(b, 'next'), true)).toBe('granted');
  });

  it('gives back what a leaving pool holds and takes it out of the queue', () => {
    const b = budget(2);
    const a = member(b, 'a');
    b.take(a, true);
    b.take(a, false);
    const w = member(b, 'w');
    b.take(w, true);
    b.leave(w, 0);
    expect(b.stats()).toMatchObject({ waiting: 0, used: 2 });
    b.leave(a, 2);
    expect(b.stats()).toMatchObject({ used: 0, pools: 0 });
  });

  it('allows one connection while the server is measured, then its measured budget', async () => {
    const b = budget(undefined);
    const a = member(b, 'a');
    expect(b.take(a, true)).toBe('granted');
    const w = member(b, 'w');
    expect(b.take(w, true)).toBe('queued');
    expect(b.stats()).toMatchObject({ limit: undefined, source: 'measuring' });
    // max_connections 100, 3 reserved, 5 in use: three quarters of 92.
    b.measureOn({ query: async () => ({ rows: [{ max: 100, reserved: 3, in_use: 5 }] }) } as never);
    await new Promise((resolve) => setImmediate(resolve));
    expect(b.stats()).toMatchObject({ limit: 69, source: 'measured', used: 2 });
    expect(w.grants).toBe(1);
  });

  it('falls back to the given cap when the server will not say', async () => {
    const b = budget(undefined);
    b.measureOn({
      query: async () => {
        throw new Error('permission denied');
      },
    } as never);
    await new Promise((resolve) => setImmediate(resolve));
    expect(b.stats()).toMatchObject({ limit: 99, source: 'fallback' });
  });
});

describe('ServerBudgets', () => {
  const options = { timeoutMs: 1_000, onTimeout: () => new Error('timeout'), fallback: 7 };

  it('keys budgets by server address, whatever the spelling, and takes the limit from the registry', () => {
    const servers = { find: (name: string) => (name === 'eu' ? { connections: 12 } : name === 'us' ? { connections: null } : undefined) };
    const all = new ServerBudgets(servers, options);
    const eu = all.for({ dbHost: 'localhost', dbPort: 5432, serverName: 'eu' });
    expect(all.for({ dbHost: '127.0.0.1', dbPort: 5432, serverName: 'eu' })).toBe(eu);
    expect(eu.limit).toBe(12);
    expect(all.for({ dbHost: 'db2', dbPort: 5432, serverName: 'us' }).limit).toBeUndefined();
    expect(all.for({ dbHost: 'db3', dbPort: 5432, serverName: 'gone' }).limit).toBeUndefined();
    expect(all.stats().map((s) => s.server)).toEqual(['127.0.0.1:5432', 'db2:5432', 'db3:5432']);
  });

  it('measures every server when there is no registry', () => {
    const all = new ServerBudgets(undefined, options);
    expect(all.for({ dbHost: 'db', dbPort: 1, serverName: 'default' }).stats().source).toBe('measuring');
  });
});

describe('ServerBudget reserve', () => {
  it('keeps 2% of a large budget free by closing the coldest idle connections ahead of need', () => {
    const b = new ServerBudget('127.0.0.1:5432', 100, { timeoutMs: 60_000, onTimeout: () => new Error('timeout'), fallback: 1 });
    const idle = new Member('idle');
    idle.idle = Array.from({ length: 10 }, (_, i) => i);
    b.join(idle);
    for (let i = 0; i < 98; i++) expect(b.take(idle, false)).toBe('granted');
    expect(idle.closes).toBe(0);
    // The 99th slot leaves fewer than 2 free: one idle connection is closed ahead of need.
    expect(b.take(idle, false)).toBe('granted');
    expect(idle.closes).toBe(1);
    idle.closed(b);
    expect(b.stats()).toMatchObject({ used: 98 });
    b.leave(idle, 98);
  });
});
