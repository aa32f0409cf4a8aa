import type { TestApp } from './app';
import { bearer, type TestUser } from './factories';
import { createTx, type NewTx, type TxBody } from './transactions';

/** Small helpers shared by the dashboard e2e files. */

/** Creates the rows one after another, so their createdAt follow the array order. */
export async function createAll(app: TestApp, actor: TestUser, rows: NewTx[]): Promise<TxBody[]> {
  const out: TxBody[] = [];
  for (const row of rows) out.push(await createTx(app, actor, row));
  return out;
}

/** GET /api/v1/dashboard<path> as `user`; the caller asserts the status. */
export function dash(
  app: TestApp,
  user: TestUser,
  path: string,
  query: Record<string, string | number | undefined> = {},
) {
  const defined = Object.entries(query).filter(([, value]) => value !== undefined);
  return app
    .http()
    .get(`/api/v1/dashboard${path}`)
    .set(bearer(user))
    .query(Object.fromEntries(defined));
}

/** One field of every element of a JSON array body. */
export function pluck(body: unknown, key: string): unknown[] {
  return (body as Record<string, unknown>[]).map((item) => item[key]);
}

/**
 * The reporting currency the tests' dashboards answer in by default: BASE_CURRENCY of the test
 * app. Every row the dashboard tests create is in it.
 */
export const BASE = 'USD';

/**
 * A trend point (or forecast month), written compactly: [period, income, expenses, net], in the
 * reporting currency.
 */
export const point = (
  period: string,
  income: string,
  expenses: string,
  net: string,
  currency = BASE,
) => ({ period, currency, income, expenses, net });

/** A /categories row in the reporting currency: [category, type, total, count, share]. */
export const categoryRow = (
  category: string,
  type: 'income' | 'expense',
  total: string,
  count: number,
  share: string,
  currency = BASE,
) => ({ category, currency, type, total, count, share });

/** Totals in one currency, as a byCurrency entry or a byUser row gives them. */
export const totalsIn = (
  currency: string,
  totalIncome: string,
  totalExpenses: string,
  netBalance: string,
  transactionCount: number,
) => ({ currency, totalIncome, totalExpenses, netBalance, transactionCount });

/**
 * The summary of rows that are all in the base currency, reported in it: the totals, and
 * byCurrency holding the same figures once, or nothing when no row is counted.
 */
export function usdSummary(income: string, expenses: string, net: string, count: number) {
  const totals = totalsIn(BASE, income, expenses, net, count);
  return { ...totals, byCurrency: count > 0 ? [totals] : [] };
}

/** Today's date (YYYY-MM-DD) in an IANA time zone, as the app computes it. */
export function todayIn(timeZone: string, now = new Date()): string {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(now);
}

/** Calendar arithmetic on YYYY-MM-DD strings (UTC, no time of day involved). */
export function addDays(date: string, days: number): string {
  const [y, m, d] = date.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

/** The first day of the month `months` away from the month of `date`. */
export function monthStart(date: string, months = 0): string {
  const [y, m] = date.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1 + months, 1)).toISOString().slice(0, 10);
}
