import { describe, expect, it } from 'vitest';
import { DEFAULT_LOCK_WAIT_MS } from '../../src/schema/migration-lock.js';
import { recordedOptions, resolveFleetOptions } from '../../src/migrate/fleet-settings.js';
import {
  DEFAULT_LEASE_MS,
  DEFAULT_MIN_SAMPLE,
  DEFAULT_RETRIES,
  DEFAULT_WAIT_TIMEOUT_MS,
  defaultConcurrency,
} from '../../src/migrate/fleet-types.js';
import { DEFAULT_RECORD_RETRY_MS } from '../../src/migrate/run-recorder.js';

const usage = (message: string): unknown => expect.objectContaining({ code: 'USAGE', message: expect.stringContaining(message) });

describe('resolveFleetOptions', () => {
  it('sets every default in one place', () => {
    expect(resolveFleetOptions({})).toEqual({
      direction: 'up',
      target: {},
      to: undefined,
      dryRun: false,
      verify: false,
      failFast: false,
      concurrency: defaultConcurrency(),
      perHost: null,
      maxFailures: Infinity,
      ifLocked: 'wait',
      lockTimeoutMs: DEFAULT_LOCK_WAIT_MS,
      statementTimeoutMs: 0,
      retries: DEFAULT_RETRIES,
      retryDelayMs: undefined,
      connectTimeoutMs: undefined,
      recordRetryMs: DEFAULT_RECORD_RETRY_MS,
      join: undefined,
      runKey: undefined,
      leaseMs: DEFAULT_LEASE_MS,
      waitTimeoutMs: DEFAULT_WAIT_TIMEOUT_MS,
      shard: undefined,
      canary: undefined,
      maxFailureRate: null,
      minSample: DEFAULT_MIN_SAMPLE,
      waveSize: null,
    });
    expect(resolveFleetOptions({ concurrency: 3, perHost: 2 }).perHost).toBe(2);
  });

  it('keeps what was given', () => {
    const settings = resolveFleetOptions({
      concurrency: 5,
      perHost: 2,
      maxFailures: 1,
      ifLocked: 'skip',
      lockTimeoutMs: 0,
      retries: 0,
      verify: true,
    });
    expect(settings).toMatchObject({ concurrency: 5, perHost: 2, maxFailures: 1, ifLocked: 'skip', lockTimeoutMs: 0, retries: 0, verify: true });
    expect(recordedOptions(settings, '00006_posting')).toMatchObject({
      latest: '00006_posting',
      maxFailures: 1,
      perHost: 2,
      verify: true,
      lockTimeoutMs: 0,
    });
    expect(recordedOptions(resolveFleetOptions({}), null)).not.toHaveProperty('maxFailures');
  });

  it('refuses down without named tenants or without --to, unless it resumes a run', () => {
    expect(() => resolveFleetOptions({ direction: 'down', to: '0' })).toThrow(usage('needs explicit tenants'));
    expect(() => resolveFleetOptions({ direction: 'down', target: { slugs: ['acme'] } })).toThrow(usage('needs --to'));
    expect(resolveFleetOptions({ direction: 'down', target: { resume: 'last' } }).direction).toBe('down');
    expect(resolveFleetOptions({ direction: 'down', to: '0', target: { ids: ['x'] } }).to).toBe('0');
  });

  it('refuses --resume combined with names or statuses, and counts below 1', () => {
    for (const target of [
      { resume: 'last', slugs: ['a'] },
      { resume: 'last', ids: ['b'] },
      { resume: 'last', statuses: ['active' as const] },
    ]) {
      expect(() => resolveFleetOptions({ target })).toThrow(usage('cannot be combined'));
    }
    expect(() => resolveFleetOptions({ concurrency: 0 })).toThrow(usage('concurrency must be a positive integer'));
    expect(() => resolveFleetOptions({ perHost: 1.5 })).toThrow(usage('per-server'));
    expect(() => resolveFleetOptions({ maxFailures: -1 })).toThrow(usage('max-failures'));
  });
});

describe('resolveFleetOptions: runners, shards and rollout safety', () => {
  it('lets a joining runner bring only its own concurrency, lease, wait and retries', () => {
    expect(resolveFleetOptions({ join: 'last', concurrency: 2, leaseMs: 5_000, waitTimeoutMs: 0, retries: 1 })).toMatchObject({
      join: 'last',
      concurrency: 2,
      leaseMs: 5_000,
      waitTimeoutMs: 0,
    });
    expect(() => resolveFleetOptions({ join: 'last', target: { slugs: ['acme'] } })).toThrow(usage('--slug/--id/--status/--resume'));
    expect(() => resolveFleetOptions({ join: 'last', maxFailureRate: 5, waveSize: 2 })).toThrow(usage('--max-failure-rate, --wave'));
    expect(() => resolveFleetOptions({ join: 'last', runKey: 'k' })).toThrow(usage('--key'));
    expect(resolveFleetOptions({ join: 'last', target: { slugs: [] } }).join).toBe('last');
  });

  it('checks shards, canaries, rates, waves, leases and keys', () => {
    expect(resolveFleetOptions({ shard: { index: 2, count: 3 }, canary: 2, maxFailureRate: 5, minSample: 4, waveSize: 10 })).toMatchObject({
      shard: { index: 2, count: 3 },
      canary: 2,
      maxFailureRate: 5,
      minSample: 4,
      waveSize: 10,
    });
    expect(() => resolveFleetOptions({ shard: { index: 4, count: 3 } })).toThrow(usage('--shard'));
    expect(() => resolveFleetOptions({ shard: { index: 1, count: 2 }, target: { resume: 'last' } })).toThrow(usage('drop --shard'));
    expect(() => resolveFleetOptions({ canary: 0 })).toThrow(usage('canary'));
    expect(() => resolveFleetOptions({ canary: [] })).toThrow(usage('--canary'));
    expect(() => resolveFleetOptions({ maxFailureRate: 101 })).toThrow(usage('percentage'));
    expect(() => resolveFleetOptions({ maxFailureRate: Number.NaN })).toThrow(usage('percentage'));
    expect(() => resolveFleetOptions({ minSample: 0 })).toThrow(usage('min-sample'));
    expect(() => resolveFleetOptions({ waveSize: 0 })).toThrow(usage('wave'));
    expect(() => resolveFleetOptions({ leaseMs: 500 })).toThrow(usage('lease'));
    expect(() => resolveFleetOptions({ waitTimeoutMs: -1 })).toThrow(usage('wait-timeout'));
    expect(() => resolveFleetOptions({ runKey: 'has space' })).toThrow(usage('--key'));
    expect(() => resolveFleetOptions({ runKey: 'k', dryRun: true })).toThrow(usage('drop --key'));
    expect(() => resolveFleetOptions({ direction: 'down', to: '0', target: { slugs: ['a'] }, canary: 1 })).toThrow(usage('--canary'));
  });

  it('records the run-wide policy for every runner', () => {
    const recorded = recordedOptions(
      resolveFleetOptions({ perHost: 2, maxFailureRate: 5, minSample: 3, waveSize: 4, shard: { index: 1, count: 2 } }),
      null,
    );
    expect(recorded).toMatchObject({ perHost: 2, maxFailureRate: 5, minSample: 3, waveSize: 4, shard: '1/2' });
    expect(recordedOptions(resolveFleetOptions({}), null)).not.toHaveProperty('perHost');
  });
});
