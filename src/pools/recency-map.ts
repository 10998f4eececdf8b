/**
 * A Map kept in least- to most-recently-used order, so the pool manager finds
 * its eviction victim by walking from the front. A JavaScript Map iterates in
 * insertion order; re-inserting on use makes that the recency order, with O(1)
 * touches and no second structure to keep in sync.
 */
export class RecencyMap<K, V> {
  private readonly map = new Map<K, V>();

  get size(): number {
    return this.map.size;
  }

  get(key: K): V | undefined {
    return this.map.get(key);
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  /** Inserts or replaces the value and makes it the most recently used. */
  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
  }

  /** Marks the key as used now; false if it is absent. */
  touch(key: K): boolean {
    const value = this.map.get(key);
    if (value === undefined) return false;
    this.map.delete(key);
    this.map.set(key, value);
    return true;
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  /** The least recently used value that satisfies the predicate. */
  oldest(predicate: (value: V, key: K) => boolean = () => true): V | undefined {
    for (const [key, value] of this.map) {
      if (predicate(value, key)) return value;
    }
    return undefined;
  }

  /** Values from least to most recently used. */
  values(): IterableIterator<V> {
    return this.map.values();
  }

  keys(): IterableIterator<K> {
    return this.map.keys();
  }
}
