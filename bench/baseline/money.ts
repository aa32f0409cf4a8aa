/**
 * The product's rounding of dashboard figures (src/common/money.ts and DashboardService), on
 * BigInt minor units instead of big.js: an exact decimal rounded once, half to even, to the
 * currency's minor units; net of the rounded totals; shares of rounded totals, half up.
 */
import { minorUnits } from '../../src/common/currencies';

export { minorUnits };

/** An exact decimal string (NUMERIC text, any scale) as a count of minor units, half to even. */
export function toMinor(text: string, units: number): bigint {
  const negative = text.startsWith('-');
  const [int, frac = ''] = (negative ? text.slice(1) : text).split('.');
  let v = BigInt(int + frac.slice(0, units).padEnd(units, '0'));
  const rest = frac.slice(units);
  const tail = /[1-9]/.test(rest.slice(1));
  if (rest[0] > '5' || (rest[0] === '5' && (tail || v % 2n === 1n))) v += 1n;
  return negative ? -v : v;
}

/** Minor units written with exactly `units` decimals (`1234n, 2` → `"12.34"`). */
export function fromMinor(v: bigint, units: number): string {
  const digits = (v < 0n ? -v : v).toString().padStart(units + 1, '0');
  const body = units === 0 ? digits : `${digits.slice(0, -units)}.${digits.slice(-units)}`;
  return v < 0n ? `-${body}` : body;
}

/** `part` as a percentage of `whole` (both minor units), half up to 2 decimals; 0.00 for a zero whole. */
export function shareOf(part: bigint, whole: bigint): string {
  if (whole === 0n) return '0.00';
  return fromMinor((part * 20_000n + whole) / (2n * whole), 2);
}

/** totalsIn() of the product's DashboardService. */
export function totalsIn(
  currency: string,
  t: { income: string; expenses: string; count: number },
): {
  currency: string;
  totalIncome: string;
  totalExpenses: string;
  netBalance: string;
  transactionCount: number;
} {
  const units = minorUnits(currency);
  const income = toMinor(t.income, units);
  const expenses = toMinor(t.expenses, units);
  return {
    currency,
    totalIncome: fromMinor(income, units),
    totalExpenses: fromMinor(expenses, units),
    netBalance: fromMinor(income - expenses, units),
    transactionCount: t.count,
  };
}
