import { parse } from 'csv-parse/sync';
import type { TestApp } from './app';
import { bearer, createUser, type TestUser } from './factories';
import type { NewTx, TxBody } from './transactions';

/**
 * What the CSV export and import e2e files (csv-*.e2e-spec.ts) share. Every request made here
 * goes through `ok()`, so no response those files see may be a 5xx.
 */

export const EXPORT = '/api/v1/transactions/export';
export const IMPORT = '/api/v1/transactions/import';
export const EXPORT_HEADER =
  'id,date,type,amount,currency,category,notes,ownerId,accountId,createdAt';
export const IMPORT_HEADER = 'date,type,amount,category,notes';

/** Totals in one currency. */
export interface Totals {
  currency: string;
  totalIncome: string;
  totalExpenses: string;
  netBalance: string;
  transactionCount: number;
}
/** A dashboard summary: totals in the reporting currency, and per original currency. */
export interface Summary extends Totals {
  byCurrency: Totals[];
}
export type Query = Record<string, string>;
export type CsvRecord = Record<string, string>;

/** Lines joined with LF and a final line break. */
export const lines = (...l: string[]) => `${l.join('\n')}\n`;

/** A clean import file of three rows. */
export const three = lines(
  IMPORT_HEADER,
  '2026-06-01,expense,12.50,Food,lunch',
  '2026-06-02,income,1000,Salary,',
  '2026-06-03,expense,0.99,Apps,app store',
);

/** Fails the test on any server error, whatever the test expects otherwise. */
export function ok<T extends { status: number; text?: string }>(res: T): T {
  if (res.status >= 500) throw new Error(`server error ${res.status}: ${res.text ?? ''}`);
  expect(res.status).toBeLessThan(500);
  return res;
}

const parseCsv = (text: string): CsvRecord[] => parse<CsvRecord>(text, { columns: true });

export interface RowError {
  row: number;
  field: string;
  message: string;
}
export const rowErrors = (res: { body: unknown }): RowError[] =>
  (res.body as { errors: RowError[] }).errors;

/**
 * The requests the CSV tests make, bound to the file's app and admin. Both are getters because
 * the file's beforeAll starts the app after these helpers are created.
 */
export function csvHelpers(getApp: () => TestApp, getAdmin: () => TestUser) {
  async function createTx(user: TestUser, t: NewTx, ownerId?: string): Promise<TxBody> {
    const res = ok(
      await getApp()
        .http()
        .post('/api/v1/transactions')
        .set(bearer(user))
        .send(ownerId ? { ...t, ownerId } : t),
    );
    expect(res.status).toBe(201);
    return res.body as TxBody;
  }

  async function listAll(user: TestUser, query: Query = {}): Promise<TxBody[]> {
    const out: TxBody[] = [];
    for (let page = 1; ; page++) {
      const res = ok(
        await getApp()
          .http()
          .get('/api/v1/transactions')
          .query({ ...query, limit: '100', page: String(page) })
          .set(bearer(user)),
      );
      expect(res.status).toBe(200);
      out.push(...(res.body.data as TxBody[]));
      if (page >= res.body.meta.totalPages) return out;
    }
  }

  const exportRaw = async (user: TestUser, query: Query = {}) =>
    ok(await getApp().http().get(EXPORT).query(query).set(bearer(user)));

  async function exportCsv(
    user: TestUser,
    query: Query = {},
  ): Promise<{ text: string; rows: CsvRecord[] }> {
    const res = await exportRaw(user, query);
    expect(res.status).toBe(200);
    return { text: res.text, rows: parseCsv(res.text) };
  }

  const importCsv = async (
    user: TestUser,
    body: string | Buffer,
    query: Query = {},
    contentType = 'text/csv',
  ) =>
    ok(
      await getApp()
        .http()
        .post(IMPORT)
        .query(query)
        .set(bearer(user))
        .set('Content-Type', contentType)
        .send(body),
    );

  const importMultipart = async (
    user: TestUser,
    body: string | Buffer,
    query: Query = {},
    field = 'file',
  ) =>
    ok(
      await getApp()
        .http()
        .post(IMPORT)
        .query(query)
        .set(bearer(user))
        .attach(field, Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8'), {
          filename: 'transactions.csv',
          contentType: 'text/csv',
        }),
    );

  async function summary(userId?: string): Promise<Summary> {
    const res = ok(
      await getApp()
        .http()
        .get('/api/v1/dashboard/summary')
        .query(userId ? { userId } : {})
        .set(bearer(getAdmin())),
    );
    expect(res.status).toBe(200);
    return res.body as Summary;
  }

  /**
   * The summary computed straight from the transactions table (live rows only). Every row these
   * tests write is in USD, the base currency and so the default reporting currency: the totals
   * are the plain sums, and byCurrency recounts them per currency.
   */
  async function sqlSummary(ownerId?: string): Promise<Summary> {
    const inc = `coalesce(sum(amount) FILTER (WHERE type = 'income'), 0)`;
    const exp = `coalesce(sum(amount) FILTER (WHERE type = 'expense'), 0)`;
    const columns = `${inc}::numeric(20,2)::text AS "totalIncome", ${exp}::numeric(20,2)::text AS "totalExpenses",
              (${inc} - ${exp})::numeric(20,2)::text AS "netBalance", count(*)::int AS "transactionCount"`;
    const live = 'deleted_at IS NULL AND ($1::uuid IS NULL OR owner_id = $1)';
    const { rows } = await getApp().sql.query<Totals>(
      `SELECT 'USD' AS currency, ${columns} FROM transactions WHERE ${live}`,
      [ownerId ?? null],
    );
    const { rows: byCurrency } = await getApp().sql.query<Totals>(
      `SELECT currency::text AS currency, ${columns} FROM transactions WHERE ${live}
       GROUP BY currency ORDER BY currency`,
      [ownerId ?? null],
    );
    return { ...rows[0], byCurrency };
  }

  const countRows = async (ownerId?: string): Promise<number> =>
    (
      await getApp().sql.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM transactions WHERE $1::uuid IS NULL OR owner_id = $1',
        [ownerId ?? null],
      )
    ).rows[0].n;

  const analyst = () => createUser(getApp(), getAdmin(), 'analyst');

  return {
    createTx,
    listAll,
    exportRaw,
    exportCsv,
    importCsv,
    importMultipart,
    summary,
    sqlSummary,
    countRows,
    analyst,
  };
}
