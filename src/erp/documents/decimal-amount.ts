/**
 * Exact decimal arithmetic for line amounts and document totals, on scaled
 * BigInts: a float would turn 0.1 × 3 into 0.30000000000000004 and round
 * a half cent the wrong way. Inputs are the canonical decimal strings the
 * InputReader returns (no exponent, optional sign, optional fraction).
 */

/** The decimal as an integer count of 10^-scale units (the fraction is padded or must fit). */
export function toScaled(text: string, scale: number): bigint {
  const negative = text.startsWith('-');
  const [whole = '0', fraction = ''] = (negative ? text.slice(1) : text).split('.');
  if (fraction.length > scale) throw new RangeError(`${text} has more than ${scale} decimal places`);
  const units = BigInt(whole + fraction.padEnd(scale, '0'));
  return negative ? -units : units;
}

/** A scaled integer back to text with exactly `scale` decimals ("12.50"). */
export function fromScaled(units: bigint, scale: number): string {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(scale + 1, '0');
  const text = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return negative ? `-${text}` : text;
}

/** Divides by 10^drop, rounding half away from zero (PostgreSQL's round() on numeric does the same). */
function roundDrop(units: bigint, drop: number): bigint {
  if (drop <= 0) return units * 10n ** BigInt(-drop);
  const divisor = 10n ** BigInt(drop);
  const half = divisor / 2n;
  return units >= 0n ? (units + half) / divisor : -((-units + half) / divisor);
}

/** quantity × price rounded half-up to `scale` places, as scaled units. */
export function multiplyRounded(quantity: string, quantityScale: number, price: string, priceScale: number, scale: number): bigint {
  const product = toScaled(quantity, quantityScale) * toScaled(price, priceScale);
  return roundDrop(product, quantityScale + priceScale - scale);
}

/** Whether scaled units fit numeric(precision, scale). */
export function fitsNumeric(units: bigint, precision: number): boolean {
  const magnitude = units < 0n ? -units : units;
  return magnitude < 10n ** BigInt(precision);
}
