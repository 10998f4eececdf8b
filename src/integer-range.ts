/**
 * The one parser for whole numbers typed by people: CLI options and
 * environment variables. Accepts plain decimal digits only (no sign, no
 * exponent, no fraction) so `-1`, `abc`, `1e999` and 20-digit values are all
 * refused with the same message naming the allowed range.
 */
export interface IntegerRange {
  min: number;
  max: number;
}

export type IntegerParse = { ok: true; value: number } | { ok: false; message: string };

export function parseIntegerInRange(name: string, raw: string, range: IntegerRange): IntegerParse {
  const text = raw.trim();
  // 16 digits is beyond every range we accept and keeps Number() exact.
  if (/^\d{1,16}$/.test(text)) {
    const value = Number(text);
    if (value >= range.min && value <= range.max) return { ok: true, value };
  }
  return { ok: false, message: `${name} must be a whole number from ${range.min} to ${range.max}` };
}
