/**
 * The dashboard's SQL, copied from src/dashboard/dashboard.repository.ts (see sql.ts for why it
 * is copied). Reads only the rollup tables; figures leave exact and unrounded, as text, in the
 * reporting currency (BASE_CURRENCY: the baseline takes no `currency=`), each with whether a rate
 * was missing; routes.ts rounds them as the product's service does. Each statement comes in two
 * forms, as in the product: `own` reads the reporting currency's rows alone and says whether any
 * other currency's are in range (`otherCurrencies`); routes.ts then sends the converting form.
 */
import {
  type Bounds,
  type Conversion,
  convertedRollups,
  OTHER_CURRENCIES,
  ownRollups,
  Params,
} from './sql';

export type Form = 'own' | 'converted';
const rollupsOf = (form: Form) => (form === 'own' ? ownRollups : convertedRollups);
const flagOf = (form: Form) => (form === 'own' ? `, ${OTHER_CURRENCIES} AS "otherCurrencies"` : '');

const exact = (expr: string) => `coalesce(${expr}, 0)::text`;
const income = `sum(s.amount) FILTER (WHERE s.type = 'income')`;
const expenses = `sum(s.amount) FILTER (WHERE s.type = 'expense')`;
const TOTALS = `${exact(income)} AS income, ${exact(expenses)} AS expenses,
  coalesce(sum(s.count), 0)::int AS count, coalesce(bool_or(s.missing), false) AS incomplete`;

export type Interval = 'month' | 'week' | 'year';
export const PERIOD: Record<Interval, { trunc: string; step: string; label: string }> = {
  month: { trunc: 'month', step: '1 month', label: 'YYYY-MM' },
  week: { trunc: 'week', step: '1 week', label: 'IYYY-"W"IW' },
  year: { trunc: 'year', step: '1 year', label: 'YYYY' },
};

export function summarySql(scope: string, bounds: Bounds, to: Conversion, form: Form) {
  const params = new Params();
  const text = `WITH ${rollupsOf(form)(params, `= ${params.p(scope)}`, bounds, to, { byCategory: false, cached: true })},
     by_currency AS (
       SELECT currency, ${exact(`sum(total) FILTER (WHERE type = 'income')`)} AS income,
         ${exact(`sum(total) FILTER (WHERE type = 'expense')`)} AS expenses, sum(count)::int AS count
       FROM conv GROUP BY currency HAVING sum(count) > 0
     )
     SELECT ${TOTALS},
       (SELECT coalesce(json_agg(b ORDER BY b.currency), '[]') FROM by_currency b) AS "byCurrency"${flagOf(form)}
     FROM conv s`;
  return { text, values: params.values };
}

export function categoriesSql(
  scope: string,
  bounds: Bounds,
  to: Conversion,
  type: string | undefined,
  form: Form,
) {
  const params = new Params();
  const ctes = rollupsOf(form)(params, `= ${params.p(scope)}`, bounds, to, { cached: true });
  const onlyType = type ? `WHERE s.type = ${params.p(type)}` : '';
  const text = `WITH ${ctes}
     SELECT s.type, s.category, ${exact('sum(s.amount)')} AS total, sum(s.count)::int AS count,
       coalesce(bool_or(s.missing), false) AS incomplete${flagOf(form)}
     FROM conv s ${onlyType} GROUP BY s.type, s.category HAVING sum(s.count) > 0`;
  return { text, values: params.values };
}

/**
 * One point per period from `from` to `to`, zeros included; an open `from` starts at the first
 * period with rows (none: no points), an open `to` ends at the later of the last one and `today`
 * (a `from` after today: points only when rows lie on or after it).
 */
export function trendsSql(
  scope: string,
  interval: Interval,
  { from, to }: Bounds,
  today: string,
  into: Conversion,
  form: Form,
) {
  const params = new Params();
  const p = PERIOD[interval];
  // Weeks straddle months, so they are built from days; months and years from whole months.
  const ctes = rollupsOf(form)(params, `= ${params.p(scope)}`, { from, to }, into, {
    daily: interval === 'week',
    byCategory: false,
    dated: true,
    cached: true,
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
  const text = `WITH ${ctes}, agg AS (
       SELECT date_trunc('${p.trunc}', s.d::timestamp)::date AS p, ${TOTALS} FROM conv s GROUP BY 1
     )
     SELECT to_char(g.ts, '${p.label}') AS period, coalesce(agg.income, '0') AS income,
       coalesce(agg.expenses, '0') AS expenses, coalesce(agg.count, 0) AS count,
       coalesce(agg.incomplete, false) AS incomplete${flagOf(form)}
     FROM generate_series(date_trunc('${p.trunc}', ${first}::timestamp), ${last}::timestamp,
       interval '${p.step}') AS g(ts)
     LEFT JOIN agg ON agg.p = g.ts::date
     ORDER BY g.ts`;
  return { text, values: params.values };
}
