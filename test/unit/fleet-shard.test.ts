import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkShard, inShard, parseShard, shardOf } from '../../src/migrate/fleet-shard.js';
import { applicationName } from '../../src/pg/application-name.js';

describe('shards', () => {
  it('parses i/n and refuses what is not a shard', () => {
    expect(parseShard('2/4')).toEqual({ index: 2, count: 4 });
    expect(parseShard(' 1 / 1 ')).toEqual({ index: 1, count: 1 });
    for (const bad of ['0/4', '5/4', '2', '2/0', 'a/b', '-1/3', '1/1001', '1.5/3']) {
      expect(() => parseShard(bad)).toThrow(expect.objectContaining({ code: 'USAGE' }));
    }
    expect(() => checkShard({ index: 3, count: 2 })).toThrow(expect.objectContaining({ code: 'USAGE' }));
  });

  it('puts every id in exactly one shard, the same one every time, evenly enough', () => {
    const ids = Array.from({ length: 3000 }, () => crypto.randomUUID());
    const sizes = [0, 0, 0, 0];
    for (const id of ids) {
      const shard = shardOf(id, 4);
      expect(shardOf(id.toUpperCase(), 4)).toBe(shard);
      expect([1, 2, 3, 4].filter((index) => inShard(id, { index, count: 4 }))).toEqual([shard]);
      sizes[shard - 1] = (sizes[shard - 1] ?? 0) + 1;
    }
    for (const size of sizes) expect(size).toBeGreaterThan(600);
    // A known value: the split must not change between releases (runners of one CI matrix may differ in version).
    // (first 32 bits of SHA-256 of the id, mod n, plus 1; computed independently with node:crypto)
    expect(shardOf('00000000-0000-4000-8000-000000000000', 7)).toBe(4);
    expect(shardOf('11111111-1111-4111-8111-111111111111', 4)).toBe(2);
    expect(ids.every((id) => shardOf(id, 1) === 1)).toBe(true);
  });
});

describe('application_name', () => {
  it('names the component and scope, and keeps within 63 bytes without splitting a character', () => {
    expect(applicationName('migrate', 'acme-corp')).toBe('metapus:migrate:acme-corp');
    const long = applicationName('server', 'x'.repeat(80));
    expect(Buffer.byteLength(long)).toBe(63);
    const wide = applicationName('server', 'ü'.repeat(40));
    expect(Buffer.byteLength(wide)).toBeLessThanOrEqual(63);
    expect(wide).not.toContain('\uFFFD');
    expect(Buffer.from(wide).toString()).toBe(wide);
  });
});
