import type { TestApp } from './app';
import { bearer, type TestUser } from './factories';

/** Small helpers shared by the dashboard e2e files. */

export interface NewTx {
  type: 'income' | 'expense';
  amount: string;
  category: string;
  date: string;
  ownerId?: string;
  notes?: string;
}

export interface TxRow {
  id: string;
  ownerId: string;
  type: 'income' | 'expense';
  amount: string;
  category: string;
  date: string;
  createdAt: string;
}

/** POST /transactions as `actor`; throws unless 201. */
export async function createTx(app: TestApp, actor: TestUser, body: NewTx): Promise<TxRow> {
  const res = await app.http().post('/api/v1/transactions').set(bearer(actor)).send(body);
  if (res.status !== 201)
    throw new Error(`create transaction failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Creates the rows one after another, so their createdAt follow the array order. */
export async function createAll(app: TestApp, actor: TestUser, rows: NewTx[]): Promise<TxRow[]> {
  const out: TxRow[] = [];
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

/** A trend point, written compactly: [period, income, expenses, net]. */
export const point = (period: string, income: string, expenses: string, net: string) => ({
  period,
  income,
  expenses,
  net,
});

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
