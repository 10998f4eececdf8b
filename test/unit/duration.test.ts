import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/duration.js';

describe('parseDuration', () => {
  it('reads units and sums of units', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration(' 1.5s ')).toBe(1500);
    expect(parseDuration('2d')).toBe(172_800_000);
  });

  it('refuses anything else', () => {
    for (const text of ['', '10', '10 minutes', '-5s', '1y', 's', '1h 30m']) expect(parseDuration(text)).toBeUndefined();
  });
});

describe('formatDuration', () => {
  it('shows milliseconds below a second', () => {
    expect(formatDuration(0)).toBe('0ms');
    expect(formatDuration(999.4)).toBe('999ms');
  });

  it('shows seconds with two decimals below 10s, one below a minute', () => {
    expect(formatDuration(1234)).toBe('1.23s');
    expect(formatDuration(12_345)).toBe('12.3s');
    expect(formatDuration(59_900)).toBe('59.9s');
  });

  it('shows minutes and zero-padded seconds from a minute on', () => {
    expect(formatDuration(60_000)).toBe('1m00s');
    expect(formatDuration(125_000)).toBe('2m05s');
    expect(formatDuration(3_600_000)).toBe('60m00s');
  });
});
