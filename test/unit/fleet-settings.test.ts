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
      perHost: defaultConcurrency(),
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
    expect(resolveFleetOptions({ concurrency: 3 }).perHost).toBe(3);
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
    expect(() => resolveFleetOptions({ perHost: 1.5 })).toThrow(usage('per-host'));
    expect(() => resolveFleetOptions({ maxFailures: -1 })).toThrow(usage('max-failures'));
  });
});
