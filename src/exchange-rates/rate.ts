/**
 * An exchange rate as the API takes it: the price of one `base` unit in `quote`, a plain decimal
 * greater than zero with at most 10 decimals (the column's `scale(rate) <= 10` check) and at most
 * 18 significant digits, so any rate survives the trip to NUMERIC and back digit for digit.
 */
export const MAX_RATE_DECIMALS = 10;
export const MAX_RATE_DIGITS = 18;

// Only a plain decimal: no sign, exponent, spaces, thousands separators, nor a bare "." edge.
const DECIMAL = /^(\d+)(?:\.(\d+))?$/;
// Far beyond any valid rate (18 digits, a point, a few leading zeros); keeps the regex cheap.
const MAX_TEXT_LENGTH = 64;

/**
 * The rate's text when `value` is one: a decimal string, or a JSON number whose shortest form
 * (`String(n)`) is such a decimal (`1.0845` yes; `1e-7` and `0.1 + 0.2`'s 17 decimals no).
 * Decimals count as written (`"1.00000000000"` has 11 and is refused); significant digits count
 * from the first non-zero digit, as written.
 */
export function parseRate(value: unknown): string | undefined {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'number' && Number.isFinite(value)) text = String(value);
  else return undefined;
  if (text.length > MAX_TEXT_LENGTH) return undefined;
  const match = DECIMAL.exec(text);
  if (!match) return undefined;
  const [, int, frac = ''] = match;
  if (frac.length > MAX_RATE_DECIMALS) return undefined;
  const significant = `${int}${frac}`.replace(/^0+/, '');
  if (significant.length === 0 || significant.length > MAX_RATE_DIGITS) return undefined;
  return text;
}

/**
 * The form a rate is stored and answered in: no leading zeros, no trailing zeros after the point,
 * no point without decimals (`"01.50"` → `"1.5"`, `"2.000"` → `"2"`), so equal rates read equal.
 * Only zeros are dropped; `text` must be a rate `parseRate` accepted.
 */
export function normaliseRate(text: string): string {
  const [int, frac = ''] = text.split('.');
  const digits = int.replace(/^0+(?=\d)/, '');
  const decimals = frac.replace(/0+$/, '');
  return decimals ? `${digits}.${decimals}` : digits;
}
