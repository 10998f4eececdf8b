import { describe, expect, it } from 'vitest';
import { decide, type RunPolicy, type WaveCounts } from '../../src/migrate/run-policy.js';

const policy = (over: Partial<RunPolicy> = {}): RunPolicy => ({
  failFast: false,
  maxFailures: Infinity,
  maxFailureRate: null,
  minSample: 10,
  ...over,
});
const wave = (n: number, over: Partial<WaveCounts> = {}): WaveCounts => ({
  wave: n,
  pending: 0,
  running: 0,
  expired: 0,
  succeeded: 0,
  failed: 0,
  skipped: 0,
  ...over,
});

describe('the run stop rule', () => {
  it('claims from the first wave with work, waits while a wave still runs, ends when nothing is left', () => {
    expect(decide([wave(1, { pending: 3 })], policy(), [])).toEqual({ kind: 'claim', wave: 1 });
    expect(decide([wave(2, { pending: 1 }), wave(1, { running: 1, pending: 1 })], policy(), [])).toEqual({ kind: 'claim', wave: 1 });
    expect(decide([wave(1, { running: 2, succeeded: 1 }), wave(2, { pending: 3 })], policy(), [])).toMatchObject({
      kind: 'wait',
      reason: expect.stringContaining('wave 1 still running'),
    });
    expect(decide([wave(0, { running: 1 }), wave(1, { pending: 3 })], policy(), [])).toMatchObject({
      kind: 'wait',
      reason: expect.stringContaining('canaries'),
    });
    expect(decide([wave(1, { running: 2 })], policy(), [])).toMatchObject({ kind: 'wait' });
    expect(decide([wave(1, { succeeded: 2, failed: 1 })], policy({ failFast: true }), [])).toEqual({ kind: 'end' });
    expect(decide([], policy(), [])).toEqual({ kind: 'end' });
  });

  it('claims a tenant whose lease ran out again', () => {
    expect(decide([wave(1, { expired: 1, succeeded: 4 })], policy(), [])).toEqual({ kind: 'claim', wave: 1 });
  });

  it('stops after a canary failure, with fail-fast, and at max failures', () => {
    expect(decide([wave(0, { failed: 1 }), wave(1, { pending: 5 })], policy(), ['acme'])).toEqual({
      kind: 'stop',
      reason: 'canary acme failed; no other tenant was started',
    });
    expect(decide([wave(1, { failed: 1, pending: 5 })], policy({ failFast: true }), [])).toMatchObject({
      kind: 'stop',
      reason: expect.stringContaining('--fail-fast'),
    });
    expect(decide([wave(1, { failed: 2, pending: 5 })], policy({ maxFailures: 3 }), [])).toMatchObject({ kind: 'claim' });
    expect(decide([wave(1, { failed: 3, pending: 5 })], policy({ maxFailures: 3 }), [])).toMatchObject({
      kind: 'stop',
      reason: 'stopped after 3 failures (--max-failures 3)',
    });
  });

  it('applies the failure rate only after the minimum sample, and only above the rate', () => {
    const rate = policy({ maxFailureRate: 20, minSample: 5 });
    expect(decide([wave(1, { failed: 2, succeeded: 2, pending: 10 })], rate, [])).toMatchObject({ kind: 'claim' });
    expect(decide([wave(1, { failed: 1, succeeded: 4, pending: 10 })], rate, [])).toMatchObject({ kind: 'claim' });
    expect(decide([wave(1, { failed: 2, succeeded: 3, pending: 10 })], rate, [])).toEqual({
      kind: 'stop',
      reason: '2 of 5 tenants (40%) failed, above --max-failure-rate 20%',
    });
    // Skipped tenants are no sample.
    expect(decide([wave(1, { failed: 1, succeeded: 4, skipped: 20, pending: 10 })], rate, [])).toMatchObject({ kind: 'claim' });
  });

  it('opens a wave only within the failure budget (zero without a rate), whatever the sample size', () => {
    const before = [wave(1, { succeeded: 1, failed: 1 }), wave(2, { pending: 2 })];
    expect(decide(before, policy(), [])).toEqual({
      kind: 'stop',
      reason: '1 of 2 tenants (50%) failed before wave 2, above the failure budget of 0%',
    });
    expect(decide(before, policy({ maxFailureRate: 50 }), [])).toEqual({ kind: 'claim', wave: 2 });
    // Once a wave has started, the gate is behind it.
    expect(decide([wave(1, { succeeded: 1, failed: 1 }), wave(2, { pending: 1, running: 1 })], policy(), [])).toEqual({
      kind: 'claim',
      wave: 2,
    });
    expect(decide([wave(1, { succeeded: 2 }), wave(2, { pending: 2 })], policy(), [])).toEqual({ kind: 'claim', wave: 2 });
  });
});
