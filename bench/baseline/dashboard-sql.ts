/**
 * The dashboard's SQL, copied from src/dashboard/dashboard.repository.ts (see sql.ts for why it
 * is copied). Reads only the rollup tables; sums stay NUMERIC and leave as two-decimal text.
 */
import { type Bounds, dailySource, Params, rollupSource } from './sql';

const money = (expr: string) => `coalesce(${expr}, 0)::numeric(20,2)::text`;
const income = `sum(s.total) FILTER (WHERE s.type = 'income')`;
const expenses = `sum(s.total) FILTER (WHERE s.type = 'expense')`;
const SUMMARY_COLUMNS = `${money(income)} AS "totalIncome", ${money(expenses)} AS "totalExpenses",
  ${money(`coalesce(${income}, 0) - coalesce(${expenses}, 0)`)} AS "netBalance",
  coalesce(sum(s.count), 0)::int AS "transactionCount"`;

export type Interval = 'month' | 'week' | 'year';
export const PERIOD: Record<Interval, { trunc: string; step: string; label: string }> = {
  month: { trunc: 'month', step: '1 month', label: 'YYYY-MM' },
  week: { trunc: 'week', step: '1 week', label: 'IYYY-"W"IW' },
  year: { trunc: 'year', step: '1 year', label: 'YYYY' },
};

export function summarySql(scope: string, bounds: Bounds) {
  const params = new Params();
  const text = `SELECT ${SUMMARY_COLUMNS} FROM (${rollupSource(params, `= ${params.p(scope)}`, bounds)}) s`;
  return { text, values: params.values };
}

export function categoriesSql(scope: string, bounds: Bounds, type?: string) {
  const params = new Params();
  const source = rollupSource(params, `= ${params.p(scope)}`, bounds);
  const onlyType = type ? `WHERE s.type = ${params.p(type)}` : '';
  const text = `WITH c AS (
       SELECT s.type, s.category, sum(s.total) AS total, sum(s.count) AS count
       FROM (${source}) s ${onlyType} GROUP BY s.type, s.category HAVING sum(s.count) > 0
     ), t AS (SELECT c.*, sum(c.total) OVER (PARTITION BY c.type) AS type_total FROM c)
     SELECT category, type, total::numeric(20,2)::text AS total, count::int AS count,
       (div(total * 20000 + type_total, 2 * type_total) / 100)::numeric(6,2)::text AS share
     FROM t ORDER BY t.total DESC, type, category`;
  return { text, values: params.values };
}

/** One point per period from `from` to `to`, zeros included. */
export function trendsSql(scope: string, interval: Interval, from: string, to: string) {
  const params = new Params();
  const p = PERIOD[interval];
  // Weeks straddle months, so they are built from days; months and years may use whole months.
  const source =
    interval === 'week'
      ? dailySource(params, `= ${params.p(scope)}`, { from, to })
      : rollupSource(params, `= ${params.p(scope)}`, { from, to });
  const text = `WITH agg AS (
       SELECT date_trunc('${p.trunc}', s.d::timestamp)::date AS p, ${income} AS inc, ${expenses} AS exp
       FROM (${source}) s GROUP BY 1
     )
     SELECT to_char(g.ts, '${p.label}') AS period, ${money('agg.inc')} AS income, ${money('agg.exp')} AS expenses,
       ${money('coalesce(agg.inc, 0) - coalesce(agg.exp, 0)')} AS net
     FROM generate_series(date_trunc('${p.trunc}', ${params.p(from)}::date::timestamp), ${params.p(to)}::date::timestamp,
       interval '${p.step}') AS g(ts)
     LEFT JOIN agg ON agg.p = g.ts::date
     ORDER BY g.ts`;
  return { text, values: params.values };
}

/** First and last day with live transactions in the scope (trends without from/to). */
export const EXTENT_SQL = `SELECT
    (SELECT r.day::text FROM rollup_daily r WHERE r.scope_id = $1 AND r.count > 0 ORDER BY r.day LIMIT 1) AS first,
    (SELECT r.day::text FROM rollup_daily r WHERE r.scope_id = $1 AND r.count > 0 ORDER BY r.day DESC LIMIT 1) AS last`;
