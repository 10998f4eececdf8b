import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/duration.js';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['10m', 600_000],
    ['1h30m', 5_400_000],
    ['1d', 86_400_000],
    ['1.5s', 1_500],
    ['0ms', 0],
    [' 30s ', 30_000],
  ])('%s', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it('rounds fractions to whole milliseconds', () => {
    expect(parseDuration('0.0015s')).toBe(2);
  });

  it.each(['10', '5x', '', 'm', '1m30', '30S', '-1s', '1h 30m', 's30'])('refuses %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0ms'],
    [0.4, '0ms'],
    [999, '999ms'],
    [1_000, '1.00s'],
    [1_234, '1.23s'],
    [10_000, '10.0s'],
    [59_949, '59.9s'],
    [60_000, '1m00s'],
    [61_000, '1m01s'],
    [3_600_000, '60m00s'],
    [5_400_000, '90m00s'],
  ])('%d ms -> %s', (ms, text) => expect(formatDuration(ms)).toBe(text));

  it('reads back through parseDuration to the same value below a minute', () => {
    for (const ms of [0, 250, 999, 1_000, 2_500, 30_000]) expect(parseDuration(formatDuration(ms))).toBe(ms);
  });

  it('keeps whole minutes and seconds apart above a minute', () => {
    expect(parseDuration(formatDuration(125_000))).toBe(125_000);
  });

  it.each([
    [999.6, '1.00s'],
    [9_996, '10.0s'],
    [59_999, '1m00s'],
    [119_500, '2m00s'],
  ])('carries rounding into the next unit: %d ms -> %s', (ms, text) => expect(formatDuration(ms)).toBe(text));
});
