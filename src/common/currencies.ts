import { data } from 'currency-codes';
import { fitsMinorUnits } from './money';
import type { FieldIssue } from './problem';

/**
 * ISO 4217 currencies and their minor units, from the `currency-codes` package (the ISO list).
 * Codes for which ISO 4217 gives no minor units ("N.A.": precious metals, bond market units, the
 * SDR, the testing and no-currency codes) and the two units with four decimals are not money an
 * amount can be kept in here (amounts carry 0-3 decimals), so they are not accepted.
 */
export interface Currency {
  code: string;
  name: string;
  minorUnits: number;
}

// The package records ISO's "N.A." as 0, which would make an ounce of gold an integer amount.
const NO_MINOR_UNITS = new Set([
  'XAG',
  'XAU',
  'XBA',
  'XBB',
  'XBC',
  'XBD',
  'XDR',
  'XPD',
  'XPT',
  'XSU',
  'XTS',
  'XUA',
  'XXX',
]);

export const CURRENCIES: readonly Currency[] = data
  .filter((c) => !NO_MINOR_UNITS.has(c.code) && c.digits >= 0 && c.digits <= 3)
  .map((c) => ({ code: c.code, name: c.currency.trim(), minorUnits: c.digits }))
  .sort((a, b) => (a.code < b.code ? -1 : 1));

const BY_CODE = new Map(CURRENCIES.map((c) => [c.code, c]));

/** Minor units of an accepted code (`JPY` 0, `USD` 2, `KWD` 3); undefined for anything else. */
export const minorUnitsOf = (code: string): number | undefined => BY_CODE.get(code)?.minorUnits;

/** An accepted ISO 4217 code, upper case exactly (`usd` is not one). */
export const isCurrencyCode = (value: unknown): value is string =>
  typeof value === 'string' && BY_CODE.has(value);

/** Minor units of a code the database holds (it only ever holds accepted codes). */
export function minorUnits(code: string): number {
  const units = minorUnitsOf(code);
  if (units === undefined) throw new Error(`Unknown currency ${code}`);
  return units;
}

/** The 400 issue of an amount `field` with more decimals than `code` has; undefined when it fits. */
export function minorUnitsIssue(field: string, text: string, code: string): FieldIssue | undefined {
  if (fitsMinorUnits(text, minorUnits(code))) return undefined;
  return { field, message: `${field}: ${minorUnitsRule(code)}` };
}

/** What an amount in `code` may carry, for the 400 that refuses one with more decimals. */
export function minorUnitsRule(code: string): string {
  const units = minorUnits(code);
  return units === 0
    ? `${code} has no minor units: the amount takes no decimal point`
    : `${code} amounts have at most ${units} decimal${units === 1 ? '' : 's'}`;
}

let baseCurrency = 'USD';

/**
 * BASE_CURRENCY, set once at start (bootstrap.ts) so that request validation can judge the amount
 * of a new row that names neither currency nor account; everything else reads it from AppConfig.
 */
export function useBaseCurrency(code: string): void {
  baseCurrency = code;
}

export const baseCurrencyForValidation = (): string => baseCurrency;
