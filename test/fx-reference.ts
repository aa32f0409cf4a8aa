import { Rational } from './exact-rational';

/**
 * The reporting-currency rule written out again, independently of the server, with exact rational
 * arithmetic (docs/api.md, "Reporting currency"): latest rate on or before the date within
 * FX_MAX_AGE_DAYS (7), else the inverse of the opposite rate, else through the base currency
 * (USD); one half-even rounding. Shared by the in-process figures
 * (test/integration/dashboard-currency.int-spec.ts) and the e2e 422 checks.
 */

const BASE = 'USD';
const MAX_AGE_DAYS = 7;
export const UNITS: Record<string, number> = { USD: 2, EUR: 2, CHF: 2, GBP: 2, JPY: 0, KWD: 3 };

export interface Rate {
  base: string;
  quote: string;
  date: string;
  rate: string;
}
export interface Tx {
  type: 'income' | 'expense';
  amount: string;
  currency: string;
  category: string;
  date: string;
}

const dayNumber = (date: string) => Date.parse(`${date}T00:00:00Z`) / 86_400_000;

function direct(rates: Rate[], c: string, r: string, date: string): Rational | undefined {
  const usable = rates
    .filter((x) => x.base === c && x.quote === r && x.date <= date)
    .filter((x) => dayNumber(date) - dayNumber(x.date) <= MAX_AGE_DAYS)
    .sort((a, b) => (a.date < b.date ? 1 : -1));
  return usable[0] && Rational.of(usable[0].rate);
}

function leg(rates: Rate[], c: string, r: string, date: string): Rational | undefined {
  if (c === r) return Rational.of('1');
  const d = direct(rates, c, r, date);
  if (d) return d;
  const inverse = direct(rates, r, c, date);
  return inverse && Rational.of('1').div(inverse);
}

function rateOf(rates: Rate[], c: string, r: string, date: string): Rational | undefined {
  const straight = leg(rates, c, r, date);
  if (straight) return straight;
  const toBase = leg(rates, c, BASE, date);
  const fromBase = leg(rates, BASE, r, date);
  return toBase && fromBase ? toBase.times(fromBase) : undefined;
}

/** The exact sum of the rows in `r`; throws when a rate is missing (the test then expects a 422). */
export function convertedSum(rates: Rate[], rows: Tx[], r: string): Rational {
  return rows.reduce((sum, t) => {
    const rate = rateOf(rates, t.currency, r, t.date);
    if (!rate) throw new Error(`no rate ${t.currency}->${r} on ${t.date}`);
    return sum.plus(Rational.of(t.amount).times(rate));
  }, Rational.ZERO);
}

export function missingOf(rates: Rate[], rows: Tx[], r: string) {
  const seen = new Map<string, { from: string; to: string; date: string }>();
  for (const t of rows) {
    if (!rateOf(rates, t.currency, r, t.date))
      seen.set(`${t.date} ${t.currency}`, { from: t.currency, to: r, date: t.date });
  }
  return [...seen.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, v]) => v);
}

export function expectedSummary(rates: Rate[], rows: Tx[], r: string) {
  const units = UNITS[r];
  const income = convertedSum(
    rates,
    rows.filter((t) => t.type === 'income'),
    r,
  ).toMoney(units);
  const expenses = convertedSum(
    rates,
    rows.filter((t) => t.type === 'expense'),
    r,
  ).toMoney(units);
  const currencies = [...new Set(rows.map((t) => t.currency))].sort();
  const own = (c: string, type: Tx['type']) =>
    rows
      .filter((t) => t.currency === c && t.type === type)
      .reduce((s, t) => s.plus(Rational.of(t.amount)), Rational.ZERO);
  return {
    currency: r,
    totalIncome: income,
    totalExpenses: expenses,
    netBalance: Rational.of(income).minus(Rational.of(expenses)).toMoney(units),
    transactionCount: rows.length,
    byCurrency: currencies.map((c) => ({
      currency: c,
      totalIncome: own(c, 'income').toMoney(UNITS[c]),
      totalExpenses: own(c, 'expense').toMoney(UNITS[c]),
      netBalance: own(c, 'income').minus(own(c, 'expense')).toMoney(UNITS[c]),
      transactionCount: rows.filter((t) => t.currency === c).length,
    })),
  };
}

/** The rates both tiers' reporting-currency tests set. */
export const RATES: Rate[] = [
  { base: 'EUR', quote: 'USD', date: '2026-01-01', rate: '1.1' },
  { base: 'EUR', quote: 'USD', date: '2026-01-10', rate: '1.2' },
  { base: 'USD', quote: 'JPY', date: '2026-01-01', rate: '150' },
  { base: 'USD', quote: 'JPY', date: '2026-01-10', rate: '160' },
  { base: 'GBP', quote: 'USD', date: '2026-01-05', rate: '1.25' },
  { base: 'CHF', quote: 'USD', date: '2026-02-01', rate: '0.5' },
];

/** Rows that no rate in RATES converts into USD. */
export const MISSING_RATE_ROWS: Tx[] = [
  { type: 'income', amount: '5.00', currency: 'EUR', category: 'Sales', date: '2026-01-05' },
  // 10 days after the last EUR rate: too old.
  { type: 'income', amount: '5.00', currency: 'EUR', category: 'Sales', date: '2026-01-20' },
  { type: 'expense', amount: '1.005', currency: 'KWD', category: 'Fees', date: '2026-01-02' },
  { type: 'expense', amount: '2.000', currency: 'KWD', category: 'Fees', date: '2026-01-02' },
];
