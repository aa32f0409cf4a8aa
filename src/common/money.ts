/**
 * Money stays a decimal string from the request to NUMERIC(14,2) and back; sums happen in SQL.
 * These helpers only check shape, never do arithmetic.
 */
const MONEY = /^\d{1,12}(\.\d{1,2})?$/;

/** `"12"`, `"12.5"`, `"12.50"` are money; so is a JSON number with at most two decimals. */
export function parseMoney(value: unknown): string | undefined {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'number' && Number.isFinite(value)) text = String(value);
  else return undefined;
  return MONEY.test(text) ? text : undefined;
}

/** The money string as NUMERIC(14,2) prints it: `"007.5"` → `"7.50"`. */
export function normalizeMoney(text: string): string {
  const [int, frac = ''] = text.split('.');
  return `${int.replace(/^0+(?=\d)/, '')}.${frac.padEnd(2, '0')}`;
}

/** A money string above zero (`"0.00"` is not an amount). */
export function isPositiveMoney(text: string): boolean {
  return MONEY.test(text) && /[1-9]/.test(text);
}

/** Orders two money strings without converting them to floating point. */
export function compareMoney(a: string, b: string): number {
  const [ai, af = ''] = a.split('.');
  const [bi, bf = ''] = b.split('.');
  const ia = ai.replace(/^0+(?=\d)/, '');
  const ib = bi.replace(/^0+(?=\d)/, '');
  if (ia.length !== ib.length) return ia.length < ib.length ? -1 : 1;
  const left = ia + af.padEnd(2, '0');
  const right = ib + bf.padEnd(2, '0');
  return left === right ? 0 : left < right ? -1 : 1;
}
