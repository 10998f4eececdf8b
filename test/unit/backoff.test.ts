import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../src/pools/status-listener.js';

describe('backoffDelay', () => {
  it('doubles from the initial delay up to the cap', () => {
    const noJitter = () => 0.5;
    expect([0, 1, 2, 3, 4, 5, 6, 10, 60].map((a) => backoffDelay(a, 100, 5_000, noJitter))).toEqual([
      100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000,
    ]);
  });

  it('adds at most ±20% jitter', () => {
    expect(backoffDelay(3, 100, 5_000, () => 0)).toBe(640);
    expect(backoffDelay(3, 100, 5_000, () => 0.999999)).toBe(960);
    expect(backoffDelay(-1, 100, 5_000, () => 0.5)).toBe(100);
  });
});
