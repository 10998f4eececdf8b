import { describe, expect, it } from 'vitest';
import { fitsNumeric, fromScaled, multiplyRounded, toScaled } from '../../src/erp/documents/decimal-amount.js';

describe('decimal amounts', () => {
  it('scales decimal text to integers and back', () => {
    expect(toScaled('12.5', 2)).toBe(1250n);
    expect(toScaled('-0.05', 2)).toBe(-5n);
    expect(toScaled('7', 3)).toBe(7000n);
    expect(fromScaled(1250n, 2)).toBe('12.50');
    expect(fromScaled(5n, 2)).toBe('0.05');
    expect(fromScaled(-5n, 2)).toBe('-0.05');
    expect(fromScaled(0n, 2)).toBe('0.00');
    expect(fromScaled(42n, 0)).toBe('42');
    expect(() => toScaled('1.234', 2)).toThrow(RangeError);
  });

  it('multiplies exactly and rounds half up to cents', () => {
    expect(fromScaled(multiplyRounded('1.5', 3, '8.23', 2, 2), 2)).toBe('12.35'); // 12.345
    expect(fromScaled(multiplyRounded('1.001', 3, '0.01', 2, 2), 2)).toBe('0.01'); // 0.01001
    expect(fromScaled(multiplyRounded('0.333', 3, '0.15', 2, 2), 2)).toBe('0.05'); // 0.04995
    expect(fromScaled(multiplyRounded('3', 3, '0.1', 2, 2), 2)).toBe('0.30'); // a float would say 0.30000000000000004
    // Beyond what a double holds exactly (18 significant digits).
    expect(fromScaled(multiplyRounded('123456789012345.678', 3, '0.01', 2, 2), 2)).toBe('1234567890123.46');
    expect(fromScaled(multiplyRounded('999999999999999.999', 3, '99999999999999.99', 2, 2), 2)).toBe('99999999999999989900000000000.00');
  });

  it('tells whether a value fits numeric(precision, scale)', () => {
    expect(fitsNumeric(toScaled('9999999999999999.99', 2), 18)).toBe(true);
    expect(fitsNumeric(toScaled('10000000000000000.00', 2), 18)).toBe(false);
    expect(fitsNumeric(toScaled('-9999999999999999.99', 2), 18)).toBe(true);
  });
});
