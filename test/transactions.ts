import type { TestApp } from './app';
import { bearer, type TestUser } from './factories';

/** What the transaction e2e files share: the route, a valid body, and creating rows through it. */

export const TX = '/api/v1/transactions';

export type TxType = 'income' | 'expense';

/** A body for POST /transactions that names every required field (a type, so it fits `validTx`). */
export type NewTx = {
  type: TxType;
  amount: string;
  category: string;
  date: string;
  notes?: string | null;
  ownerId?: string;
};

/** A transaction as the API answers it. */
export interface TxBody {
  id: string;
  ownerId: string;
  accountId: string | null;
  type: TxType;
  amount: string;
  currency: string;
  category: string;
  date: string;
  notes: string | null;
  createdAt: string;
  updatedAt: string;
  deletedAt?: string | null;
}

/**
 * The one transaction body of the e2e tests: a valid expense (12.50 Food on 2026-03-14) with
 * `overrides` on top. A file that relies on other values passes them as overrides.
 */
export const VALID_TX = {
  type: 'expense',
  amount: '12.50',
  category: 'Food',
  date: '2026-03-14',
} as const;
export const validTx = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  ...VALID_TX,
  ...overrides,
});

/** The page-mode `total` of a list query (one row fetched), as `user` sees it on `on`. */
export async function listTotal(on: TestApp, user: TestUser, query: string): Promise<number> {
  const res = await on.http().get(`${TX}?limit=1&${query}`).set(bearer(user)).expect(200);
  return (res.body as { meta: { total: number } }).meta.total;
}

/** Creates a transaction through the API and fails loudly unless it is a 201. */
export async function createTx(
  app: TestApp,
  user: TestUser,
  overrides: Record<string, unknown> = {},
): Promise<TxBody> {
  const res = await app.http().post(TX).set(bearer(user)).send(validTx(overrides));
  if (res.status !== 201)
    throw new Error(`create transaction failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as TxBody;
}

export const ORG_SCOPE = '00000000-0000-0000-0000-000000000000';

/**
 * The rollups of one owner (or, with ORG_SCOPE, of everyone) next to what a direct aggregate
 * over the live transactions says: totals, per (day, type, category, currency) from the daily
 * table, per (month, type, category, currency) from the monthly one and per (type, category,
 * currency) from the all-time totals.
 */
export async function rollupVersusLive(
  app: TestApp,
  scopeId: string,
): Promise<{ rollup: unknown; live: unknown }> {
  const live = scopeId === ORG_SCOPE ? '$1::uuid IS NOT NULL' : 'owner_id = $1';
  const q = (sql: string) => app.sql.query(sql, [scopeId]).then((r) => r.rows);
  const [
    rollupTotals,
    liveTotals,
    rollupGroups,
    liveGroups,
    rollupMonths,
    liveMonths,
    rollupAllTime,
    liveAllTime,
  ] = await Promise.all([
    q(`SELECT coalesce(sum(total), 0)::text AS total, coalesce(sum(count), 0)::text AS count
         FROM rollup_daily WHERE scope_id = $1`),
    q(`SELECT coalesce(sum(amount), 0)::text AS total, count(*)::text AS count
         FROM transactions WHERE deleted_at IS NULL AND ${live}`),
    q(`SELECT day::text AS day, type::text AS type, category, currency, total::text AS total,
           count::int AS count
         FROM rollup_daily WHERE scope_id = $1 AND count <> 0 ORDER BY 1, 2, 3, 4`),
    q(`SELECT date::text AS day, type::text AS type, category, currency,
           sum(amount)::text AS total, count(*)::int AS count
         FROM transactions WHERE deleted_at IS NULL AND ${live}
         GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`),
    q(`SELECT month::text AS month, type::text AS type, category, currency,
           total::text AS total, count::int AS count
         FROM rollup_monthly WHERE scope_id = $1 AND count <> 0 ORDER BY 1, 2, 3, 4`),
    q(`SELECT date_trunc('month', date)::date::text AS month, type::text AS type, category,
           currency, sum(amount)::text AS total, count(*)::int AS count
         FROM transactions WHERE deleted_at IS NULL AND ${live}
         GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`),
    q(`SELECT type::text AS type, category, currency, total::text AS total, count::int AS count
         FROM rollup_totals WHERE scope_id = $1 AND count <> 0 ORDER BY 1, 2, 3`),
    q(`SELECT type::text AS type, category, currency, sum(amount)::text AS total,
           count(*)::int AS count
         FROM transactions WHERE deleted_at IS NULL AND ${live} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`),
  ]);
  return {
    rollup: {
      totals: rollupTotals[0],
      groups: rollupGroups,
      months: rollupMonths,
      allTime: rollupAllTime,
    },
    live: {
      totals: liveTotals[0],
      groups: liveGroups,
      months: liveMonths,
      allTime: liveAllTime,
    },
  };
}
