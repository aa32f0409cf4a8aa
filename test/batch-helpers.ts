import type { Response } from 'supertest';
import type { TestApp } from './app';
import { bearer } from './factories';
import { ORG_SCOPE, TX, validTx } from './transactions';

/** What the batch e2e files share: operations, a seeded random source, recounts from SQL. */

export const BATCH = `${TX}/batch`;

export type Op = Record<string, unknown>;
export const create = (data: Record<string, unknown> = {}): Op => ({
  op: 'create',
  data: validTx(data),
});
export const update = (id: string, data: Record<string, unknown>, ifMatch?: string): Op => ({
  op: 'update',
  id,
  data,
  ...(ifMatch ? { ifMatch } : {}),
});
export const del = (id: string): Op => ({ op: 'delete', id });
export const restore = (id: string): Op => ({ op: 'restore', id });

export interface BatchResult {
  index: number;
  status: number;
  id?: string;
  etag?: string;
  problem?: { status: number; detail: string; errors?: { field: string }[] };
}

/** POST /transactions/batch as `caller` (a user or an API key); the caller asserts the status. */
export const postBatch = (
  app: TestApp,
  caller: { token: string },
  body: unknown,
  headers: Record<string, string> = {},
) =>
  app
    .http()
    .post(BATCH)
    .set(bearer(caller))
    .set(headers)
    .send(body as object);

export { pick, seeded } from './seeded';

export function shuffled<T>(rng: () => number, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** A random merge of several sequences that keeps each sequence's own order. */
export function interleave<T>(rng: () => number, sequences: readonly (readonly T[])[]): T[] {
  const queues = sequences.map((s) => [...s]).filter((s) => s.length > 0);
  const out: T[] = [];
  while (queues.length > 0) {
    // Weighted by what is left, so every interleaving is possible and long runs spread out.
    const left = queues.reduce((n, q) => n + q.length, 0);
    let at = Math.floor(rng() * left);
    const i = queues.findIndex((q) => (at -= q.length) < 0);
    out.push(queues[i].shift()!);
    if (queues[i].length === 0) queues.splice(i, 1);
  }
  return out;
}

/** The multiset of statuses, e.g. `{ 200: 19, 422: 1 }`: reads well in a failure. */
export const statusCounts = (responses: { status: number }[]) =>
  responses.reduce<Record<number, number>>((counts, r) => {
    counts[r.status] = (counts[r.status] ?? 0) + 1;
    return counts;
  }, {});

/** A failure message that names the request and what came back. */
export const described = (label: string, res: Response) =>
  `${label}: ${res.status} ${res.text?.slice(0, 300)}`;

/**
 * The four rollup tables of one scope (an owner, or ORG_SCOPE) next to a recount of the live
 * transactions, per (day or month, type, category, currency), per (type, category, currency)
 * and per (month, type, currency), totals with trailing zeros trimmed
 * so the scale a sum happens to carry does not matter. `stale` lists rollup rows that count
 * nothing yet hold money (a drift the count<>0 filter would otherwise hide).
 */
export async function rollupsVersusRecount(
  app: TestApp,
  scopeId: string,
): Promise<{ rollup: unknown; recount: unknown }> {
  const live = scopeId === ORG_SCOPE ? '$1::uuid IS NOT NULL' : 'owner_id = $1';
  const q = (sql: string) =>
    app.sql.query(sql, [scopeId]).then((r) => r.rows.map((row) => Object.values(row).join('|')));
  const sorted = (rows: string[]) => [...rows].sort();
  const [daily, monthly, allTime, stale, liveDaily, liveMonthly, liveAll] = await Promise.all([
    q(`SELECT day::text, type::text, category, currency, trim_scale(total)::text, count
       FROM rollup_daily WHERE scope_id = $1 AND count <> 0`),
    q(`SELECT month::text, type::text, category, currency, trim_scale(total)::text, count
       FROM rollup_monthly WHERE scope_id = $1 AND count <> 0`),
    q(`SELECT type::text, category, currency, trim_scale(total)::text, count
       FROM rollup_totals WHERE scope_id = $1 AND count <> 0`),
    q(`SELECT 'daily', day::text, category, total::text FROM rollup_daily
       WHERE scope_id = $1 AND count = 0 AND total <> 0
       UNION ALL
       SELECT 'monthly', month::text, category, total::text FROM rollup_monthly
       WHERE scope_id = $1 AND (count = 0 AND total <> 0 OR count < 0)
       UNION ALL
       SELECT 'totals', NULL, category, total::text FROM rollup_totals
       WHERE scope_id = $1 AND (count = 0 AND total <> 0 OR count < 0)`),
    q(`SELECT date::text, type::text, category, currency, trim_scale(sum(amount))::text, count(*)
       FROM transactions WHERE deleted_at IS NULL AND ${live} GROUP BY 1, 2, 3, 4`),
    q(`SELECT date_trunc('month', date)::date::text, type::text, category, currency,
         trim_scale(sum(amount))::text, count(*)
       FROM transactions WHERE deleted_at IS NULL AND ${live} GROUP BY 1, 2, 3, 4`),
    q(`SELECT type::text, category, currency, trim_scale(sum(amount))::text, count(*)
       FROM transactions WHERE deleted_at IS NULL AND ${live} GROUP BY 1, 2, 3`),
  ]);
  return {
    rollup: {
      daily: sorted(daily),
      monthly: sorted(monthly),
      allTime: sorted(allTime),
      stale,
    },
    recount: {
      daily: sorted(liveDaily),
      monthly: sorted(liveMonthly),
      allTime: sorted(liveAll),
      stale: [],
    },
  };
}

/**
 * Money in minor units of a two-decimal currency (USD, EUR), exact. Throws on any other shape,
 * so a test never compares amounts it has silently misread.
 */
export function cents(amount: string): bigint {
  const m = /^(-?)(\d+)\.(\d{2})$/.exec(amount);
  if (!m) throw new Error(`not a two-decimal amount: ${amount}`);
  const value = BigInt(m[2]) * 100n + BigInt(m[3]);
  return m[1] ? -value : value;
}

export function money(c: bigint): string {
  const sign = c < 0n ? '-' : '';
  const abs = c < 0n ? -c : c;
  return `${sign}${abs / 100n}.${String(abs % 100n).padStart(2, '0')}`;
}

interface LiveGroup {
  currency: string;
  type: 'income' | 'expense';
  category: string;
  total: string;
  count: number;
}

/** The live rows of a scope grouped by currency, type and category, summed exactly in SQL. */
async function liveGroups(app: TestApp, scopeId: string): Promise<LiveGroup[]> {
  const live = scopeId === ORG_SCOPE ? '$1::uuid IS NOT NULL' : 'owner_id = $1';
  const { rows } = await app.sql.query(
    `SELECT currency::text AS currency, type::text AS type, category,
       sum(amount)::text AS total, count(*)::int AS count
     FROM transactions WHERE deleted_at IS NULL AND ${live} GROUP BY 1, 2, 3`,
    [scopeId],
  );
  return rows as LiveGroup[];
}

/**
 * What GET /dashboard/summary and /dashboard/categories must answer for a scope, in the
 * reporting currency `reporting`, recounted from the transactions table: each currency converted
 * by `rates` (an exact integer factor into `reporting`, so no rounding is involved), shares as
 * docs/api.md section 5 defines them (percent of the type's rounded total, two decimals, half up).
 */
export async function dashboardRecount(
  app: TestApp,
  scopeId: string,
  reporting: string,
  rates: Record<string, bigint>,
) {
  const groups = await liveGroups(app, scopeId);
  const factor = (currency: string) => {
    if (currency === reporting) return 1n;
    const f = rates[currency];
    if (f === undefined) throw new Error(`no test rate for ${currency}`);
    return f;
  };
  const sumOf = (rows: LiveGroup[], type: string) =>
    rows
      .filter((g) => g.type === type)
      .reduce((s, g) => s + cents(g.total) * factor(g.currency), 0n);
  const countOf = (rows: LiveGroup[]) => rows.reduce((n, g) => n + g.count, 0);
  const income = sumOf(groups, 'income');
  const expenses = sumOf(groups, 'expense');
  const currencies = [...new Set(groups.map((g) => g.currency))].sort();
  const byCurrency = currencies.map((currency) => {
    const rows = groups.filter((g) => g.currency === currency);
    const totals = (type: string) =>
      rows.filter((g) => g.type === type).reduce((s, g) => s + cents(g.total), 0n);
    return {
      currency,
      totalIncome: money(totals('income')),
      totalExpenses: money(totals('expense')),
      netBalance: money(totals('income') - totals('expense')),
      transactionCount: countOf(rows),
    };
  });
  const summary = {
    totalIncome: money(income),
    totalExpenses: money(expenses),
    netBalance: money(income - expenses),
    transactionCount: countOf(groups),
    currency: reporting,
    byCurrency,
  };
  const perCategory = new Map<string, { category: string; type: string; c: bigint; n: number }>();
  for (const g of groups) {
    const key = JSON.stringify([g.category, g.type]);
    const entry = perCategory.get(key) ?? { category: g.category, type: g.type, c: 0n, n: 0 };
    entry.c += cents(g.total) * factor(g.currency);
    entry.n += g.count;
    perCategory.set(key, entry);
  }
  const typeTotal = (type: string) =>
    [...perCategory.values()].filter((e) => e.type === type).reduce((s, e) => s + e.c, 0n);
  const categories = [...perCategory.values()].map((e) => {
    const of = typeTotal(e.type);
    // Hundredths of a percent, half up: floor((2·c·10000 + of) / (2·of)).
    const share = of === 0n ? 0n : (2n * e.c * 10000n + of) / (2n * of);
    return {
      category: e.category,
      type: e.type,
      total: money(e.c),
      count: e.n,
      share: money(share),
      currency: reporting,
    };
  });
  return { summary, categories: sortCategories(categories) };
}

/** Categories in a canonical order (the API's own order, largest total first, is checked apart). */
export function sortCategories<T extends { category: string; type: string }>(rows: T[]): T[] {
  return [...rows].sort((a, b) =>
    a.type === b.type
      ? a.category < b.category
        ? -1
        : a.category > b.category
          ? 1
          : 0
      : a.type < b.type
        ? -1
        : 1,
  );
}

/** Counts and digests that any write leaves a trace in (rows, audit, events, rollups). */
export async function footprint(app: TestApp): Promise<Record<string, unknown>> {
  const { rows } = await app.sql.query(
    `SELECT (SELECT count(*) FROM transactions)::int AS tx,
            (SELECT count(*) FROM transactions WHERE deleted_at IS NOT NULL)::int AS deleted,
            (SELECT count(*) FROM audit_logs)::int AS audit,
            (SELECT count(*) FROM events)::int AS events,
            (SELECT coalesce(sum(total), 0)::text || '/' || coalesce(sum(count), 0)::text FROM rollup_daily) AS daily,
            (SELECT coalesce(sum(total), 0)::text || '/' || coalesce(sum(count), 0)::text FROM rollup_monthly) AS monthly,
            (SELECT md5(coalesce(string_agg(md5(r::text), ',' ORDER BY r::text), '')) FROM rollup_daily r) AS daily_rows,
            (SELECT md5(coalesce(string_agg(md5(r::text), ',' ORDER BY r::text), '')) FROM rollup_monthly r) AS monthly_rows,
            (SELECT md5(coalesce(string_agg(md5(r::text), ',' ORDER BY r::text), '')) FROM rollup_totals r) AS totals_rows,
            (SELECT md5(coalesce(string_agg(md5(t::text), ',' ORDER BY id), '')) FROM transactions t) AS rows`,
  );
  return rows[0] as Record<string, unknown>;
}
