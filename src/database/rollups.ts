import { addDays, addMonths, startOfMonth } from '../common/dates';
import type { Params, Queryable } from './sql';

/**
 * Reading the rollup tables (see the rollups migration). Shared by the dashboard and by the
 * transaction list's page totals, which count from the rollups when the filters allow.
 */

/**
 * The rollup scope of the whole organisation (the nil UUID). The rollups migration writes the
 * same literal; migrations are history and runtime code never imports them.
 */
export const ORG_SCOPE = '00000000-0000-0000-0000-000000000000';

/** Inclusive calendar-date bounds; either may be open. */
export interface Bounds {
  from?: string;
  to?: string;
}

/**
 * Rollup rows covering [from, to] from the fewest rows (the rollup-hierarchy migration): without
 * bounds, the all-time totals (or every month when the rows must be `dated`); else whole months
 * from the monthly table and the ragged edges from the daily table. Columns: scope_id, d (a day or
 * a month start; NULL for all time), type, category, currency, total (in that currency), count.
 */
export function rollupSource(
  params: Params,
  scope: string,
  bounds: Bounds,
  { dated = false }: { dated?: boolean } = {},
): string {
  if (!bounds.from && !bounds.to && !dated) {
    return `SELECT scope_id, NULL::date AS d, type, category, currency, total, count FROM rollup_totals WHERE scope_id ${scope}`;
  }
  const { months, edges } = wholeMonths(bounds);
  const parts = edges.map((edge) => dailySource(params, scope, edge));
  if (months) {
    parts.unshift(
      `SELECT scope_id, month AS d, type, category, currency, total, count FROM rollup_monthly WHERE ${monthsWhere(params, '', scope, months)}`,
    );
  }
  return parts.join(' UNION ALL ');
}

/** Whole months `[first, end)` (either open), when the bounds hold any. */
interface Months {
  first?: string;
  end?: string;
}

/** The whole months within the bounds, and the days at their edges that the months leave out. */
function wholeMonths({ from, to }: Bounds): { months?: Months; edges: Bounds[] } {
  const first = from && (from.endsWith('-01') ? from : addMonths(from, 1));
  const end = to && startOfMonth(addDays(to, 1));
  if (first && end && first >= end) return { edges: [{ from, to }] };
  const edges: Bounds[] = [];
  if (from && first && first > from) edges.push({ from, to: addDays(first, -1) });
  if (to && end && end <= to) edges.push({ from: end, to });
  return { months: { first, end }, edges };
}

function monthsWhere(
  params: Params,
  prefix: string,
  scope: string,
  { first, end }: Months,
): string {
  const where = [`${prefix}scope_id ${scope}`];
  if (first) where.push(`${prefix}month >= ${params.p(first)}`);
  if (end) where.push(`${prefix}month < ${params.p(end)}`);
  return where.join(' AND ');
}

export function dailySource(params: Params, scope: string, { from, to }: Bounds): string {
  const where = [`scope_id ${scope}`];
  if (from) where.push(`day >= ${params.p(from)}`);
  if (to) where.push(`day <= ${params.p(to)}`);
  return `SELECT scope_id, day AS d, type, category, currency, total, count FROM rollup_daily WHERE ${where.join(' AND ')}`;
}

/** Into which currency rollup sums are converted, and by which rule (docs/api.md, "Reporting currency"). */
export interface Conversion {
  currency: string;
  /** FX_MAX_AGE_DAYS. */
  maxAgeDays: number;
  /** BASE_CURRENCY, the currency cross rates go through. */
  base: string;
}

/** What `convertedRollups` and `ownRollups` read, and how (see `convertedRollups`). */
export interface RollupShape {
  daily?: boolean;
  byCategory?: boolean;
  dated?: boolean;
  cached?: boolean;
}

/**
 * CTEs ending in `conv`: the rollup rows of `scope` in the bounds with their amount in the
 * reporting currency. Rows already in it come as `rollupSource` gives them (whole months where
 * possible, or days when `daily`); every other currency comes per day, times that day's rate
 * (`fx_rates`: every currency and day in one call, planned once per connection rather than with
 * each query, and not called at all when there is nothing to convert; see its migration),
 * because each transaction converts at its own date's rate. The rate is a fraction num / den (an inverse or a cross rate through one has
 * den <> 1): the day's total is multiplied by num exactly, then divided once, carried to 40
 * decimals, so a quotient that ends within 40 decimals is exact and any other is off by at most
 * half of 1e-40 (`roundConverted` accounts for that). `day_rates` is MATERIALIZED: inlined into
 * `conv`, the planner could look rates up once per rollup row (26k at 1M rows) instead of once
 * per currency and day (2k), ten times the cost. With `cached`, whole months (and all time) of
 * other currencies come from their stored conversions where current (`foreignMonths`,
 * `foreignTotals`). Columns: scope_id, d (a day or a month start; NULL in all-time rows, which
 * come only without dates unless `dated`), type, category, currency, total (in its own currency),
 * count, amount (in the reporting currency; NULL when the rate is missing), missing (whether the
 * rate is). Nothing is rounded to money here.
 */
export function convertedRollups(
  params: Params,
  scope: string,
  bounds: Bounds,
  to: Conversion,
  { daily = false, byCategory = true, dated = false, cached = false }: RollupShape = {},
): string {
  const { r, rows: ownRows } = reportingRows(params, scope, bounds, to, { daily, dated });
  // Without categories, a day's categories are summed before the (costlier) 40-decimal division.
  const category = byCategory ? 'f.category' : 'NULL::varchar';
  const convertDays = (ctes: string, days: string) => `${ctes}foreign_days AS (
      SELECT f.scope_id, f.day, f.type, ${category} AS category, f.currency, sum(f.total) AS total,
        sum(f.count) AS count
      FROM ${days} GROUP BY 1, 2, 3, 4, 5
    ), ${dayRates(params, r, to)}`;
  const convertedDays = `SELECT f.scope_id, f.day, f.type, f.category, f.currency, f.total, f.count, ${CONVERTED}, x.num IS NULL
      FROM foreign_days f JOIN day_rates x ON x.currency = f.currency AND x.day = f.day`;
  const { months, edges } = wholeMonths(bounds);
  if (!cached || daily || !months) {
    const where = foreignDays(params, 'f.', scope, r, [bounds]);
    return `${convertDays('', `rollup_daily f WHERE ${where}`)}, conv AS (
      ${ownRows}
      UNION ALL
      ${convertedDays}
    )`;
  }
  // Whole months come from rollup_converted where it is current; the rest from their days. All
  // time (no dates asked) comes from rollup_converted_totals for each scope whose every total is
  // current there, and through the months for the others.
  const allTime = !bounds.from && !bounds.to && !dated;
  const edgeDays = edges.length
    ? `SELECT f.scope_id, f.day, f.type, f.category, f.currency, f.total, f.count
        FROM rollup_daily f WHERE ${foreignDays(params, 'f.', scope, r, edges)}
        UNION ALL `
    : '';
  const ctes = allTime
    ? `${foreignTotals(params, scope, to, r)}, ${foreignMonths(params, scope, months, to, r, true)}, `
    : `${foreignMonths(params, scope, months, to, r)}, `;
  return `${convertDays(ctes, `(${edgeDays}${missedDays()}) f`)}, conv AS (
      ${ownRows}
      UNION ALL${
        allTime
          ? `
      SELECT scope_id, NULL::date, type, category, currency, total, count, amount, missing
      FROM foreign_totals WHERE cached
      UNION ALL`
          : ''
      }
      SELECT scope_id, month, type, category, currency, total, count, amount, missing
      FROM foreign_months WHERE cached
      UNION ALL
      ${convertedDays}
    )`;
}

/** After `ownRollups`: whether its range holds live rows of a currency other than the reporting one. */
export const OTHER_CURRENCIES = '(SELECT present FROM other_currencies)';

/**
 * `convertedRollups` for the common case where nothing needs converting: CTEs `conv` (the rows
 * of `rollupSource`, or of days when `daily`, in the reporting currency, with the same columns)
 * and `other_currencies`, one row whose `present` says whether that source holds live rows of
 * another currency. When it does not, this `conv` is exactly `convertedRollups`' (every part
 * that converts reads only such rows), at a fraction of the planning cost (docs/performance.md,
 * "Own-currency reads first"); when it does, the caller answers with `convertedRollups`.
 */
export function ownRollups(
  params: Params,
  scope: string,
  bounds: Bounds,
  to: Conversion,
  shape: RollupShape = {},
): string {
  const { r, source, rows } = reportingRows(params, scope, bounds, to, shape);
  // The source is written out twice rather than shared as a CTE: each copy then reads by index
  // what it needs (a shared one is materialised, 0.49 against 0.36 ms for trends at 1M rows).
  return `conv AS (
      ${rows}
    ), other_currencies AS (
      SELECT EXISTS (SELECT 1 FROM (${source}) o WHERE (o.currency < ${r} OR o.currency > ${r}) AND o.count <> 0) AS present
    )`;
}

/**
 * What `convertedRollups` and `ownRollups` share, so that their `conv` agrees wherever nothing
 * converts: `r`, the reporting currency's placeholder; `source`, the rollup rows in the bounds
 * (`rollupSource`, or days when `daily`); `rows`, those in the reporting currency with `conv`'s
 * columns.
 */
function reportingRows(
  params: Params,
  scope: string,
  bounds: Bounds,
  to: Conversion,
  { daily = false, dated = false }: RollupShape,
): { r: string; source: string; rows: string } {
  const r = params.p(to.currency);
  const source = daily
    ? dailySource(params, scope, bounds)
    : rollupSource(params, scope, bounds, { dated });
  const rows = `SELECT o.scope_id, o.d, o.type, o.category, o.currency, o.total, o.count, o.total AS amount, false AS missing
      FROM (${source}) o WHERE o.currency = ${r}`;
  return { r, source, rows };
}

/** A day's sum in the reporting currency, to 40 decimals (see `convertedRollups`). */
const CONVERTED = '(f.total * x.num)::numeric(1000, 40) / x.den';

/** The rows of other currencies than `r` (a placeholder) on days within any of `ranges`. */
function foreignDays(
  params: Params,
  prefix: string,
  scope: string,
  r: string,
  ranges: Bounds[],
): string {
  // A day whose rows were all deleted keeps a zero row; it needs no rate.
  const where = [
    `${prefix}scope_id ${scope}`,
    `(${prefix}currency < ${r} OR ${prefix}currency > ${r})`,
    `${prefix}count <> 0`,
  ];
  const within = ranges.map(({ from, to }) => {
    const range = [];
    if (from) range.push(`${prefix}day >= ${params.p(from)}`);
    if (to) range.push(`${prefix}day <= ${params.p(to)}`);
    return range.length ? range.join(' AND ') : 'true';
  });
  where.push(within.length === 1 ? within[0] : `((${within.join(') OR (')}))`);
  return where.join(' AND ');
}

/** `day_rates`: the rate of every (currency, day) of `foreign_days`, in one `fx_rates()` call. */
function dayRates(params: Params, r: string, to: Conversion): string {
  return `day_rates AS MATERIALIZED (
      SELECT x.currency, x.day, x.num, x.den
      FROM (SELECT array_agg(currency) AS cs, array_agg(day) AS ds
            FROM (SELECT DISTINCT currency, day FROM foreign_days) p HAVING count(*) > 0) a
      CROSS JOIN LATERAL fx_rates(a.cs, a.ds, ${r}, ${params.p(to.maxAgeDays)}, ${params.p(to.base)}) x
    )`;
}

/**
 * CTEs `foreign_months` and `missed`: the monthly rollup rows of other currencies than `r` in
 * `months`, each with its converted sum from `rollup_converted`, and `cached` when every row of
 * its (scope, month, currency) has a current one: computed from the same monthly row version,
 * lookup rule and every rate change that could reach the month (the converted-months migration).
 * `missed` are the other (scope, month, currency): converted from their days, whole. A month is
 * missed or cached as a whole so that reading its days needs no join back to the rows, whose
 * plan would depend on estimates that a cache table cannot give.
 */
function foreignMonths(
  params: Params,
  scope: string,
  months: Months,
  to: Conversion,
  r: string,
  exceptWhole = false,
): string {
  // A scope whose every foreign total is stored current reads no months. When that holds for
  // every scope, the first condition is false once for the whole statement and no monthly row is
  // read. No foreign totals at all means no foreign months either (a month's live rows count in
  // all time), so that case reads none too.
  const except = exceptWhole
    ? `AND NOT (SELECT coalesce(bool_and(cached), true) FROM foreign_totals)
        AND NOT EXISTS (SELECT 1 FROM foreign_totals w WHERE w.cached AND w.scope_id = m.scope_id)`
    : '';
  // The stored rows are read as one range of the same scope and months and joined, not probed
  // one monthly row at a time: a scope's 444 probes made converted trends cost 1.9 ms a
  // statement against 1.2 ms joined (docs/performance.md, "Dashboards in a reporting
  // currency"). With no column statistics on either table, in generic and custom plans, the
  // planner chose a merge join; a stale plan would be slower, never wrong.
  // A row computed at the current rates' version needs no look at the changes since.
  return `foreign_months AS (
      SELECT m.scope_id, m.month, m.type, m.category, m.currency, m.total, m.count,
        m.xmin AS source, c.amount, c.missing, c.rates_version,
        bool_and(c.scope_id IS NOT NULL AND (c.rates_version = (SELECT version FROM fx_rates_version)
          OR NOT EXISTS (SELECT 1 FROM fx_rate_changes x WHERE x.version > c.rates_version
            AND x.earliest < (m.month + interval '1 month')::date)))
          OVER (PARTITION BY m.scope_id, m.month, m.currency) AS cached
      FROM rollup_monthly m
      LEFT JOIN (
        SELECT * FROM rollup_converted c
        WHERE ${monthsWhere(params, 'c.', scope, months)} AND c.into_currency = ${r}
      ) c ON c.scope_id = m.scope_id AND c.month = m.month AND c.type = m.type
        AND c.category = m.category AND c.currency = m.currency
        AND c.source = m.xmin AND c.total = m.total AND c.count = m.count
        AND c.rule = ${params.p(ruleOf(to))}
      WHERE ${monthsWhere(params, 'm.', scope, months)}
        AND (m.currency < ${r} OR m.currency > ${r}) AND m.count <> 0 ${except}
    ), missed AS (
      SELECT DISTINCT scope_id, month, currency FROM foreign_months WHERE NOT cached
    )`;
}

/**
 * The days of the `missed` months, each (scope, month, currency) by index (`OFFSET 0` keeps the
 * planner from turning the lookups into one scan of every day), so nothing is read when every
 * month is cached.
 */
const missedDays = (
  month = '',
) => `SELECT ${month}f.scope_id, f.day, f.type, f.category, f.currency, f.total, f.count
        FROM missed mm
        CROSS JOIN LATERAL (
          SELECT * FROM rollup_daily f WHERE f.scope_id = mm.scope_id AND f.currency = mm.currency
            AND f.day >= mm.month AND f.day < (mm.month + interval '1 month')::date
            AND f.count <> 0 OFFSET 0
        ) f`;

/**
 * CTE `foreign_totals`: the all-time rollup rows of other currencies than `r`, each with its
 * converted sum from `rollup_converted_totals`, and `cached` when every such row of its scope has
 * a current one: computed from the same all-time row version (which every change to a day of the
 * key renews) and lookup rule, at the rates' current version (any rate change may reach some day
 * of all time).
 */
function foreignTotals(params: Params, scope: string, to: Conversion, r: string): string {
  return `foreign_totals AS (
      SELECT t.scope_id, t.type, t.category, t.currency, t.total, t.count, c.amount, c.missing,
        bool_and(c.scope_id IS NOT NULL AND c.rates_version = (SELECT version FROM fx_rates_version))
          OVER (PARTITION BY t.scope_id) AS cached
      FROM rollup_totals t
      LEFT JOIN LATERAL (
        SELECT * FROM rollup_converted_totals c WHERE c.scope_id = t.scope_id
          AND c.into_currency = ${r} AND c.type = t.type AND c.category = t.category
          AND c.currency = t.currency OFFSET 0
      ) c ON c.source = t.xmin AND c.total = t.total AND c.count = t.count
        AND c.rule = ${params.p(ruleOf(to))}
      WHERE t.scope_id ${scope} AND (t.currency < ${r} OR t.currency > ${r}) AND t.count <> 0
    )`;
}

/**
 * Brings `rollup_converted_totals` up to date for `scope` (run after `convertedMonthsFill`): each
 * all-time row that is not current and whose every month is (`foreignMonths`), gets the sum of
 * its months.
 */
export function convertedTotalsFill(params: Params, scope: string, to: Conversion): string {
  const r = params.p(to.currency);
  const rule = params.p(ruleOf(to));
  // Every month of the scope once, grouped by key; each all-time row then by its key.
  return `WITH version AS (SELECT version FROM fx_rates_version),
    ${foreignMonths(params, scope, {}, to, r)},
    months AS (
      SELECT scope_id, type, category, currency, sum(amount) AS amount,
        coalesce(bool_or(missing), false) AS missing, bool_and(cached) AS complete
      FROM foreign_months GROUP BY 1, 2, 3, 4
    )
    INSERT INTO rollup_converted_totals AS c (scope_id, into_currency, type, category, currency,
      source, total, count, rule, rates_version, amount, missing)
    SELECT t.scope_id, ${r}, t.type, t.category, t.currency, t.source, t.total, t.count, ${rule},
      (SELECT version FROM version), a.amount, a.missing
    FROM months a
    CROSS JOIN LATERAL (
      SELECT t.*, t.xmin AS source FROM rollup_totals t WHERE t.scope_id = a.scope_id
        AND t.type = a.type AND t.category = a.category AND t.currency = a.currency OFFSET 0
    ) t
    LEFT JOIN LATERAL (
      SELECT * FROM rollup_converted_totals o WHERE o.scope_id = t.scope_id
        AND o.into_currency = ${r} AND o.type = t.type AND o.category = t.category
        AND o.currency = t.currency OFFSET 0
    ) o ON o.source = t.source AND o.total = t.total AND o.count = t.count AND o.rule = ${rule}
      AND o.rates_version = (SELECT version FROM version)
    WHERE a.complete AND t.count <> 0 AND o.scope_id IS NULL
    ORDER BY 1, 2, 3, 4, 5
    ${storeUnlessSame('scope_id, into_currency, type, category, currency')}`;
}

/**
 * The upsert of a stored conversion (target alias `c`): a row computed from the same versions as
 * the stored one is left as it is.
 */
const storeUnlessSame = (key: string) => `ON CONFLICT (${key}) DO UPDATE SET
      source = EXCLUDED.source, total = EXCLUDED.total, count = EXCLUDED.count,
      rule = EXCLUDED.rule, rates_version = EXCLUDED.rates_version, amount = EXCLUDED.amount,
      missing = EXCLUDED.missing
    WHERE (c.source, c.total, c.count, c.rule, c.rates_version)
      IS DISTINCT FROM (EXCLUDED.source, EXCLUDED.total, EXCLUDED.count, EXCLUDED.rule,
        EXCLUDED.rates_version)`;

/** Which lookup rule converted a cached month: its version, the base currency, the maximum age. */
const ruleOf = (to: Conversion) => `${RULE_VERSION}/${to.base}/${to.maxAgeDays}`;

/** Raise it when the lookup rule or the arithmetic changes: every stored conversion is redone. */
const RULE_VERSION = 1;

/** How many rate writes a current stored month may fall behind before a fill restamps it. */
const RESTAMP_AFTER = 50;

/**
 * Brings `rollup_converted` up to date for every month of `scope` in the reporting currency:
 * converts the months whose cached row is missing or out of date (see `foreignMonths`), each from
 * its days exactly as a read would, and stores them with the versions they were computed from.
 * A current row stored more than RESTAMP_AFTER rates' versions ago is stamped with the current one,
 * so a read checks it against few rate changes it has already outlived, without every rate write
 * rewriting every stored month.
 * Does nothing when every month is current. Rows are written in key order, so two fills of one
 * scope cannot deadlock; a row computed from the same versions as the stored one is not written
 * again, and any row carries the versions it was computed from, so a late fill can make a month
 * slower to read, never wrong.
 */
export function convertedMonthsFill(params: Params, scope: string, to: Conversion): string {
  const r = params.p(to.currency);
  return `WITH ${foreignMonths(params, scope, {}, to, r)},
    foreign_days AS (${missedDays('mm.month, ')}), ${dayRates(params, r, to)}, sums AS (
      SELECT f.scope_id, f.month, f.type, f.category, f.currency, sum(${CONVERTED}) AS amount,
        bool_or(x.num IS NULL) AS missing
      FROM foreign_days f JOIN day_rates x ON x.currency = f.currency AND x.day = f.day
      GROUP BY 1, 2, 3, 4, 5
    )
    INSERT INTO rollup_converted AS c (scope_id, into_currency, month, type, category, currency,
      source, total, count, rule, rates_version, amount, missing)
    SELECT m.scope_id, ${r}, m.month, m.type, m.category, m.currency, m.source, m.total, m.count,
      ${params.p(ruleOf(to))}, (SELECT version FROM fx_rates_version),
      CASE WHEN m.cached THEN m.amount ELSE s.amount END,
      CASE WHEN m.cached THEN m.missing ELSE coalesce(s.missing, false) END
    FROM foreign_months m
    LEFT JOIN sums s ON s.scope_id = m.scope_id AND s.month = m.month AND s.type = m.type
      AND s.category = m.category AND s.currency = m.currency
    WHERE NOT m.cached OR m.rates_version < (SELECT version FROM fx_rates_version) - ${RESTAMP_AFTER}
    ORDER BY 1, 2, 3, 4, 5, 6
    ${storeUnlessSame('scope_id, into_currency, month, type, category, currency')}`;
}

/** The missing rates behind a conversion: one per currency and day, oldest first, the first 100. */
export function missingRatesSql(
  params: Params,
  scope: string,
  bounds: Bounds,
  to: Conversion,
): string {
  return `WITH ${convertedRollups(params, scope, bounds, to, { byCategory: false })}
    SELECT currency AS "from", ${params.p(to.currency)}::text AS "to", day::text AS date
    FROM day_rates WHERE num IS NULL ORDER BY day, currency LIMIT 100`;
}

/** What a change of a transaction row touches in the rollups: its own rows' key. */
export interface RollupKey {
  ownerId: string;
  date: string;
  type: string;
  category: string;
  currency: string;
}

/**
 * Locks the rollup rows of `keys` (both scopes, every level), creating missing ones at zero, in
 * the order the maintenance triggers lock them: the same statement shape (daily and all-time
 * totals as CTEs in that order, monthly as the main INSERT; the rollup-hierarchy migration), rows
 * sorted by key. A transaction that writes transactions in several statements (a batch) calls
 * this first with every key it will touch; each later statement then meets only locks it holds,
 * so it cannot deadlock with one-statement writers, which lock in that same order, nor with
 * another batch. The owners' budget locks come last, as the budget alert triggers take them
 * after the rollup rows: each owner's advisory lock shared, then the budgets in id order
 * (budget-spending migration).
 */
export async function lockRollups(db: Queryable, keys: readonly RollupKey[]): Promise<void> {
  if (keys.length === 0) return;
  const column = (pick: (k: RollupKey) => string) => keys.map(pick);
  await db.query(
    `WITH k AS (
       SELECT DISTINCT s.scope_id, k.day, k.type, k.category, k.currency
       FROM unnest($1::uuid[], $2::date[], $3::transaction_type[], $4::text[], $5::char(3)[])
         AS k (owner_id, day, type, category, currency)
       CROSS JOIN LATERAL (VALUES (k.owner_id), ('${ORG_SCOPE}'::uuid)) s (scope_id)
     ),
     daily AS (
       INSERT INTO rollup_daily AS r (scope_id, day, type, category, currency, total, count)
       SELECT scope_id, day, type, category, currency, 0, 0 FROM k ORDER BY 1, 2, 3, 4, 5
       ON CONFLICT (scope_id, day, type, category, currency) DO UPDATE SET count = r.count
     ),
     totals AS (
       INSERT INTO rollup_totals AS r (scope_id, type, category, currency, total, count)
       SELECT DISTINCT scope_id, type, category, currency, 0, 0 FROM k ORDER BY 1, 2, 3, 4
       ON CONFLICT (scope_id, type, category, currency) DO UPDATE SET count = r.count
     )
     INSERT INTO rollup_monthly AS r (scope_id, month, type, category, currency, total, count)
     SELECT DISTINCT scope_id, date_trunc('month', day)::date, type, category, currency, 0, 0
     FROM k ORDER BY 1, 2, 3, 4, 5
     ON CONFLICT (scope_id, month, type, category, currency) DO UPDATE SET count = r.count`,
    [
      column((k) => k.ownerId),
      column((k) => k.date),
      column((k) => k.type),
      column((k) => k.category),
      column((k) => k.currency),
    ],
  );
  const owners = [...new Set(keys.map((k) => k.ownerId))];
  await db.query(`SELECT budget_owners_share($1::uuid[])`, [owners]);
  await db.query(`SELECT 1 FROM budgets WHERE owner_id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`, [
    owners,
  ]);
}
