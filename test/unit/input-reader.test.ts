import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { InputReader } from '../../src/erp/input/input-reader.js';

/** The ValidationError's fields, or {} when finish() does not throw. */
function errorsOf(reader: InputReader): Record<string, string> {
  try {
    reader.finish('bad');
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as ValidationError).fields;
  }
  return {};
}

describe('InputReader', () => {
  it('refuses a body that is not an object, with that one error only', () => {
    for (const body of [null, [], 'text', 3]) {
      const reader = new InputReader(body);
      expect(reader.text('name', { required: true, max: 10 })).toBeUndefined();
      reader.rejectUnknown();
      expect(errorsOf(reader)).toEqual({ body: 'must be a JSON object' });
    }
  });

  it('reads text: trimmed, lengths in characters, patterns, null and required', () => {
    const reader = new InputReader({ a: '  hi ', b: '', c: 'x'.repeat(11), d: '😀'.repeat(10), e: 'abc', f: null, h: 5, i: null });
    expect(reader.text('a', { max: 10 })).toBe('hi');
    expect(reader.text('b', { max: 10 })).toBeUndefined();
    expect(reader.text('c', { max: 10 })).toBeUndefined();
    expect(reader.text('d', { max: 10 })).toBe('😀'.repeat(10));
    expect(reader.text('e', { max: 3, pattern: { regex: /^[A-Z]+$/, hint: 'upper case' } })).toBeUndefined();
    expect(reader.text('f', { max: 3 })).toBeUndefined();
    expect(reader.text('g', { max: 3, required: true })).toBeUndefined();
    expect(reader.text('h', { max: 3 })).toBeUndefined();
    expect(reader.text('i', { max: 3, nullable: true })).toBeNull();
    expect(reader.text('absent', { max: 3 })).toBeUndefined();
    expect(errorsOf(reader)).toEqual({
      b: 'must be a string of 1-10 characters',
      c: 'must be a string of 1-10 characters',
      e: 'upper case',
      f: 'must not be null',
      g: 'required',
      h: 'must be a string of 1-3 characters',
    });
  });

  it('reads decimals by precision and scale, from strings or plain numbers, normalised', () => {
    const reader = new InputReader({
      a: '007.50',
      b: 12.5,
      c: '-0.00',
      d: '12345678901234567.1',
      e: '1.2345',
      f: 1e21,
      g: '1e3',
      h: '0',
      i: '-1',
      j: '0.5',
      k: '1.5',
      l: true,
    });
    const money = { precision: 18, scale: 2 } as const;
    expect(reader.decimal('a', money)).toBe('7.50');
    expect(reader.decimal('b', money)).toBe('12.5');
    expect(reader.decimal('c', { ...money, sign: 'non-negative' })).toBe('0.00');
    expect(reader.decimal('d', money)).toBeUndefined();
    expect(new InputReader({ d: '1234567890123456.1' }).decimal('d', money)).toBe('1234567890123456.1');
    expect(reader.decimal('e', { precision: 18, scale: 3 })).toBeUndefined();
    expect(reader.decimal('f', money)).toBeUndefined();
    expect(reader.decimal('g', money)).toBeUndefined();
    expect(reader.decimal('h', { ...money, sign: 'positive' })).toBeUndefined();
    expect(reader.decimal('i', { ...money, sign: 'non-negative' })).toBeUndefined();
    // numeric(2,2) holds 0.5 but not 1.5.
    expect(reader.decimal('j', { precision: 2, scale: 2 })).toBe('0.5');
    expect(reader.decimal('k', { precision: 2, scale: 2 })).toBeUndefined();
    expect(reader.decimal('l', money)).toBeUndefined();
    expect(Object.keys(errorsOf(reader)).sort()).toEqual(['d', 'e', 'f', 'g', 'h', 'i', 'k', 'l']);
    expect(reader.errors.h).toBe('must be greater than 0');
    expect(reader.errors.i).toBe('must not be negative');
  });

  it('reads integers, booleans, enums and uuids strictly', () => {
    const reader = new InputReader({
      n: 3,
      m: 2.5,
      o: '3',
      p: 9,
      t: true,
      u: 'true',
      k: 'goods',
      l: 'Goods',
      id: 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11',
      bad: 'a0eebc99',
    });
    expect(reader.integer('n', { min: 0, max: 4 })).toBe(3);
    expect(reader.integer('m', { min: 0, max: 4 })).toBeUndefined();
    expect(reader.integer('o', { min: 0, max: 4 })).toBeUndefined();
    expect(reader.integer('p', { min: 0, max: 4 })).toBeUndefined();
    expect(reader.boolean('t')).toBe(true);
    expect(reader.boolean('u')).toBeUndefined();
    expect(reader.oneOf('k', ['goods', 'service'])).toBe('goods');
    expect(reader.oneOf('l', ['goods', 'service'])).toBeUndefined();
    expect(reader.uuid('id')).toBe('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
    expect(reader.uuid('bad')).toBeUndefined();
    expect(errorsOf(reader)).toEqual({
      m: 'must be an integer from 0 to 4',
      o: 'must be an integer from 0 to 4',
      p: 'must be an integer from 0 to 4',
      u: 'must be true or false',
      l: 'must be one of goods, service',
      bad: 'must be a UUID',
    });
  });

  it('reads timestamps with an offset or plain dates, and refuses impossible ones', () => {
    const good: Record<string, string> = {
      '2026-11-27T10:00:00Z': '2026-11-27T10:00:00.000Z',
      '2026-11-27T10:00:00+05:30': '2026-11-27T04:30:00.000Z',
      '2026-11-27 10:00Z': '2026-11-27T10:00:00.000Z',
      '2026-11-27': '2026-11-27T00:00:00.000Z',
      '2028-02-29': '2028-02-29T00:00:00.000Z',
    };
    for (const [text, iso] of Object.entries(good)) expect(new InputReader({ at: text }).timestamp('at'), text).toBe(iso);
    for (const text of [
      '2026-02-30',
      '2026-02-29T00:00:00Z',
      '2026-13-01',
      '2026-11-27T24:00:00Z',
      '2026-11-27T10:60:00Z',
      '2026-11-27T10:00:00',
      '1899-12-31',
      'yesterday',
    ]) {
      const reader = new InputReader({ at: text });
      expect(reader.timestamp('at'), text).toBeUndefined();
      expect(errorsOf(reader), text).toEqual({ at: expect.stringContaining('date-time') });
    }
  });

  it('reads arrays of objects, naming fields by their path, and reports unknown fields at every level', () => {
    const reader = new InputReader({ lines: [{ q: '1' }, { q: 'x', extra: 1 }, 'no'], other: 1 });
    const lines = reader.items('lines', { min: 1, max: 5 }) ?? [];
    expect(lines).toHaveLength(3);
    for (const line of lines) {
      line.decimal('q', { precision: 18, scale: 3, required: true });
      line.rejectUnknown();
    }
    reader.rejectUnknown();
    expect(errorsOf(reader)).toEqual({
      'lines[1].q': expect.any(String),
      'lines[1].extra': 'unknown field',
      'lines[2]': 'must be a JSON object',
      other: 'unknown field',
    });
    const empty = new InputReader({ lines: [] });
    empty.items('lines', { min: 1, max: 5 });
    expect(errorsOf(empty)).toEqual({ lines: 'must be an array of 1-5 items' });
  });

  it('keeps the first message per field and throws nothing when all is well', () => {
    const reader = new InputReader({ a: 'x' });
    reader.fail('a', 'first');
    reader.fail('a', 'second');
    expect(reader.errors).toEqual({ a: 'first' });
    const fine = new InputReader({ a: 'x' });
    fine.text('a', { max: 1 });
    expect(() => fine.rejectUnknown().finish('bad')).not.toThrow();
  });
});
