import { describe, expect, it } from 'vitest';
import { RecencyMap } from '../../src/pools/recency-map.js';

describe('RecencyMap', () => {
  it('orders entries from least to most recently used', () => {
    const map = new RecencyMap<string, number>();
    map.set('a', 1);
    map.set('b', 2);
    map.set('c', 3);
    expect([...map.keys()]).toEqual(['a', 'b', 'c']);
    expect(map.touch('a')).toBe(true);
    expect([...map.keys()]).toEqual(['b', 'c', 'a']);
    map.set('b', 20);
    expect([...map.keys()]).toEqual(['c', 'a', 'b']);
    expect(map.get('b')).toBe(20);
    expect(map.touch('zzz')).toBe(false);
  });

  it('finds the least recently used entry that matches a predicate', () => {
    const map = new RecencyMap<string, { busy: boolean }>();
    map.set('a', { busy: true });
    map.set('b', { busy: false });
    map.set('c', { busy: false });
    expect(map.oldest((v) => !v.busy)).toBe(map.get('b'));
    map.touch('b');
    expect(map.oldest((v) => !v.busy)).toBe(map.get('c'));
    expect(map.oldest()).toBe(map.get('a'));
    map.delete('a');
    expect(map.size).toBe(2);
    expect(new RecencyMap().oldest()).toBeUndefined();
  });
});
