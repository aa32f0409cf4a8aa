import BigJs from 'big.js';

// A private constructor: its division (a transfer's rate) carries 40 decimals, far past any tie a
// 15-digit amount can come near, so the one half-even rounding after it is exact.
const Big = BigJs();
Big.DP = 40;

/**
 * Money stays a decimal string from the request to NUMERIC and back; sums happen in SQL. An
 * amount is stored with exactly its currency's minor units (`12.50` USD, `1200` JPY, `1.005` KWD),
 * so the column prints it formatted. The only arithmetic here is exact decimal arithmetic: big.js,
 * and BigInt on scaled integers where a dashboard does it per row (the one rounding of a converted
 * figure, shares of rounded totals).
 */

/** The shape of any amount: up to 12 integer digits and up to 3 decimals (the widest currency). */
const MONEY = /^\d{1,12}(\.\d{1,3})?$/;
const SIGNED_MONEY = /^-?\d{1,12}(\.\d{1,3})?$/;

/** `"12"`, `"12.5"`, `"1.005"` have the shape of money; so does a JSON number that prints like one. */
export function parseMoney(value: unknown, signed = false): string | undefined {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'number' && Number.isFinite(value)) text = String(value);
  else return undefined;
  return (signed ? SIGNED_MONEY : MONEY).test(text) ? text : undefined;
}

/** Decimals written in a money string (`"1.50"` → 2, `"100"` → 0). */
export const decimalsOf = (text: string): number => text.split('.')[1]?.length ?? 0;

/**
 * Whether the written amount fits the currency's minor units: at most that many decimals, and no
 * decimal point at all for a currency without minor units (`"100.0"` JPY is refused).
 */
export const fitsMinorUnits = (text: string, minorUnits: number): boolean =>
  minorUnits === 0 ? !text.includes('.') : decimalsOf(text) <= minorUnits;

/**
 * The amount written with exactly `minorUnits` decimals, as the database then prints it:
 * `"007.5"`, 2 → `"7.50"`; `"12.000"`, 0 → `"12"`. Only digits that are zero are dropped; a value
 * that does not fit is the caller's mistake.
 */
export function formatMoney(text: string, minorUnits: number): string {
  const negative = text.startsWith('-');
  const [int, frac = ''] = (negative ? text.slice(1) : text).split('.');
  if (/[1-9]/.test(frac.slice(minorUnits)))
    throw new Error(`${text} has more than ${minorUnits} decimals`);
  const digits = int.replace(/^0+(?=\d)/, '');
  const decimals = frac.slice(0, minorUnits).padEnd(minorUnits, '0');
  const body = minorUnits === 0 ? digits : `${digits}.${decimals}`;
  return negative && /[1-9]/.test(body) ? `-${body}` : body;
}

/** Whether a stored amount keeps its value in another currency's minor units (`"12.00"` → JPY yes, `"12.50"` no). */
export const keepsValueIn = (text: string, minorUnits: number): boolean =>
  !/[1-9]/.test((text.split('.')[1] ?? '').slice(minorUnits));

/** A money string above zero (`"0.00"` is not an amount). */
export function isPositiveMoney(text: string): boolean {
  return MONEY.test(text) && /[1-9]/.test(text);
}

/** Orders two non-negative money strings without converting them to floating point. */
export function compareMoney(a: string, b: string): number {
  return new Big(a).cmp(new Big(b));
}

/** a / b (b > 0) rounded once, half to even, to `decimals` decimals: a transfer's rate. */
export function ratio(a: string, b: string, decimals: number): string {
  return new Big(a).div(b).round(decimals, Big.roundHalfEven).toFixed(decimals);
}

/** Whether two money strings hold the same value (`"5"` and `"5.00"` do). */
export const sameMoney = (a: string, b: string): boolean => new Big(a).eq(b);

/** a − b, both already at `minorUnits` decimals. */
export const subtractMoney = (a: string, b: string, minorUnits: number): string =>
  new Big(a).minus(b).toFixed(minorUnits);

/** a + b, both already at `minorUnits` decimals. */
export const addMoney = (a: string, b: string, minorUnits: number): string =>
  new Big(a).plus(b).toFixed(minorUnits);

/**
 * `part` as a percentage of `whole`, rounded half up to 2 decimals (`"12.34"`), as category
 * shares always were; `"0.00"` for a zero whole.
 */
export function shareOf(part: string, whole: string): string {
  // In integers (BigInt) rather than big.js: its division carries 40 decimals, which made this
  // the dashboard categories' largest CPU cost (docs/performance.md, "Where the time goes").
  const scale = Math.max(decimalsOf(part), decimalsOf(whole));
  const w = scaledInteger(whole, scale);
  if (w === 0n) return '0.00';
  const p = scaledInteger(part, scale) * 10_000n;
  const [a, b] = [p < 0n ? -p : p, w < 0n ? -w : w];
  const q = a / b + ((a % b) * 2n >= b ? 1n : 0n);
  return withDecimals(p < 0n !== w < 0n ? -q : q, 2);
}

const PLAIN_DECIMAL = /^-?\d+(\.\d+)?$/;
/** `"007"`, `"-0.00"`: written otherwise than `formatMoney` would write them. */
const LEADING_ZERO = /^-?0\d|^-0(\.0*)?$/;

/** A plain decimal times 10^scale (scale ≥ its decimals), as an integer. */
function scaledInteger(text: string, scale: number): bigint {
  if (!PLAIN_DECIMAL.test(text)) throw new Error(`not a plain decimal: ${text}`);
  const [int, frac = ''] = text.split('.');
  return BigInt(int + frac.padEnd(scale, '0'));
}

/**
 * The one half-even rounding of a converted figure: a sum of `terms` quotients, each carried to
 * 40 decimals (so off by at most half of 1e-40; see `convertedRollups`). A sum that close to a
 * tie is the tie: a true value that near one and not on it would need rates with far more
 * digits than a rate may have, while ties do happen (0.045 KWD at 1 / 3 is exactly 0.015 USD).
 */
export function roundConverted(sum: string, minorUnits: number, terms: number): string {
  // A sum in the currency's own minor units (every unconverted total) is already rounded; the
  // 40-decimal arithmetic below cost ~1.5 µs a figure, ~10 % of a trends request's CPU.
  const decimals = decimalsOf(sum);
  if (decimals <= minorUnits && PLAIN_DECIMAL.test(sum)) {
    // PostgreSQL prints a NUMERIC sum of such amounts without leading zeros.
    return decimals === minorUnits && !LEADING_ZERO.test(sum) ? sum : formatMoney(sum, minorUnits);
  }
  // In integers scaled by 10^scale (BigInt): big.js was most of a trends request's arithmetic.
  const scale = Math.max(decimals, TOLERANCE_DECIMALS);
  const signed = scaledInteger(sum, scale);
  const x = signed < 0n ? -signed : signed;
  const unit = 10n ** BigInt(scale - minorUnits);
  const tie = x - (x % unit) + unit / 2n;
  const tolerance = BigInt(Math.max(terms, 1)) * 10n ** BigInt(scale - TOLERANCE_DECIMALS);
  const snapped = (x > tie ? x - tie : tie - x) <= tolerance ? tie : x;
  const [q, r] = [snapped / unit, snapped % unit];
  const rounded = q + (r * 2n > unit || (r * 2n === unit && q % 2n === 1n) ? 1n : 0n);
  return withDecimals(signed < 0n ? -rounded : rounded, minorUnits);
}

/** The quotients a converted sum adds up are carried to this many decimals (`roundConverted`). */
const TOLERANCE_DECIMALS = 40;

/** An integer count of 10^-decimals as a decimal string; zero has no sign. */
function withDecimals(n: bigint, decimals: number): string {
  const digits = (n < 0n ? -n : n).toString().padStart(decimals + 1, '0');
  const sign = n < 0n ? '-' : '';
  return decimals === 0
    ? `${sign}${digits}`
    : `${sign}${digits.slice(0, -decimals)}.${digits.slice(-decimals)}`;
}
