/**
 * The one place request input is checked, field by field. A reader walks a
 * parsed JSON object, collects one message per bad field (named by its path:
 * `name`, `lines[2].quantity`) and throws a single ValidationError naming
 * them all. Catalog and document validation tables are written in terms of
 * these checks, so a rule (a length, a decimal's precision, what a UUID is)
 * holds the same everywhere.
 *
 * NUL characters never get here: readJson() refuses them first (request-text.ts).
 */
import { ValidationError } from '../../errors.js';
import { isUuid } from '../../tenants/tenant.js';

export type FieldErrors = Record<string, string>;

interface Presence {
  /** Absent or null is an error (the message says `required`). */
  required?: boolean;
  /** null is accepted and returned as null. */
  nullable?: boolean;
}

export interface TextRule extends Presence {
  /** Longest accepted, in characters (after trimming). */
  max: number;
  /** Shortest accepted (default 1: empty strings are refused). */
  min?: number;
  /** A pattern the text must match, with what to tell the client when it does not. */
  pattern?: { regex: RegExp; hint: string };
}

export interface DecimalRule extends Presence {
  /** numeric(precision, scale): at most precision - scale digits before the point. */
  precision: number;
  scale: number;
  /** 'positive' (> 0) or 'non-negative' (>= 0); default any sign. */
  sign?: 'positive' | 'non-negative';
}

export interface IntegerRule extends Presence {
  min: number;
  max: number;
}

const DECIMAL_TEXT = /^-?(\d+)(?:\.(\d+))?$/;
/** RFC 3339 date-time with an offset, or a plain date (midnight UTC). */
const TIMESTAMP_TEXT = /^\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:[Zz]|[+-]\d{2}:?\d{2}))?$/;

/**
 * Date's parser rolls impossible dates over (February 30 becomes March 2,
 * 24:00 the next day): the fields must name a real day and time themselves.
 */
function onTheCalendar(text: string): boolean {
  const parts = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2}))?)?/.exec(text);
  if (!parts) return false;
  const [year, month, day, hour, minute, second] = parts.slice(1).map((p) => Number(p ?? 0)) as [number, number, number, number, number, number];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth && hour <= 23 && minute <= 59 && second <= 59;
}

/** Reads one JSON object; `path` prefixes every field name (for nested objects and array items). */
export class InputReader {
  readonly errors: FieldErrors;
  private readonly input: Record<string, unknown>;
  private readonly seen = new Set<string>();
  /** The value was not an object: that one error says it all, its fields are not reported as missing. */
  private readonly notAnObject: boolean;

  constructor(
    body: unknown,
    private readonly path = '',
    errors: FieldErrors = {},
  ) {
    this.errors = errors;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      this.errors[path || 'body'] = 'must be a JSON object';
      this.input = {};
      this.notAnObject = true;
    } else {
      this.input = body as Record<string, unknown>;
      this.notAnObject = false;
    }
  }

  /** The field's name as the client sees it. */
  field(name: string): string {
    return this.path ? `${this.path}.${name}` : name;
  }

  has(name: string): boolean {
    return Object.hasOwn(this.input, name);
  }

  /** The raw value (marks the field as known). */
  raw(name: string): unknown {
    this.seen.add(name);
    return this.input[name];
  }

  fail(name: string, message: string): undefined {
    this.errors[this.field(name)] ??= message;
    return undefined;
  }

  text(name: string, rule: TextRule): string | null | undefined {
    const value = this.present(name, rule);
    if (value === undefined || value === null) return value;
    const min = rule.min ?? 1;
    const what = `a string of ${min === rule.max ? min : `${min}-${rule.max}`} characters`;
    if (typeof value !== 'string') return this.fail(name, `must be ${what}`);
    const text = value.trim();
    if ([...text].length < min || [...text].length > rule.max) return this.fail(name, `must be ${what}`);
    if (rule.pattern && !rule.pattern.regex.test(text)) return this.fail(name, rule.pattern.hint);
    return text;
  }

  /** A decimal as a string (JSON numbers are accepted when they print without an exponent). */
  decimal(name: string, rule: DecimalRule): string | null | undefined {
    const value = this.present(name, rule);
    if (value === undefined || value === null) return value;
    const digits = rule.precision - rule.scale;
    const what = `a decimal with at most ${digits} digits before the point and ${rule.scale} after it`;
    const text = typeof value === 'number' && Number.isFinite(value) ? String(value) : value;
    if (typeof text !== 'string') return this.fail(name, `must be ${what} (a number or a string)`);
    const match = DECIMAL_TEXT.exec(text);
    if (!match) return this.fail(name, `must be ${what}`);
    const whole = (match[1] as string).replace(/^0+(?=\d)/, '');
    const fraction = match[2] ?? '';
    // A lone 0 before the point is no digit: numeric(2,2) holds 0.5.
    const wholeDigits = whole === '0' ? 0 : whole.length;
    if (wholeDigits > digits || fraction.length > rule.scale) return this.fail(name, `must be ${what}`);
    const negative = text.startsWith('-') && /[1-9]/.test(whole + fraction);
    const zero = !/[1-9]/.test(whole + fraction);
    if (rule.sign === 'positive' && (negative || zero)) return this.fail(name, 'must be greater than 0');
    if (rule.sign === 'non-negative' && negative) return this.fail(name, 'must not be negative');
    return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
  }

  integer(name: string, rule: IntegerRule): number | null | undefined {
    const value = this.present(name, rule);
    if (value === undefined || value === null) return value;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < rule.min || value > rule.max) {
      return this.fail(name, `must be an integer from ${rule.min} to ${rule.max}`);
    }
    return value;
  }

  boolean(name: string, rule: Presence = {}): boolean | null | undefined {
    const value = this.present(name, rule);
    if (value === undefined || value === null) return value;
    if (typeof value !== 'boolean') return this.fail(name, 'must be true or false');
    return value;
  }

  oneOf<T extends string>(name: string, values: readonly T[], rule: Presence = {}): T | null | undefined {
    const value = this.present(name, rule);
    if (value === undefined || value === null) return value;
    if (typeof value !== 'string' || !(values as readonly string[]).includes(value)) {
      return this.fail(name, `must be one of ${values.join(', ')}`);
    }
    return value as T;
  }

  uuid(name: string, rule: Presence = {}): string | null | undefined {
    const value = this.present(name, rule);
    if (value === undefined || value === null) return value;
    if (typeof value !== 'string' || !isUuid(value)) return this.fail(name, 'must be a UUID');
    return value.toLowerCase();
  }

  /** An RFC 3339 timestamp (or a plain YYYY-MM-DD, read as midnight UTC), returned as ISO text. */
  timestamp(name: string, rule: Presence = {}): string | null | undefined {
    const value = this.present(name, rule);
    if (value === undefined || value === null) return value;
    const parsed =
      typeof value === 'string' && TIMESTAMP_TEXT.test(value) && onTheCalendar(value)
        ? new Date(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value)
        : undefined;
    if (!parsed || Number.isNaN(parsed.getTime()) || parsed.getUTCFullYear() < 1900 || parsed.getUTCFullYear() > 9999) {
      return this.fail(name, 'must be a date-time such as 2026-11-27T10:00:00Z (or a date, 2026-11-27)');
    }
    return parsed.toISOString();
  }

  /** Readers for each item of an array field (`lines[0]`, `lines[1]`, ...), sharing this reader's errors. */
  items(name: string, rule: { required?: boolean; min: number; max: number }): InputReader[] | undefined {
    const value = this.present(name, rule);
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value) || value.length < rule.min || value.length > rule.max) {
      return this.fail(name, `must be an array of ${rule.min}-${rule.max} items`);
    }
    return value.map((item, i) => new InputReader(item, `${this.field(name)}[${i}]`, this.errors));
  }

  /** Marks every field not read as `unknown field`. Call after reading them all. */
  rejectUnknown(): this {
    for (const key of Object.keys(this.input)) if (!this.seen.has(key)) this.fail(key, 'unknown field');
    return this;
  }

  /** Throws one ValidationError naming every bad field, if there is any. */
  finish(message: string): void {
    if (Object.keys(this.errors).length > 0) throw new ValidationError(this.errors, message);
  }

  private present(name: string, rule: Presence): unknown {
    const value = this.raw(name);
    if (this.notAnObject) return undefined;
    if (value === undefined || (value === null && !rule.nullable)) {
      if (rule.required || value === null) this.fail(name, value === null ? 'must not be null' : 'required');
      return undefined;
    }
    return value;
  }
}
