import { describe, expect, it } from 'vitest';
import { parseIntegerInRange } from '../../src/integer-range.js';
import { integerOption } from '../../src/cli/options.js';

describe('parseIntegerInRange', () => {
  it('accepts plain digits inside the range', () => {
    expect(parseIntegerInRange('--audit', ' 12 ', { min: 1, max: 1000 })).toEqual({ ok: true, value: 12 });
  });

  it.each(['-1', 'abc', '1e999', '1.5', '', '0x10', '99999999999999999999999', '0'])('refuses %j naming the range', (raw) => {
    const parsed = parseIntegerInRange('--audit', raw, { min: 1, max: 1000 });
    expect(parsed).toEqual({ ok: false, message: '--audit must be a whole number from 1 to 1000' });
  });

  it('throws a commander InvalidArgumentError from the option parser', () => {
    const parse = integerOption('--concurrency', 1, 1000);
    expect(parse('8')).toBe(8);
    expect(() => parse('99999999999999999999999')).toThrow(/--concurrency must be a whole number from 1 to 1000/);
  });
});
