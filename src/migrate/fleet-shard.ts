/**
 * `--shard i/n`: a deterministic, disjoint part of a run's targets, so n CI
 * jobs cover the fleet exactly once without sharing a run. A tenant belongs
 * to shard 1 + (h mod n), h being the first 32 bits of the SHA-256 of its id:
 * stable across machines, releases and registry order, and even for any n.
 */
import crypto from 'node:crypto';
import { UsageError } from '../errors.js';
import type { FleetShard } from './fleet-types.js';

export const MAX_SHARDS = 1000;

/** `2/4` -> { index: 2, count: 4 }; throws UsageError. */
export function parseShard(text: string): FleetShard {
  const match = /^\s*(\d{1,4})\s*\/\s*(\d{1,4})\s*$/.exec(text);
  if (!match) throw new UsageError(`--shard takes i/n (e.g. 2/4), got "${text}"`);
  return checkShard({ index: Number(match[1]), count: Number(match[2]) });
}

/** Validates a shard given as numbers; throws UsageError. */
export function checkShard(shard: FleetShard): FleetShard {
  const { index, count } = shard;
  if (!Number.isInteger(count) || count < 1 || count > MAX_SHARDS) {
    throw new UsageError(`--shard: the number of shards must be 1 to ${MAX_SHARDS}, got ${count}`);
  }
  if (!Number.isInteger(index) || index < 1 || index > count) {
    throw new UsageError(`--shard: the shard must be 1 to ${count}, got ${index}`);
  }
  return { index, count };
}

/** The shard (1-based) a tenant id belongs to out of count. */
export function shardOf(tenantId: string, count: number): number {
  const digest = crypto.createHash('sha256').update(tenantId.toLowerCase()).digest();
  return 1 + (digest.readUInt32BE(0) % count);
}

export function inShard(tenantId: string, shard: FleetShard): boolean {
  return shardOf(tenantId, shard.count) === shard.index;
}
