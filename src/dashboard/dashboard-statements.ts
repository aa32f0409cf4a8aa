import {
  type Bounds,
  type Conversion,
  OTHER_CURRENCIES,
  type RollupShape,
} from '../database/rollups';
import type { Params } from '../database/sql';
import type { Interval } from './dto/dashboard-query.dto';

/**
 * The SQL of the dashboards the benchmark compares (summary, categories, trends), free of any
 * framework so that the benchmark's baseline server (bench/baseline) sends the very same
 * statements. A `Statement` is built on either set of rollup CTEs ending in `conv`: `ownRollups`
 * (the reporting currency's own rows; `flag` is then OWN_FLAG) or `convertedRollups` (`flag`
 * empty); DashboardRepository.inReportingCurrency decides which. Figures leave exact and
 * unrounded, as text, each with whether a rate was missing; the service rounds each once.
 */
export type Statement = (
  params: Params,
  rollups: (
    params: Params,
    scope: string,
    bounds: Bounds,
    to: Conversion,
    shape?: RollupShape,
  ) => string,
  flag: string,
) => string;

/** Last in the select list of a statement on `ownRollups`. */
export const OWN_FLAG = `, ${OTHER_CURRENCIES} AS "otherCurrencies"`;

/**
 * The rows of a statement on `ownRollups`, without OWN_FLAG's column, when they are the whole
 * answer: some came back and no other currency is in range. Undefined when the statement on
 * `convertedRollups` must answer instead (no rows tell nothing of the range).
 */
export function ownAnswer<T extends object>(
  rows: readonly (T & { otherCurrencies?: unknown })[],
): T[] | undefined {
  if (rows.length === 0 || rows[0].otherCurrencies) return undefined;
  return rows.map(({ otherCurrencies: _, ...row }) => row as T);
}

const exact = (expr: string) => `coalesce(${expr}, 0)::text`;
const income = `sum(s.amount) FILTER (WHERE s.type = 'income')`;
const expenses = `sum(s.amount) FILTER (WHERE s.type = 'expense')`;
export const TOTALS = `${exact(income)} AS income, ${exact(expenses)} AS expenses,
  coalesce(sum(s.count), 0)::int AS count, coalesce(bool_or(s.missing), false) AS incomplete`;

export const PERIOD: Record<Interval, { trunc: string; step: string; label: string }> = {
  month: { trunc: 'month', step: '1 month', label: 'YYYY-MM' },
  week: { trunc: 'week', step: '1 week', label: 'IYYY-"W"IW' },
  year: { trunc: 'year', step: '1 year', label: 'YYYY' },
};

/** Converted whole months come from `rollup_converted` (see `convertedRollups`). */
export const CACHED = { cached: true };

/** The totals in the reporting currency, and each currency's own (transactions counted). */
export function summaryStatement(scope: string, bounds: Bounds, to: Conversion): Statement {
  return (params, rollups, flag) =>
    `WITH ${rollups(params, `= ${params.p(scope)}`, bounds, to, { byCategory: false, ...CACHED })},
     by_currency AS (
       SELECT currency, ${exact(`sum(total) FILTER (WHERE type = 'income')`)} AS income,
         ${exact(`sum(total) FILTER (WHERE type = 'expense')`)} AS expenses, sum(count)::int AS count
       FROM conv GROUP BY currency HAVING sum(count) > 0
     )
     SELECT ${TOTALS},
       (SELECT coalesce(json_agg(b ORDER BY b.currency), '[]') FROM by_currency b) AS "byCurrency"${flag}
     FROM conv s`;
}

/** Exact totals per (type, category) in the reporting currency, of one type when given. */
export function categoriesStatement(
  scope: string,
  bounds: Bounds,
  to: Conversion,
  type?: string,
): Statement {
  return (params, rollups, flag) => {
    const ctes = rollups(params, `= ${params.p(scope)}`, bounds, to, CACHED);
    const onlyType = type ? `WHERE s.type = ${params.p(type)}` : '';
    return `WITH ${ctes}
     SELECT s.type, s.category, ${exact('sum(s.amount)')} AS total, sum(s.count)::int AS count,
       coalesce(bool_or(s.missing), false) AS incomplete${flag}
     FROM conv s ${onlyType} GROUP BY s.type, s.category HAVING sum(s.count) > 0`;
  };
}

/**
 * One point per period from `from` to `to`, zeros included. An open `from` starts at the first
 * period with live transactions (no points when there are none); an open `to` ends at the later
 * of the last such period and `today`, so a `from` after today has points only when rows lie on
 * or after it. `limit` caps the points returned.
 */
export function trendsStatement(
  scope: string,
  interval: Interval,
  bounds: Bounds,
  today: string,
  into: Conversion,
  limit?: number,
): Statement {
  const p = PERIOD[interval];
  const { from, to } = bounds;
  return (params, rollups, flag) => {
    // Weeks straddle months, so they are built from days; months and years from whole months.
    const ctes = rollups(params, `= ${params.p(scope)}`, bounds, into, {
      daily: interval === 'week',
      byCategory: false,
      dated: true,
      ...CACHED,
    });
    const lived = (edge: 'min' | 'max') => `(SELECT ${edge}(p) FROM agg WHERE agg.count > 0)`;
    const f = from && params.p(from);
    const t = to ? undefined : params.p(today);
    // `conv` starts at `from`, so any live row in `agg` lies on or after it.
    const first = !f
      ? lived('min')
      : to
        ? `${f}::date`
        : `(CASE WHEN ${f}::date <= ${t}::date OR ${lived('max')} IS NOT NULL THEN ${f}::date END)`;
    const last = to ? `${params.p(to)}::date` : `greatest(${lived('max')}, ${t}::date)`;
    return `WITH ${ctes}, agg AS (
       SELECT date_trunc('${p.trunc}', s.d::timestamp)::date AS p, ${TOTALS} FROM conv s GROUP BY 1
     )
     SELECT to_char(g.ts, '${p.label}') AS period, coalesce(agg.income, '0') AS income,
       coalesce(agg.expenses, '0') AS expenses, coalesce(agg.count, 0) AS count,
       coalesce(agg.incomplete, false) AS incomplete${flag}
     FROM generate_series(date_trunc('${p.trunc}', ${first}::timestamp), ${last}::timestamp,
       interval '${p.step}') AS g(ts)
     LEFT JOIN agg ON agg.p = g.ts::date
     ORDER BY g.ts ${limit === undefined ? '' : `LIMIT ${params.p(limit)}`}`;
  };
}
